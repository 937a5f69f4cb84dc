// Package nginxconf reads nginx configuration files and translates their
// mail {} block into mailproxy's YAML configuration, so that a running
// nginx.conf can be used as is (`mailproxy -c nginx.conf`) or converted
// once (`mailproxy import-nginx nginx.conf`).
//
// The work is split in three steps, one file group each:
//
//   - syntax (lexer.go, parse.go): the file is tokenized and parsed the
//     way nginx's ngx_conf_file.c does it — directives `name args;`,
//     blocks `name args { … }`, `#` comments, single and double quotes
//     with backslash escapes — into a tree of *Directive, each word with
//     its file:line. Variables ($name) are left as text. Syntax errors use
//     nginx's wording (`unexpected "}"`, `unexpected end of file,
//     expecting "}"`, …) and stop the parse, as in nginx.
//   - translation (translate.go and the files it uses): the main context
//     is walked (following `include`), the mail block is checked against
//     the mail directives nginx knows (wrong context, unknown directive,
//     argument counts, duplicates — nginx's messages) and turned into a
//     mailproxy document: mail-level directives under `mail:`, each
//     server {} as one entry of `servers:`. Every directive is either
//     translated (a YAML comment says so when the translation is not
//     word for word), or refused with an error saying why; nothing is
//     dropped silently. Everything outside mail {} is ignored with a note.
//   - loading (load.go): the YAML is checked with config.Parse and the
//     problems config.Parse finds are reported at the nginx file:line
//     they come from.
//
// Paths follow nginx's rules (see Options): include files and TLS files
// are relative to the directory of the main configuration file (nginx's
// conf prefix), pid and error_log to the prefix. Every path in the output
// is absolute.
package nginxconf
