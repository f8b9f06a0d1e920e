package piecepicker

import (
	"fmt"
	"testing"
	"time"
)

// TestRandomizedWithLoss runs the randomized test's operations mixed with
// pieces lost from the store (PieceLost) and peers' lt_donthave
// (PeerDontHave), checking every invariant after each step.
func TestRandomizedWithLoss(t *testing.T) {
	steps := 3000
	if testing.Short() {
		steps = 800
	}
	for seed := uint64(101); seed <= 104; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Logf("seed %d", seed)
			r := newRandomRun(t, seed)
			lost, dontHave := 0, 0
			for step := range steps {
				var op string
				switch k := r.rng.IntN(100); {
				case k < 6:
					i := r.piece()
					had := r.pk.HavePiece(i)
					if r.pk.PieceLost(i) != had {
						t.Fatalf("PieceLost(%d) reported the wrong answer (had %v)", i, had)
					}
					if r.pk.HavePiece(i) {
						t.Fatalf("piece %d still had after PieceLost", i)
					}
					if had {
						lost++
					}
					op = "lost"
				case k < 10:
					p, i := r.peer(), r.piece()
					before := r.pk.Availability(i)
					had := p.has(i)
					if r.pk.PeerDontHave(p, i) != had {
						t.Fatalf("PeerDontHave reported the wrong answer (had %v)", had)
					}
					if p.has(i) {
						t.Fatalf("peer still has piece %d after lt_donthave", i)
					}
					if had {
						dontHave++
						if got := r.pk.Availability(i); got != before-1 {
							t.Fatalf("availability of %d: %d after lt_donthave, was %d", i, got, before)
						}
					}
					op = "dont have"
				default:
					op = r.step()
				}
				if err := r.pk.check(); err != nil {
					t.Fatalf("seed %d step %d after %s: %v", seed, step, op, err)
				}
			}
			if lost == 0 || dontHave == 0 {
				t.Fatalf("the run missed a path: lost %d, dont-have %d", lost, dontHave)
			}
		})
	}
}

// A lost piece is wanted and picked again; a peer that said lt_donthave is
// not asked for it.
func TestPieceLostPickedAgain(t *testing.T) {
	pk, err := New([]int64{BlockSize, BlockSize}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, b := pk.AddPeer(), pk.AddPeer()
	pk.PeerHaveAll(a)
	pk.PeerHave(b, 0)
	pk.SetChoking(a, false)
	pk.SetChoking(b, false)
	pk.SetUrgent(0, time.Time{})
	pk.PieceVerified(0)
	if pk.NumWanted() != 0 || pk.Interesting(a) {
		t.Fatalf("verified piece still wanted")
	}
	if !pk.PieceLost(0) || pk.HavePiece(0) || pk.NumWanted() != 1 {
		t.Fatalf("lost piece: have %v wanted %d", pk.HavePiece(0), pk.NumWanted())
	}
	if !pk.PeerDontHave(a, 0) || pk.Availability(0) != 1 {
		t.Fatalf("availability after lt_donthave: %d", pk.Availability(0))
	}
	if got := pk.Pick(a, 4, nil); len(got) != 0 {
		t.Fatalf("picked %v from the peer that no longer has the piece", got)
	}
	got := pk.Pick(b, 4, nil)
	if len(got) != 1 || got[0].Piece != 0 {
		t.Fatalf("lost urgent piece not picked again: %v", got)
	}
	if err := pk.check(); err != nil {
		t.Fatal(err)
	}
}
