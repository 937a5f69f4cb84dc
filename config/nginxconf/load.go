package nginxconf

import "mailproxy/config"

// Load reads the nginx configuration file (resolved with opts.Prefix as
// nginx resolves -c), translates it and loads the result with
// config.Parse. Every problem is reported at its nginx file:line in a
// *config.Error; a file that cannot be read gives the os error.
func Load(file string, opts Options) (*config.Config, error) {
	r, err := TranslateFile(file, opts)
	if err != nil {
		return nil, err
	}
	return r.Config()
}

// Import translates the nginx configuration file and returns the YAML
// document, after checking that it loads (so a document Import returns
// works with `mailproxy -c`). The pid file and error_log files move to
// where mailproxy's systemd unit may write (/run/mailproxy/mailproxy.pid,
// /var/log/mailproxy/NAME), with a comment naming nginx's.
func Import(file string, opts Options) ([]byte, error) {
	opts.forService = true
	r, err := TranslateFile(file, opts)
	if err != nil {
		return nil, err
	}
	if _, err := r.Config(); err != nil {
		return nil, err
	}
	return r.YAML, nil
}
