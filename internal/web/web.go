// Package web embeds the browser assets built from web/ (the web chat
// widget, the real-time client and the demo page), so `go build` alone
// makes a complete binary. Rebuild them with `go generate ./internal/web`.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:generate node ../../web/build.mjs

//go:embed dist
var dist embed.FS

// Assets are the built files.
func Assets() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err)
	}
	return sub
}

// Handler serves /widget.js and /web/<file>. Any site may load them: they
// are public code, and the widget runs on the businesses' own pages.
func Handler() http.Handler {
	files := http.FileServerFS(Assets())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := "widget.js"
		if r.URL.Path != "/widget.js" {
			name = strings.TrimPrefix(path.Clean(r.URL.Path), "/web/")
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("X-Content-Type-Options", "nosniff")
		// Short: a new release reaches every site within minutes.
		h.Set("Cache-Control", "public, max-age=300")
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + name
		files.ServeHTTP(w, r2)
	})
}
