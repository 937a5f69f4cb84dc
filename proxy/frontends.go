package proxy

import (
	"fmt"

	"mailproxy/config"
	"mailproxy/imap"
	"mailproxy/internal/resolver"
	"mailproxy/internal/session"
	"mailproxy/pop3"
	"mailproxy/sieve"
	"mailproxy/smtp"
)

// frontEnd builds the protocol front end of a server entry from its
// directives: the only place that maps configuration onto a protocol
// package's own Options.
func frontEnd(cfg *config.Server) (session.Protocol, error) {
	starttls := startTLS(cfg.StartTLS)
	switch cfg.Protocol {
	case "imap":
		return imap.NewServer(imap.Options{
			ServerName:   cfg.ServerName,
			Capabilities: cfg.IMAPCapabilities,
			Auth:         cfg.IMAPAuth,
			StartTLS:     starttls,
			ClientBuffer: cfg.IMAPClientBuffer,
			MaxErrors:    cfg.MaxErrors,
			ID:           imapID(cfg.IMAPID),
			Forward:      cfg.ProxyForward == "imap_id",
			PassID:       cfg.AuthHTTPPassClientDetails,
			MaxCommands:  cfg.MaxCommands,
		}), nil
	case "pop3":
		return pop3.NewServer(pop3.Options{
			ServerName:   cfg.ServerName,
			Capabilities: cfg.POP3Capabilities,
			Auth:         cfg.POP3Auth,
			StartTLS:     starttls,
			MaxErrors:    cfg.MaxErrors,
			Forward:      cfg.ProxyForward == "xclient",
			MaxCommands:  cfg.MaxCommands,
		}), nil
	case "smtp":
		var res *resolver.Resolver
		if len(cfg.Resolver) > 0 {
			res = resolver.New(cfg.Resolver, cfg.ResolverIPv4, cfg.ResolverIPv6, cfg.ResolverTimeout)
		}
		return smtp.NewServer(smtp.Options{
			ServerName:    cfg.ServerName,
			Capabilities:  cfg.SMTPCapabilities,
			Auth:          cfg.SMTPAuth,
			StartTLS:      starttls,
			ClientBuffer:  cfg.SMTPClientBuffer,
			MaxErrors:     cfg.MaxErrors,
			MaxCommands:   cfg.MaxCommands,
			GreetingDelay: cfg.SMTPGreetingDelay,
			XClient:       cfg.XClient,
			ProxySMTPAuth: cfg.ProxySMTPAuth,
			Resolver:      res,
		}), nil
	case "sieve":
		return sieve.NewServer(sieve.Options{
			Capabilities: cfg.SieveCapabilities,
			Auth:         cfg.SieveAuth,
			StartTLS:     starttls,
			ClientBuffer: cfg.SieveClientBuffer,
			MaxErrors:    cfg.MaxErrors,
			MaxCommands:  cfg.MaxCommands,
		}), nil
	}
	return nil, fmt.Errorf("unknown protocol %q", cfg.Protocol)
}

// startTLS maps the starttls directive onto the engine's values.
func startTLS(v config.StartTLS) session.StartTLS {
	switch v {
	case config.StartTLSOn:
		return session.StartTLSOn
	case config.StartTLSOnly:
		return session.StartTLSOnly
	}
	return session.StartTLSOff
}

// imapID maps imap_id onto the IMAP front end's fields (nil stays nil:
// ID unanswered unless another key needs it).
func imapID(fields []config.IDField) []imap.IDField {
	if fields == nil {
		return nil
	}
	out := make([]imap.IDField, len(fields))
	for i, f := range fields {
		out[i] = imap.IDField{Name: f.Name, Value: f.Value, Nil: f.Nil}
	}
	return out
}
