package conversation

import (
	"context"
	"io"
	"path"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// Blobs keeps file contents.
type Blobs interface {
	Put(ctx context.Context, key string, r io.Reader, max int64) (int64, error)
	Delete(ctx context.Context, key string) error
}

// FileStore records uploaded files.
type FileStore interface {
	CreateFile(ctx context.Context, f File) error
}

// UploadLimits are a tenant's attachment rules.
type UploadLimits struct {
	MaxBytes int64
	Types    []string
}

// DefaultUploadLimits apply when a tenant has set none.
var DefaultUploadLimits = UploadLimits{MaxBytes: 10 << 20,
	Types: []string{"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"}}

// BlobKey is where a file's bytes live.
func BlobKey(t tenant.ID, id string) string { return string(t) + "/" + id[:2] + "/" + id }

// Upload stores a file a participant attaches to a thread. The bytes are
// written first; the record only when they are safely down, so a crash
// leaves at worst an unreferenced file, never a record without bytes.
func (s *Service) Upload(ctx context.Context, caller string, id ThreadID, f File, body io.Reader, limits UploadLimits, blobs Blobs, files FileStore, newID func() string) (File, error) {
	t := tenant.MustFrom(ctx)
	ct, _, _ := strings.Cut(f.ContentType, ";")
	ct = strings.ToLower(strings.TrimSpace(ct))
	if !slices.Contains(limits.Types, ct) {
		return File{}, errs.New(errs.KindUnsupportedMedia, "UnsupportedMediaType", "files of type %q are not accepted; accepted: %s", ct, strings.Join(limits.Types, ", "))
	}
	name := path.Base(strings.ReplaceAll(f.Name, "\\", "/"))
	if name == "" || name == "." || name == "/" || utf8.RuneCountInString(name) > 255 || !utf8.ValidString(name) {
		return File{}, errs.Invalid("InvalidFileName", "the file needs a name of at most 255 characters").WithTarget("name")
	}
	if _, _, err := s.member(ctx, caller, id); err != nil {
		return File{}, err
	}
	f = File{Tenant: t, ID: newID(), Thread: id, Uploader: caller, Name: name, ContentType: ct, CreatedAt: s.now().UTC()}
	key := BlobKey(t, f.ID)
	n, err := blobs.Put(ctx, key, body, limits.MaxBytes)
	if errs.KindOf(err) == errs.KindTooLarge {
		return File{}, errs.New(errs.KindTooLarge, "FileTooLarge", "files must be at most %d bytes", limits.MaxBytes)
	}
	if err != nil {
		return File{}, err
	}
	if n == 0 {
		_ = blobs.Delete(ctx, key)
		return File{}, errs.Invalid("EmptyFile", "the file is empty")
	}
	f.Size = n
	if err := files.CreateFile(ctx, f); err != nil {
		_ = blobs.Delete(ctx, key)
		return File{}, err
	}
	return f, nil
}
