package bencode

import (
	"fmt"
	"sync"
	"testing"
)

func TestRawMessagesInContainers(t *testing.T) {
	var v struct {
		List []RawMessage            `bencode:"list"`
		Map  map[string]RawMessage   `bencode:"map"`
		Ptrs []*RawMessage           `bencode:"ptrs"`
		Arr  [2]RawMessage           `bencode:"arr"`
		Deep map[string][]RawMessage `bencode:"deep"`
	}
	in := "d3:arrli1e1:xe4:deepd1:kldeleee4:listli1e2:abd1:ai2eee3:mapd1:xli1ee1:y0:e4:ptrsli7eee"
	noErr(t, Unmarshal([]byte(in), &v))
	equal(t, []RawMessage{RawMessage("i1e"), RawMessage("2:ab"), RawMessage("d1:ai2ee")}, v.List)
	equal(t, map[string]RawMessage{"x": RawMessage("li1ee"), "y": RawMessage("0:")}, v.Map)
	equal(t, RawMessage("i7e"), *v.Ptrs[0])
	equal(t, [2]RawMessage{RawMessage("i1e"), RawMessage("1:x")}, v.Arr)
	equal(t, []RawMessage{RawMessage("de"), RawMessage("le")}, v.Deep["k"])
	out, err := Marshal(v)
	noErr(t, err)
	equal(t, in, string(out))
}

func TestRecursiveType(t *testing.T) {
	in := tree{A: 1, L: []tree{{A: 2, D: &tree{B: "leaf", L: []tree{}, Zz: []byte{}}, L: []tree{}, Zz: []byte{}}}, C: map[string]any{"x": int64(3)}, Zz: []byte("z")}
	data, err := Marshal(in)
	noErr(t, err)
	var out tree
	noErr(t, Unmarshal(data, &out))
	equal(t, in, out)
}

// TestConcurrentFirstUse decodes and encodes types never seen before from
// many goroutines at once: the type caches must build each entry safely
// (run with -race).
func TestConcurrentFirstUse(t *testing.T) {
	type node struct {
		Name     string  `bencode:"name"`
		Children []*node `bencode:"children,omitempty"`
		Size     uint32  `bencode:"size"`
	}
	data := []byte("d8:childrenld4:name1:b4:sizei2eee4:name1:a4:sizei1ee")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var n node
			if err := Unmarshal(data, &n); err != nil {
				errs <- err
				return
			}
			out, err := Marshal(&n)
			if err != nil {
				errs <- err
				return
			}
			if string(out) != string(data) {
				errs <- fmt.Errorf("round trip gave %q", out)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
