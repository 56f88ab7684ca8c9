package identity_test

import (
	"strings"
	"testing"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/identity"
)

func TestPasswordHash(t *testing.T) {
	for _, pw := range []string{"12345678", "correct horse battery staple", "pässwörd-ünïcode", strings.Repeat("x", 1000)} {
		h, err := identity.HashPassword(pw)
		if err != nil {
			t.Fatalf("%q: %v", pw, err)
		}
		if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(h, pw) {
			t.Fatalf("hash %q is not a PHC argon2id string", h)
		}
		if !identity.CheckPassword(h, pw) {
			t.Fatalf("%q does not check against its own hash", pw)
		}
		for _, wrong := range []string{"", pw + " ", strings.ToUpper(pw), pw[:len(pw)-1]} {
			if wrong != pw && identity.CheckPassword(h, wrong) {
				t.Fatalf("%q checks against the hash of %q", wrong, pw)
			}
		}
	}
	a, _ := identity.HashPassword("same password")
	b, _ := identity.HashPassword("same password")
	if a == b {
		t.Fatal("two hashes of one password are equal: no salt")
	}
}

func TestPasswordTooShort(t *testing.T) {
	for _, pw := range []string{"", "1234567"} {
		_, err := identity.HashPassword(pw)
		e := errs.As(err)
		if err == nil || e.Kind != errs.KindInvalid || e.Code != "PasswordTooShort" || e.Target != "password" {
			t.Fatalf("%q: %v", pw, err)
		}
	}
}

func TestCheckPasswordMalformedHash(t *testing.T) {
	good, err := identity.HashPassword("the-password")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$") // "", argon2id, v=19, m=..,t=..,p=.., salt, key
	join := func(p ...string) string { return strings.Join(p, "$") }
	for name, h := range map[string]string{
		"empty":               "",
		"plain text":          "the-password",
		"bcrypt":              "$2a$10$abcdefghijklmnopqrstuuMxZLR8R5fMGJbp0aG2Zx3yK1c8U6m2",
		"argon2i":             join("", "argon2i", parts[2], parts[3], parts[4], parts[5]),
		"missing key":         join("", "argon2id", parts[2], parts[3], parts[4]),
		"empty key":           join("", "argon2id", parts[2], parts[3], parts[4], ""),
		"short key":           join("", "argon2id", parts[2], parts[3], parts[4], parts[5][:4]),
		"empty salt":          join("", "argon2id", parts[2], parts[3], "", parts[5]),
		"key not base64":      join("", "argon2id", parts[2], parts[3], parts[4], "!!!!"),
		"salt not base64":     join("", "argon2id", parts[2], parts[3], "!!!!", parts[5]),
		"params garbage":      join("", "argon2id", parts[2], "m=x", parts[4], parts[5]),
		"zero rounds":         join("", "argon2id", parts[2], "m=19456,t=0,p=1", parts[4], parts[5]),
		"zero threads":        join("", "argon2id", parts[2], "m=19456,t=2,p=0", parts[4], parts[5]),
		"other rounds":        join("", "argon2id", parts[2], "m=19456,t=3,p=1", parts[4], parts[5]),
		"key of another salt": join("", "argon2id", parts[2], parts[3], "c2FsdHNhbHRzYWx0c2FsdA", parts[5]),
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("CheckPassword panicked on a malformed hash: %v", p)
				}
			}()
			for _, pw := range []string{"the-password", "", "anything-else"} {
				if identity.CheckPassword(h, pw) {
					t.Fatalf("hash %q accepts %q", h, pw)
				}
			}
		})
	}
}
