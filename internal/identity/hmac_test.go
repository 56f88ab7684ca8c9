package identity_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"testing"

	"github.com/switchboard-cc/switchboard/internal/identity"
)

func TestContentHash(t *testing.T) {
	if got := identity.ContentHash(nil); got != identity.EmptyContentHash {
		t.Fatalf("hash of no body %q, want %q", got, identity.EmptyContentHash)
	}
	if got := identity.ContentHash([]byte{}); got != identity.EmptyContentHash {
		t.Fatalf("hash of an empty body %q", got)
	}
	// base64(SHA-256("abc")), the FIPS 180-2 test vector.
	if got := identity.ContentHash([]byte("abc")); got != "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=" {
		t.Fatalf("hash of abc %q", got)
	}
}

func TestStringToSign(t *testing.T) {
	got := identity.StringToSign("POST", "/identities/8%3Aacs%3Ax?api-version=2023-10-01&b=1&a=2",
		"Mon, 23 Nov 2026 10:00:00 GMT", "localhost:8443", identity.EmptyContentHash)
	want := "POST\n/identities/8%3Aacs%3Ax?api-version=2023-10-01&b=1&a=2\nMon, 23 Nov 2026 10:00:00 GMT;localhost:8443;" + identity.EmptyContentHash
	if got != want {
		t.Fatalf("string to sign\n%q\nwant\n%q", got, want)
	}
}

func TestSignAndVerify(t *testing.T) {
	key, _ := base64.StdEncoding.DecodeString("ZmFrZS1hY2Nlc3Mta2V5LWZvci10ZXN0cy0zMmJ5dGVzIQ==")
	sts := identity.StringToSign("GET", "/identities?api-version=2023-10-01", "Mon, 23 Nov 2026 10:00:00 GMT", "localhost", identity.EmptyContentHash)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(sts))
	want := base64.StdEncoding.EncodeToString(m.Sum(nil))
	sig := identity.Sign(key, sts)
	if sig != want {
		t.Fatalf("Sign = %q, want HMAC-SHA256 %q", sig, want)
	}
	if !identity.VerifySignature(key, sts, sig) {
		t.Fatal("own signature refused")
	}
	otherKey := append([]byte{}, key...)
	otherKey[0] ^= 1
	flipped := []byte(sig)
	flipped[3] ^= 1
	for name, ok := range map[string]bool{
		"another key":        identity.VerifySignature(otherKey, sts, sig),
		"another string":     identity.VerifySignature(key, sts+" ", sig),
		"tampered signature": identity.VerifySignature(key, sts, string(flipped)),
		"not base64":         identity.VerifySignature(key, sts, "***"),
		"empty":              identity.VerifySignature(key, sts, ""),
		"truncated":          identity.VerifySignature(key, sts, sig[:20]),
		"empty key":          identity.VerifySignature(nil, sts, sig),
	} {
		if ok {
			t.Errorf("%s: verified", name)
		}
	}
}
