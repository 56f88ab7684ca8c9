// Package blob keeps uploaded files (chat attachments) outside the
// database: in the data directory by default. Keys are opaque paths made
// of tenant and file id.
package blob

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-cc/switchboard/internal/errs"
)

// ErrTooLarge is returned by Put when the content exceeds the limit.
var ErrTooLarge = errs.New(errs.KindTooLarge, "FileTooLarge", "the file is larger than allowed")

// Dir stores blobs as files under a directory.
type Dir struct{ root string }

// NewDir uses root (created if missing).
func NewDir(root string) (*Dir, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	return &Dir{root: root}, nil
}

func (d *Dir) path(key string) (string, error) {
	if key == "" || strings.Contains(key, "..") || strings.HasPrefix(key, "/") || strings.ContainsAny(key, "\\\x00") {
		return "", fmt.Errorf("blob: bad key %q", key)
	}
	return filepath.Join(d.root, filepath.FromSlash(key)), nil
}

// Put writes r under key, at most max bytes, atomically: a crash leaves
// either the whole file or none.
func (d *Dir) Put(ctx context.Context, key string, r io.Reader, max int64) (int64, error) {
	p, err := d.path(key)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return 0, fmt.Errorf("blob: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".upload-*")
	if err != nil {
		return 0, fmt.Errorf("blob: %w", err)
	}
	defer os.Remove(tmp.Name())
	n, err := io.Copy(tmp, io.LimitReader(r, max+1))
	if err == nil && n > max {
		err = ErrTooLarge
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return 0, fmt.Errorf("blob: %w", err)
	}
	return n, nil
}

// Open reads the blob under key.
func (d *Dir) Open(ctx context.Context, key string) (io.ReadSeekCloser, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errs.NotFound("file not found")
	}
	return f, err
}

// Delete removes the blob under key; a missing one is not an error.
func (d *Dir) Delete(ctx context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Signer makes and checks expiring links to files, so a browser can show
// an image with a plain <img src> and no credentials.
type Signer struct{ key []byte }

// NewSigner uses key (at least 32 bytes).
func NewSigner(key []byte) *Signer { return &Signer{key: key} }

func (s *Signer) mac(path string, exp int64) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(path + "\n" + strconv.FormatInt(exp, 10)))
	return hex.EncodeToString(m.Sum(nil))
}

// Sign returns path?exp=…&sig=… valid for ttl.
func (s *Signer) Sign(path string, now time.Time, ttl time.Duration) string {
	exp := now.Add(ttl).Unix()
	return path + "?exp=" + strconv.FormatInt(exp, 10) + "&sig=" + s.mac(path, exp)
}

// Verify checks a link's expiry and signature.
func (s *Signer) Verify(path, exp, sig string, now time.Time) bool {
	e, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || now.Unix() > e {
		return false
	}
	return hmac.Equal([]byte(sig), []byte(s.mac(path, e)))
}

// NewID returns a random file id.
func NewID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
