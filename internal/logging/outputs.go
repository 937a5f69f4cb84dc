package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"
)

// Log formats (the log_format key).
const (
	FormatText  = "text"  // slog's key=value lines
	FormatJSON  = "json"  // slog's JSON lines
	FormatNginx = "nginx" // nginx's error_log lines (see nginxHandler)
)

// Sink is one error_log destination and the level of the records it
// takes (that level and more severe ones).
type Sink struct {
	// Destination is "stderr", a file path (opened for append, created
	// with mode 0640), or a syslog server ("syslog:server=…", see
	// ParseSyslog).
	Destination string
	Level       slog.Level
}

// Outputs opens log destinations and shares each one among the loggers
// that name it: a file named by several contexts, or by two
// configurations across a reload, is opened once. A destination stays
// open while a logger built on it has not been released. Safe for
// concurrent use.
type Outputs struct {
	stderr   io.Writer
	hostname string // syslog header
	pid      int
	now      func() time.Time

	mu   sync.Mutex
	open map[string]*output
}

// NewOutputs returns Outputs whose "stderr" destination is stderr
// (os.Stderr when nil).
func NewOutputs(stderr io.Writer) *Outputs {
	if stderr == nil {
		stderr = os.Stderr
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return &Outputs{stderr: stderr, hostname: strings.ToLower(host), pid: os.Getpid(), now: time.Now, open: map[string]*output{}}
}

// output is one open destination.
type output struct {
	key  string
	refs int

	mu     sync.Mutex
	w      io.Writer // stderr or the file
	f      *os.File  // nil for stderr and syslog
	path   string
	sys    *syslogWriter
	closed bool
}

// write writes one record's line.
func (o *output) write(level slog.Level, line []byte) error {
	if o.sys != nil {
		return o.sys.write(level, line)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return os.ErrClosed
	}
	_, err := o.w.Write(line)
	return err
}

// reopen opens a file's path again and closes the previous file (after
// logrotate renamed it); stderr and syslog are left as they are. If the
// path cannot be opened the old file is kept and the error returned.
func (o *output) reopen() error {
	if o.f == nil {
		return nil
	}
	f, err := openFile(o.path)
	if err != nil {
		return err
	}
	o.mu.Lock()
	old := o.f
	o.w, o.f = f, f
	o.mu.Unlock()
	return old.Close()
}

func (o *output) close() error {
	if o.sys != nil {
		return o.sys.close()
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.closed = true
	if o.f != nil {
		return o.f.Close()
	}
	return nil
}

// openFile opens a log file for append, creating it with mode 0640.
func openFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
}

// acquire returns the open output for dest, opening it if needed, with
// one more reference. o.mu must be held.
func (o *Outputs) acquire(dest string) (*output, error) {
	key := dest
	if key == "" {
		key = "stderr"
	}
	if out := o.open[key]; out != nil {
		out.refs++
		return out, nil
	}
	out := &output{key: key, refs: 1}
	switch {
	case key == "stderr":
		out.w = o.stderr
	case strings.HasPrefix(key, SyslogPrefix):
		s, err := ParseSyslog(key)
		if err != nil {
			return nil, err
		}
		out.sys = &syslogWriter{s: s, host: o.hostname, now: o.now}
	default:
		f, err := openFile(key)
		if err != nil {
			return nil, err
		}
		out.w, out.f, out.path = f, f, key
	}
	o.open[key] = out
	return out, nil
}

// release drops one reference and closes the output after the last one.
// o.mu must be held.
func (o *Outputs) release(out *output) {
	out.refs--
	if out.refs == 0 {
		delete(o.open, out.key)
		out.close()
	}
}

// Logger returns a logger that writes each record, in format ("text",
// the default when empty, "json" or "nginx"), to every sink whose level
// it reaches, as nginx writes to each error_log of a context. No sinks
// means stderr at info. Every logger redacts password attributes (see
// Redact).
//
// release gives the destinations back: call it once nothing logs through
// the logger any more (a destination no other logger uses is closed).
// A bad format or a destination that cannot be opened is an error, and
// nothing is left open.
func (o *Outputs) Logger(format string, sinks []Sink) (log *slog.Logger, release func(), err error) {
	switch strings.ToLower(format) {
	case "", FormatText, FormatJSON, FormatNginx:
	default:
		return nil, nil, fmt.Errorf("log format %q: want text, json or nginx", format)
	}
	if len(sinks) == 0 {
		sinks = []Sink{{Destination: "stderr", Level: LevelInfo}}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	outs := make([]*output, 0, len(sinks))
	handlers := make([]slog.Handler, 0, len(sinks))
	for _, s := range sinks {
		out, err := o.acquire(s.Destination)
		if err != nil {
			for _, got := range outs {
				o.release(got)
			}
			return nil, nil, fmt.Errorf("error_log %s: %w", s.Destination, unwrapPath(err))
		}
		outs = append(outs, out)
		handlers = append(handlers, o.handler(format, &sinkOutput{output: out, level: s.Level}))
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			o.mu.Lock()
			defer o.mu.Unlock()
			for _, out := range outs {
				o.release(out)
			}
		})
	}
	if len(handlers) == 1 {
		return slog.New(handlers[0]), release, nil
	}
	return slog.New(slog.NewMultiHandler(handlers...)), release, nil
}

// unwrapPath drops the *os.PathError wrapping of an open error whose
// path the caller names already: "open /x/y: no such file" becomes
// "no such file or directory".
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// handler builds the handler of one sink.
func (o *Outputs) handler(format string, out *sinkOutput) slog.Handler {
	switch strings.ToLower(format) {
	case FormatNginx:
		return &nginxHandler{out: out, pid: o.pid, now: o.now}
	case FormatJSON:
		return &slogSink{out: out, h: slog.NewJSONHandler(out, &slog.HandlerOptions{Level: out.level, ReplaceAttr: replaceAttr})}
	}
	return &slogSink{out: out, h: slog.NewTextHandler(out, &slog.HandlerOptions{Level: out.level, ReplaceAttr: replaceAttr})}
}

// Reopen opens every log file again (on SIGHUP, after logrotate renamed
// them): later records go to the new files. It returns the first error;
// a file that cannot be reopened keeps its old file.
func (o *Outputs) Reopen() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	var first error
	for _, out := range o.open {
		if err := out.reopen(); err != nil && first == nil {
			first = fmt.Errorf("error_log %s: %w", out.key, unwrapPath(err))
		}
	}
	return first
}

// sinkOutput is an output as one sink uses it: with the sink's level,
// and the level of the record being written for the text and JSON
// handlers, whose Write does not carry it.
type sinkOutput struct {
	*output
	level slog.Level

	mu  sync.Mutex // held by slogSink.Handle around the inner Handle
	cur slog.Level
}

// Write is the io.Writer of a text or JSON handler: one record per call.
func (s *sinkOutput) Write(p []byte) (int, error) {
	if err := s.output.write(s.cur, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// slogSink is a text or JSON sink: slog's handler writing to the sink's
// output, told the record's level (for syslog's severity) first.
type slogSink struct {
	out *sinkOutput
	h   slog.Handler
}

func (s *slogSink) Enabled(ctx context.Context, l slog.Level) bool { return s.h.Enabled(ctx, l) }

func (s *slogSink) Handle(ctx context.Context, r slog.Record) error {
	s.out.mu.Lock()
	defer s.out.mu.Unlock()
	s.out.cur = r.Level
	return s.h.Handle(ctx, r)
}

func (s *slogSink) WithAttrs(as []slog.Attr) slog.Handler {
	return &slogSink{out: s.out, h: s.h.WithAttrs(as)}
}

func (s *slogSink) WithGroup(name string) slog.Handler {
	return &slogSink{out: s.out, h: s.h.WithGroup(name)}
}

// replaceAttr is the ReplaceAttr of the text and JSON formats: Redact,
// nginx's names for the levels slog has none for (NOTICE, CRIT, ALERT,
// EMERG), and no session number (ConnKey), which these formats never
// wrote.
func replaceAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 {
		switch a.Key {
		case ConnKey:
			return slog.Attr{}
		case slog.LevelKey:
			if l, ok := a.Value.Any().(slog.Level); ok {
				if name, ok := slogLevelName(l); ok {
					return slog.String(slog.LevelKey, name)
				}
			}
			return a
		}
	}
	return Redact(groups, a)
}

// Close closes every destination at once (stderr is left open); loggers
// built on them write nothing more.
func (o *Outputs) Close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for key, out := range o.open {
		out.close()
		delete(o.open, key)
	}
}
