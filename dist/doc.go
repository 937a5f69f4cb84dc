// Package dist holds no code: the folder keeps mailproxy's packaging, and
// this package's tests check it.
//
//	mailproxy.yaml            example /etc/mailproxy/mailproxy.yaml (a conffile)
//	systemd/mailproxy.service the unit, installed in /lib/systemd/system
//	systemd/mailproxy.socket  socket activation example (documentation only)
//	nfpm.yaml, deb/           the Debian package (`make deb`) and its
//	                          maintainer scripts; deb/test-install.sh installs,
//	                          checks and purges a built package (CI)
//
// The tests run the example configuration through `mailproxy -t`, with
// and without its commented-out examples, and `systemd-analyze verify`
// over the units when systemd-analyze is installed.
package dist
