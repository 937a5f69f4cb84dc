package tls

import (
	"crypto/tls"
	"testing"
)

func TestParseCiphers(t *testing.T) {
	def, err := ParseCiphers("HIGH:!aNULL:!MD5")
	if err != nil || len(def) == 0 {
		t.Fatalf("default: %v %v", def, err)
	}
	for _, id := range def {
		if id == tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA {
			t.Fatal("HIGH must not select 3DES")
		}
	}
	got, err := ParseCiphers("ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256")
	if err != nil || len(got) != 2 || got[0] != tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 {
		t.Fatalf("explicit: %v %v", got, err)
	}
	got, err = ParseCiphers("ECDHE+AESGCM:!ECDSA")
	if err != nil || len(got) != 2 {
		t.Fatalf("intersection: %v %v", got, err)
	}
	if _, err := ParseCiphers("HIGH:NOSUCHCIPHER"); err == nil {
		t.Fatal("unknown cipher accepted")
	}
	if _, err := ParseCiphers("aNULL"); err == nil {
		t.Fatal("empty selection accepted")
	}
}

func TestNames(t *testing.T) {
	if CipherName(tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) != "ECDHE-RSA-AES256-GCM-SHA384" ||
		CipherName(tls.TLS_AES_256_GCM_SHA384) != "TLS_AES_256_GCM_SHA384" {
		t.Fatal("cipher names")
	}
	if VersionName(tls.VersionTLS12) != "TLSv1.2" || VersionName(tls.VersionTLS10) != "TLSv1" {
		t.Fatal("version names")
	}
}

func TestVersionRange(t *testing.T) {
	if min, max, err := versionRange([]string{"TLSv1.2", "TLSv1.3"}); err != nil || min != tls.VersionTLS12 || max != tls.VersionTLS13 {
		t.Fatal("range")
	}
	if _, _, err := versionRange([]string{"TLSv1", "TLSv1.2"}); err == nil {
		t.Fatal("gap accepted")
	}
	if _, _, err := versionRange([]string{"SSLv3"}); err == nil {
		t.Fatal("SSLv3 accepted")
	}
}
