package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"mailproxy/internal/mailtest"
	"mailproxy/internal/pkitest"
)

// TestRunHTTPSWithReplicasAndNames: -tls-cert/-tls-key serve HTTPS;
// -backend-names allows NAME:PORT backends; a comma-separated list of
// backends answers a failover request (Auth-Failed-Server) with the one
// after the backend that failed, and the last with a refusal.
func TestRunHTTPSWithReplicasAndNames(t *testing.T) {
	dir := t.TempDir()
	ca := pkitest.NewRoot(t, "Auth CA")
	cert := ca.Issue(pkitest.Spec{Server: true, Hosts: []string{"127.0.0.1"}})
	crt := pkitest.Write(t, dir, "auth.crt", cert.CertPEM)
	key := pkitest.Write(t, dir, "auth.key", cert.KeyPEM)
	users := filepath.Join(dir, "users")
	if err := os.WriteFile(users, []byte("alice secret imap1.test:143,10.0.0.2:143 imap\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs mailtest.SyncBuffer
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-users", users, "-backend-names", "-tls-cert", crt, "-tls-key", key}, &logs, nil, ready)
	}()
	var addr net.Addr
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	ask := func(failed string) http.Header {
		t.Helper()
		req, _ := http.NewRequest("GET", "https://"+addr.String()+"/auth", nil)
		for k, v := range map[string]string{
			"Auth-Method": "plain", "Auth-User": "alice", "Auth-Pass": "secret", "Auth-Protocol": "imap",
			"Auth-Login-Attempt": "1", "Client-IP": "192.0.2.1",
		} {
			req.Header.Set(k, v)
		}
		if failed != "" {
			req.Header.Set("Auth-Failed-Server", failed)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.Header
	}
	if h := ask(""); h.Get("Auth-Status") != "OK" || h.Get("Auth-Server") != "imap1.test" || h.Get("Auth-Port") != "143" {
		t.Errorf("first: %v", h)
	}
	if h := ask("imap1.test:143"); h.Get("Auth-Status") != "OK" || h.Get("Auth-Server") != "10.0.0.2" {
		t.Errorf("after the first failed: %v", h)
	}
	if h := ask("10.0.0.2:143"); h.Get("Auth-Status") == "OK" {
		t.Errorf("after the last failed: %v", h)
	}
	cancel()
	<-done
}

func TestTLSFlagsTogether(t *testing.T) {
	var logs mailtest.SyncBuffer
	if _, err := parseFlags([]string{"-users", "u", "-tls-cert", "c"}, &logs); err == nil {
		t.Error("-tls-cert without -tls-key accepted")
	}
}
