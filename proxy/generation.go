package proxy

import (
	"log/slog"
	"time"

	"mailproxy/config"
)

// Logs are the loggers of one configuration: Main for the server's own
// messages (listening, reload, shutdown), Servers[i] for the sessions of
// cfg.Servers[i] (nil: Main). Release, when not nil, is called once
// nothing logs through them any more: after a reload, when the last
// session of the old configuration has ended.
type Logs struct {
	Main    *slog.Logger
	Servers []*slog.Logger
	Release func()
}

// LogsFunc builds the Logs of a configuration, e.g. by opening the
// files its error_log keys name.
type LogsFunc func(cfg *config.Config) (Logs, error)

// generation is one configuration the server has served: its sites,
// its loggers and how many of its sessions are still open. A reload
// retires the current generation; it ends when its last session does
// (its Logs are then released), or when its worker_shutdown_timeout
// closes what is left.
type generation struct {
	cfg     *config.Config
	release func() // Logs.Release; nil when there is none

	// Guarded by Server.mu.
	sessions int
	retired  bool
	timer    *time.Timer // worker_shutdown_timeout of a retired generation
}

// attach makes logs the loggers of gen's sites.
func (gen *generation) attach(sites []*site, logs Logs) {
	gen.release = logs.Release
	for i, st := range sites {
		st.gen = gen
		if i < len(logs.Servers) && logs.Servers[i] != nil {
			st.log = logs.Servers[i]
		} else {
			st.log = logs.Main
		}
	}
}

// SetLogs makes the server build the loggers of each configuration with
// f: at once for the current one (an error is f's), and at every Reload
// (an error fails the reload). The server's own messages go to Main from
// then on, its sessions to their server's logger. Without SetLogs every
// message goes to the logger given to New or SetLogger. Call it before
// Listen.
func (s *Server) SetLogs(f LogsFunc) error {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	logs, err := f(s.gen.cfg)
	if err != nil {
		return err
	}
	if s.gen.release != nil {
		s.gen.release()
	}
	s.gen.attach(s.sites, logs)
	if logs.Main != nil {
		s.logp.Store(logs.Main)
	}
	s.logsFunc = f
	return nil
}

// Logger returns the logger of the server's own messages: the current
// configuration's Main (SetLogs), else the one given to New or SetLogger.
func (s *Server) Logger() *slog.Logger { return s.logp.Load() }

// retire marks gen as replaced by a reload: it ends now if it has no
// session left, else when its last one ends, or — with
// worker_shutdown_timeout — when that time has passed and its sessions
// are closed, as nginx's old workers close theirs. s.rmu is held.
func (s *Server) retire(gen *generation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	gen.retired = true
	if gen.sessions == 0 {
		gen.end()
		return
	}
	if d := gen.cfg.WorkerShutdownTimeout; d > 0 {
		gen.timer = time.AfterFunc(d, func() { s.cut(gen) })
	}
}

// cut closes the sessions of a retired generation (its
// worker_shutdown_timeout has passed).
func (s *Server) cut(gen *generation) {
	s.mu.Lock()
	var conns []*clientConn
	for c := range s.conns {
		if c.site.gen == gen {
			conns = append(conns, c)
		}
	}
	s.mu.Unlock()
	if len(conns) == 0 {
		return
	}
	s.Logger().Info("worker_shutdown_timeout: closing the sessions of a previous configuration", "sessions", len(conns), "worker_shutdown_timeout", gen.cfg.WorkerShutdownTimeout.String())
	for _, c := range conns {
		c.abort()
	}
}

// end releases a generation that has no session left. s.mu is held.
func (gen *generation) end() {
	if gen.timer != nil {
		gen.timer.Stop()
	}
	if gen.release != nil {
		gen.release()
		gen.release = nil
	}
}

// sessionEnded counts one session of gen as closed. s.mu is held.
func (gen *generation) sessionEnded() {
	gen.sessions--
	if gen.retired && gen.sessions == 0 {
		gen.end()
	}
}
