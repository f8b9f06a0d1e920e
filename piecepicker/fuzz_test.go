package piecepicker

import "testing"

// byteSource is a rand.Source steered by fuzz input: each number's top byte
// is the next input byte (so the fuzzer picks each IntN choice), the rest
// a fixed SplitMix64 sequence, which also carries on alone once the input is
// spent (never all zeros, on which rand's IntN would retry for ever).
type byteSource struct {
	data []byte
	n    uint64
}

func (s *byteSource) Uint64() uint64 {
	s.n += 0x9e3779b97f4a7c15
	z := s.n
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	z ^= z >> 31
	if len(s.data) == 0 {
		return z
	}
	b := s.data[0]
	s.data = s.data[1:]
	return uint64(b)<<56 | z>>8
}

// FuzzPicker runs the randomized test's operations as the input dictates and
// checks every invariant after each step.
func FuzzPicker(f *testing.F) {
	f.Add([]byte("\x05\x00\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte("debtorrent piece picker: haves, picks, blocks, failures and web runs, in some order"))
	seed := make([]byte, 1024)
	for i := range seed {
		seed[i] = byte(i * 131 >> 3)
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		src := &byteSource{data: data}
		r := newRunFrom(t, src)
		for step := 0; len(src.data) > 0 && step < 200; step++ {
			op := r.step()
			if err := r.pk.check(); err != nil {
				t.Fatalf("step %d after %s: %v", step, op, err)
			}
		}
	})
}
