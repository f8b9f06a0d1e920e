package aptmethod

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
)

// Version is the method version sent in "100 Capabilities".
const Version = "1.0"

// MaxQueued bounds how many requests may wait at once; APT's queue for one
// method is far smaller even for a full upgrade.
const MaxQueued = 100000

// Method runs the method interface over a pair of streams. The zero value
// is ready to use with the defaults.
type Method struct {
	// Client performs the HTTP requests; nil means NewHTTPClient().
	Client *http.Client
	// Logger receives debug and error logs; nil means none.
	Logger *slog.Logger
	// LogLevel, if set, is lowered to Debug when APT's configuration sets
	// Debug::Acquire::debtorrent.
	LogLevel *slog.LevelVar
	// Config is the configuration before APT's "601 Configuration" is
	// applied; the zero value means DefaultConfig().
	Config Config
	// OnConfig, if set, is called with the configuration once APT has sent
	// it and before anything is fetched (the binary drops root privileges
	// here). An error ends Run with a "401 General Failure".
	OnConfig func(Config) error
}

// Run announces the method's capabilities on out, then reads APT's
// messages from in and answers them until in ends (APT closes it when it
// is done with the method) or ctx is done. Every "600 URI Acquire" is
// queued at once and fetched by up to Config.Workers workers; each is
// answered as soon as it is finished. Fetches still running when in ends
// are cancelled. If in is an io.Closer it is closed when ctx is done, so
// that a blocked read returns.
//
// Run returns nil after a normal end of input. A malformed message or a
// configuration it cannot use is answered with "401 General Failure" and
// returned as an error.
func (m *Method) Run(ctx context.Context, in io.Reader, out io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := &session{
		method: m,
		cfg:    m.Config,
		log:    m.Logger,
		queue:  newQueue(),
		out:    make(chan *Message, 64),
	}
	if s.cfg.Workers == 0 {
		s.cfg = DefaultConfig()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	client := m.Client
	if client == nil {
		client = NewHTTPClient()
		defer client.CloseIdleConnections()
	}

	var writerDone sync.WaitGroup
	writerDone.Add(1)
	go func() {
		defer writerDone.Done()
		s.writeLoop(out, cancel)
	}()

	readDone := make(chan struct{})
	if closer, ok := in.(io.Closer); ok {
		go func() {
			select {
			case <-ctx.Done():
				closer.Close()
			case <-readDone:
			}
		}()
	}

	s.send(NewMessage(CodeCapabilities, "Capabilities").
		Add("Version", Version).
		Add("Pipeline", "true").
		Add("Send-Config", "true").
		Add("Send-URI-Encoded", "true"))

	err := s.readLoop(ctx, NewReader(in), client)
	close(readDone)
	if err != nil && ctx.Err() == nil {
		s.send(NewMessage(CodeGeneralFailure, "General Failure").Add("Message", err.Error()))
	}
	cancel()
	s.workers.Wait()
	close(s.out)
	writerDone.Wait()
	if err == nil {
		err = s.writeErr
	}
	return err
}

// session is the state of one Run.
type session struct {
	method  *Method
	cfg     Config
	log     *slog.Logger
	queue   *queue
	out     chan *Message
	workers sync.WaitGroup
	started bool
	// writeErr is set by the writer before it returns.
	writeErr error
}

// send hands a message to the writer.
func (s *session) send(msg *Message) {
	s.out <- msg
}

// writeLoop is the only writer of out, so messages never interleave. A
// write error (APT has gone) cancels the session; later messages are
// dropped.
func (s *session) writeLoop(out io.Writer, cancel context.CancelFunc) {
	for msg := range s.out {
		if s.writeErr != nil {
			continue
		}
		if _, err := msg.WriteTo(out); err != nil {
			s.writeErr = fmt.Errorf("aptmethod: write to APT: %w", err)
			cancel()
		}
	}
}

// readLoop reads and dispatches APT's messages until in ends.
func (s *session) readLoop(ctx context.Context, r *Reader, client *http.Client) error {
	for {
		msg, err := r.ReadMessage()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		switch msg.Code {
		case CodeConfiguration:
			if err := s.configure(msg); err != nil {
				return err
			}
		case CodeURIAcquire:
			s.acquire(ctx, msg, client)
		default:
			s.log.Debug("ignoring message", "code", msg.Code, "summary", msg.Summary)
		}
	}
}

// configure applies a "601 Configuration".
func (s *session) configure(msg *Message) error {
	cfg, err := s.cfg.ApplyConfiguration(msg)
	if err != nil {
		return err
	}
	if s.started && cfg.Workers != s.cfg.Workers {
		s.log.Warn("configuration changed after fetching began; keeping the worker count", "workers", s.cfg.Workers)
		cfg.Workers = s.cfg.Workers
	}
	s.cfg = cfg
	if cfg.Debug && s.method.LogLevel != nil {
		s.method.LogLevel.Set(slog.LevelDebug)
	}
	if s.method.OnConfig != nil {
		if err := s.method.OnConfig(cfg); err != nil {
			return fmt.Errorf("aptmethod: configure: %w", err)
		}
	}
	s.log.Debug("configured", "workers", cfg.Workers, "timeout", cfg.Timeout)
	return nil
}

// acquire queues a "600 URI Acquire", starting the workers on the first.
func (s *session) acquire(ctx context.Context, msg *Message, client *http.Client) {
	req, err := ParseRequest(msg)
	if err != nil {
		uri := msg.Value("URI")
		if uri == "" {
			uri = "<UNKNOWN>"
		}
		s.fail(uri, &Failure{Reason: ReasonBadURI, Err: err})
		return
	}
	if s.queue.len() >= MaxQueued {
		s.fail(req.URI, &Failure{Reason: "QueueFull", Transient: true,
			Err: fmt.Errorf("more than %d requests waiting", MaxQueued)})
		return
	}
	s.log.Debug("queued", "uri", req.URI, "target", req.Target.String())
	s.queue.push(req)
	if s.started {
		return
	}
	s.started = true
	f := &fetcher{client: client, timeout: s.cfg.Timeout, send: s.send}
	for range s.cfg.Workers {
		s.workers.Add(1)
		go func() {
			defer s.workers.Done()
			s.work(ctx, f)
		}()
	}
}

// work fetches queued requests until ctx is done.
func (s *session) work(ctx context.Context, f *fetcher) {
	for {
		req, ok := s.queue.pop(ctx)
		if !ok || ctx.Err() != nil {
			return
		}
		res, err := f.fetch(ctx, req)
		if ctx.Err() != nil {
			return
		}
		var failure *Failure
		switch {
		case errors.As(err, &failure):
			s.fail(req.URI, failure)
		case err != nil:
			s.fail(req.URI, classify(err))
		default:
			s.done(req, res)
		}
	}
}

// done reports a finished fetch.
func (s *session) done(req *Request, res *result) {
	msg := NewMessage(CodeURIDone, "URI Done").Add("URI", req.URI).Add("Filename", req.Filename)
	if res.imsHit {
		if !res.lastModified.IsZero() {
			msg.Add("Last-Modified", res.lastModified.UTC().Format(http.TimeFormat))
		}
		msg.Add("IMS-Hit", "true")
		s.log.Debug("not modified", "uri", req.URI)
		s.send(msg)
		return
	}
	msg.Add("Size", strconv.FormatInt(res.size, 10))
	if !res.lastModified.IsZero() {
		msg.Add("Last-Modified", res.lastModified.UTC().Format(http.TimeFormat))
	}
	addHashFields(msg, res.sums, res.size)
	s.log.Debug("done", "uri", req.URI, "size", res.size)
	s.send(msg)
}

// fail reports a failed fetch.
func (s *session) fail(uri string, f *Failure) {
	msg := NewMessage(CodeURIFailure, "URI Failure").Add("URI", uri).Add("Message", f.Error())
	if f.Reason != "" {
		msg.Add("FailReason", f.Reason)
	}
	if f.Transient {
		msg.Add("Transient-Failure", "true")
	}
	s.log.Debug("failed", "uri", uri, "reason", f.Reason, "transient", f.Transient, "err", f.Err)
	s.send(msg)
}
