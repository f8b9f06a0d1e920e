package aptproxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/debtorrent/debtorrent/internal/indexcache"
)

// ErrMirrorDown is wrapped by the error of a request that was not sent
// because its mirror is known to be unreachable and no probe is due.
var ErrMirrorDown = errors.New("mirror unreachable")

// MirrorDownError is the error of a request not sent because its mirror is
// known to be unreachable; it wraps ErrMirrorDown.
type MirrorDownError struct {
	// Mirror is the mirror's name; Since when it was last reached or first
	// failed; Cause why it could not be reached.
	Mirror string
	Since  time.Time
	Cause  string
}

func (e *MirrorDownError) Error() string {
	return fmt.Sprintf("mirror %s cannot be reached since %s: %s (asked again every %v)", e.Mirror, e.Since.Format(time.TimeOnly), e.Cause, ProbeEvery)
}

// Is makes errors.Is(err, ErrMirrorDown) hold.
func (e *MirrorDownError) Is(target error) bool { return target == ErrMirrorDown }

// ProbeEvery is how often one request may go to a mirror known to be
// unreachable, to find out whether it is back; the others fail at once.
// ProbeTimeout bounds such a probe.
const (
	ProbeEvery   = 5 * time.Second
	ProbeTimeout = 5 * time.Second
)

// MirrorState is what the proxy last saw of one mirror.
type MirrorState struct {
	// Name is the mirror's name (the path prefix).
	Name string `json:"name"`
	// URL is the base URL shown with it (the mirror's state covers all its
	// bases).
	URL string `json:"url"`
	// State is MirrorUp (it answered, with any HTTP status), MirrorDown (it
	// could not be reached: connections refused, reset or timed out), or ""
	// when nothing was asked of it yet.
	State string `json:"state"`
	// LastError is the last failure to reach it ("" if none; kept after it
	// is back, so that it stays visible).
	LastError string `json:"last_error,omitempty"`
	// Since is when State last changed (zero: never asked).
	Since time.Time `json:"since"`
}

// Mirror states.
const (
	MirrorUp   = "up"
	MirrorDown = "down"
)

// mirrorStates follows whether each mirror can be reached, from the
// outcome of every upstream request, and logs each change once. Safe for
// concurrent use.
type mirrorStates struct {
	log *slog.Logger

	now func() time.Time

	mu        sync.Mutex
	states    map[string]*MirrorState
	lastProbe map[string]time.Time
}

func newMirrorStates(log *slog.Logger) *mirrorStates {
	return &mirrorStates{log: log, now: time.Now, states: map[string]*MirrorState{}, lastProbe: map[string]time.Time{}}
}

// unreachable reports whether err means the mirror could not be reached
// at all (as opposed to answering with an error status).
func unreachable(err error) bool {
	var se *indexcache.StatusError
	if err == nil || errors.As(err, &se) || errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &oe) || (errors.As(err, &ne) && ne.Timeout()) || errors.Is(err, context.DeadlineExceeded)
}

// note records the outcome of a request to mirror name: err nil (or an
// HTTP status) means up. A request the gate refused says nothing new.
func (m *mirrorStates) note(name string, err error) {
	if errors.Is(err, ErrMirrorDown) {
		return
	}
	down := unreachable(err)
	m.mu.Lock()
	st := m.states[name]
	if st == nil {
		st = &MirrorState{Name: name}
		m.states[name] = st
	}
	state := MirrorUp
	if down {
		state = MirrorDown
	}
	changed := st.State != state
	first := st.State == ""
	if changed {
		st.State, st.Since = state, m.now()
		if down {
			m.lastProbe[name] = st.Since // the failure was a probe
		}
	}
	if down {
		st.LastError = RootCause(err)
	}
	m.mu.Unlock()
	switch {
	case changed && first && !down:
	case changed && down:
		m.log.Warn("aptproxy: mirror unreachable; serving what is cached, failing the rest fast", "mirror", name, "err", err)
	case changed:
		m.log.Info("aptproxy: mirror reachable again", "mirror", name)
	}
}

// gate returns nil when a request may go to mirror name now: it is up, or
// a probe of it is due (probe true: this request is the probe).
func (m *mirrorStates) gate(name string, now time.Time) (probe bool, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.states[name]
	if st == nil || st.State != MirrorDown {
		return false, nil
	}
	if now.Sub(m.lastProbe[name]) >= ProbeEvery {
		m.lastProbe[name] = now
		return true, nil
	}
	return false, &MirrorDownError{Mirror: name, Since: st.Since, Cause: st.LastError}
}

// get returns what is known of mirror name (zero State: nothing yet).
func (m *mirrorStates) get(name string) MirrorState {
	m.mu.Lock()
	defer m.mu.Unlock()
	if st := m.states[name]; st != nil {
		return *st
	}
	return MirrorState{Name: name}
}

// list returns the states by name.
func (m *mirrorStates) list() []MirrorState {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]MirrorState, 0, len(m.states))
	for _, st := range m.states {
		out = append(out, *st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// MirrorStates returns what the proxy last saw of each mirror it asked.
func (s *Server) MirrorStates() []MirrorState { return s.mirrorState.list() }

// MirrorGate returns nil when a request may go to mirror name now, and
// otherwise an error wrapping ErrMirrorDown: the mirror is known to be
// unreachable and a probe was sent less than ProbeEvery ago. probe says that
// this request is the probe of a mirror known to be down: give it a short
// deadline (ProbeTimeout).
func (s *Server) MirrorGate(name string) (probe bool, err error) {
	return s.mirrorState.gate(name, time.Now())
}

// Unreachable reports whether err means a mirror could not be reached at
// all (refused, reset, timed out), as opposed to answering with an error.
func Unreachable(err error) bool { return unreachable(err) || errors.Is(err, ErrMirrorDown) }

// RootCause returns the part of err that says why a mirror could not be
// reached ("dial tcp 10.0.0.1:80: connect: connection refused"), or err's
// text.
func RootCause(err error) string {
	var md *MirrorDownError
	if errors.As(err, &md) {
		return md.Error()
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return oe.Error()
	}
	return oneLine(err.Error())
}

// NoteMirror records the outcome of a request the caller made to a mirror
// (the .debs the root package fetches): err nil means it answered.
func (s *Server) NoteMirror(name string, err error) { s.mirrorState.note(name, err) }
