// Package web embeds the browser assets built from web/ (the web chat
// widget, the real-time client, the agent desktop and the demo page), so
// `go build` alone makes a complete binary. Rebuild them with `go generate
// ./internal/web`.
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

// DeskCSP is the agent desktop's Content-Security-Policy: its own code
// and styles only, the real-time socket, and pictures from the server or
// made in the page. No framing, no plug-ins, forms post only to itself.
const DeskCSP = "default-src 'self'; script-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: blob:; " +
	"style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Handler serves /widget.js, /web/<file>, the agent desktop at /desk, the
// supervisor console at /console and the admin pages at /admin.
// Any site may load the scripts: they are public code, and the widget
// runs on the businesses' own pages. The desktop page itself is only for
// this origin (strict CSP, no framing).
func Handler() http.Handler {
	files := http.FileServerFS(Assets())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		var name string
		switch {
		case r.URL.Path == "/widget.js":
			name = "widget.js"
		case r.URL.Path == "/desk" || r.URL.Path == "/desk/":
			name = "desk.html"
		case r.URL.Path == "/console" || r.URL.Path == "/console/":
			name = "console.html"
		case r.URL.Path == "/admin" || r.URL.Path == "/admin/":
			name = "admin.html"
		default:
			name = strings.TrimPrefix(path.Clean(r.URL.Path), "/web/")
		}
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		// The supervisor console and the admin pages are staff pages like
		// the desktop, under the same policy.
		if name == "desk.html" || name == "console.html" || name == "admin.html" {
			h.Set("Content-Security-Policy", DeskCSP)
			h.Set("X-Frame-Options", "DENY")
			h.Set("Referrer-Policy", "no-referrer")
			// The page is tiny and names the current code: always ask.
			h.Set("Cache-Control", "no-cache")
		} else {
			h.Set("Access-Control-Allow-Origin", "*")
			// Short: a new release reaches every site within minutes.
			h.Set("Cache-Control", "public, max-age=300")
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + name
		files.ServeHTTP(w, r2)
	})
}
