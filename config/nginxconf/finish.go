package nginxconf

// finish applies what spans levels once everything is read: `ssl on`
// onto the listens, the wildcard listens, log_format, and the checks that
// there is something to translate.
func (t *translator) finish() {
	if len(t.ps.list) > 0 {
		// A missing mail block or server is likely a consequence (an
		// include that failed): report only the cause, as nginx would.
		if t.mail == nil || len(t.servers) == 0 {
			return
		}
	}
	if t.mail == nil {
		t.ps.add(Pos{File: t.paths.file}, "no \"mail\" block: nothing to translate (mailproxy replaces nginx's mail module only)")
		return
	}
	if len(t.servers) == 0 {
		t.ps.add(t.mail.pos, "no \"server\" in the \"mail\" block: nothing to proxy")
		return
	}
	t.sslNotes(t.mail, nil)
	for _, srv := range t.servers {
		t.sslNotes(srv, t.mail.ssl)
		eff := srv.ssl
		if eff == nil {
			eff = t.mail.ssl
		}
		if eff != nil && eff.on {
			for _, l := range srv.listens {
				if !l.ssl {
					l.ssl = true
					l.notes = append(l.notes, note{eff.pos, "\"ssl on\": implicit TLS, as \"listen ... ssl\""})
				}
			}
		}
		t.wildcards(srv)
	}
	t.logFormat()
	t.maxConnections()
}

// sslNotes explains where the `ssl` directive of lv went; parent is the
// mail block's for a server.
func (t *translator) sslNotes(lv *level, parent *setting) {
	s := lv.ssl
	if s == nil {
		return
	}
	text := ""
	switch {
	case s.on && lv == t.mail:
		text = "\"ssl on\" (removed in nginx 1.25.1) becomes ssl: true on every listen of the servers without \"ssl off\""
	case s.on:
		text = "\"ssl on\" (removed in nginx 1.25.1) becomes ssl: true on every listen of this server"
	case parent != nil && parent.on:
		text = "\"ssl off\": the listens of this server stay plain, although the mail block says \"ssl on\""
	default:
		text = "\"ssl off\" dropped: the default"
	}
	s.where.notes = append(s.where.notes, note{s.pos, text})
}
