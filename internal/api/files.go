package api

import (
	"context"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-cc/switchboard/internal/blob"
	"github.com/switchboard-cc/switchboard/internal/conversation"
	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// Blobs keeps and serves file contents.
type Blobs interface {
	Put(ctx context.Context, key string, r io.Reader, max int64) (int64, error)
	Open(ctx context.Context, key string) (io.ReadSeekCloser, error)
	Delete(ctx context.Context, key string) error
}

// FileStore records files.
type FileStore interface {
	CreateFile(ctx context.Context, f conversation.File) error
	Files(ctx context.Context, t tenant.ID, ids []string) ([]conversation.File, error)
}

func (s *Server) registerFiles() {
	s.handle(route{method: "POST", path: "/chat/threads/{thread}/attachments", auth: authUser, versions: nativeVersions, h: s.uploadAttachment})
	s.handle(route{method: "GET", path: "/files/{tenant}/{file}", auth: authNone, h: s.downloadFile})
}

// isUpload tells the outer middleware which requests may carry file-sized
// bodies.
func isUpload(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/chat/threads/") && strings.HasSuffix(r.URL.Path, "/attachments")
}

func (s *Server) uploadAttachment(w http.ResponseWriter, r *http.Request) error {
	caller, err := chatCaller(r, levelRead)
	if err != nil {
		return err
	}
	limits := conversation.DefaultUploadLimits
	if s.deps.UploadLimits != nil {
		if limits, err = s.deps.UploadLimits(r.Context()); err != nil {
			return err
		}
	}
	if r.ContentLength > limits.MaxBytes {
		return errs.New(errs.KindTooLarge, "FileTooLarge", "files must be at most %d bytes", limits.MaxBytes)
	}
	f, err := s.deps.Chat.Upload(r.Context(), caller, threadID(r),
		conversation.File{Name: r.URL.Query().Get("name"), ContentType: r.Header.Get("Content-Type")},
		r.Body, limits, s.deps.Blobs, s.deps.Files, blob.NewID)
	if err != nil {
		return err
	}
	a := s.deps.Chat.ClientAttachment(f)
	a.URL, a.PreviewURL = absolute(r, a.URL), absolute(r, a.PreviewURL)
	writeJSON(w, http.StatusCreated, a)
	return nil
}

// absolute makes a server-relative link absolute for this request's host.
func absolute(r *http.Request, link string) string {
	if link == "" || !strings.HasPrefix(link, "/") {
		return link
	}
	if pub, ok := r.Context().Value(publicURLKey{}).(string); ok {
		return strings.TrimSuffix(pub, "/") + link
	}
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	return scheme + "://" + r.Host + link
}

// downloadFile serves a file to anyone holding a valid signed link. The
// headers keep a browser from running it: no sniffing, a sandboxing CSP,
// and only images shown inline.
func (s *Server) downloadFile(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if !s.deps.FileSigner.Verify(r.URL.Path, q.Get("exp"), q.Get("sig"), time.Now()) {
		return errs.New(errs.KindForbidden, "InvalidSignature", "the link is invalid or has expired")
	}
	t := tenant.ID(r.PathValue("tenant"))
	files, err := s.deps.Files.Files(r.Context(), t, []string{r.PathValue("file")})
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return errs.NotFound("file not found")
	}
	f := files[0]
	body, err := s.deps.Blobs.Open(r.Context(), conversation.BlobKey(t, f.ID))
	if err != nil {
		return err
	}
	defer body.Close()
	disposition := "attachment"
	if conversation.AttachmentKind(f.ContentType) == "image" {
		disposition = "inline"
	}
	h := w.Header()
	h.Set("Content-Type", f.ContentType)
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": f.Name}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, max-age=3600")
	http.ServeContent(w, r, "", f.CreatedAt, body)
	return nil
}
