package tlsutil

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"testing"
)

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEnsureCreatesTrustedServerCertificate(t *testing.T) {
	dir := t.TempDir()
	hosts := append(DefaultHosts(), "switchboard.example", "10.1.2.3")
	f, err := Ensure(dir, hosts)
	if err != nil {
		t.Fatal(err)
	}
	ca, cert := readCert(t, f.CA), readCert(t, f.Cert)
	if !ca.IsCA {
		t.Fatal("ca.pem is not a CA")
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	for _, h := range hosts {
		if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: h}); err != nil {
			t.Errorf("server certificate not valid for %s: %v", h, err)
		}
	}
	if info, _ := os.Stat(f.Key); info.Mode().Perm() != 0o600 {
		t.Errorf("server key mode %v, want 0600", info.Mode().Perm())
	}
	if info, _ := os.Stat(f.CAKey); info.Mode().Perm() != 0o600 {
		t.Errorf("CA key mode %v, want 0600", info.Mode().Perm())
	}
}

func TestEnsureKeepsCAAndReissuesOnlyWhenHostsChange(t *testing.T) {
	dir := t.TempDir()
	f, err := Ensure(dir, []string{"localhost", "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	ca1, cert1 := readCert(t, f.CA), readCert(t, f.Cert)
	if _, err := Ensure(dir, []string{"localhost"}); err != nil {
		t.Fatal(err)
	}
	if readCert(t, f.Cert).SerialNumber.Cmp(cert1.SerialNumber) != 0 {
		t.Fatal("a covered host set must not re-issue the certificate")
	}
	if _, err := Ensure(dir, []string{"localhost", "new.example"}); err != nil {
		t.Fatal(err)
	}
	ca2, cert2 := readCert(t, f.CA), readCert(t, f.Cert)
	if ca2.SerialNumber.Cmp(ca1.SerialNumber) != 0 {
		t.Fatal("the CA must never change: clients already trust it")
	}
	if cert2.SerialNumber.Cmp(cert1.SerialNumber) == 0 || cert2.VerifyHostname("new.example") != nil {
		t.Fatal("a new host must re-issue the server certificate")
	}
}
