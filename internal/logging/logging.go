// Package logging builds mailproxy's loggers from the configuration's
// error_log sinks (stderr, files that can be reopened after rotation,
// syslog servers over UDP or a UNIX socket, each with its own level),
// in one of three formats (log_format): slog's text or JSON lines, or
// nginx's error_log lines. Levels are nginx's eight (levels.go). Every
// logger it builds redacts password attributes (see Redact) as a last
// line of defence: the proxy already never logs a password.
package logging
