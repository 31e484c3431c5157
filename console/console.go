// Package console is facilityd's web console for engineering and the night patrol: plain HTML,
// CSS and JavaScript modules embedded in the binary and served by facilityd itself, so there is
// nothing to build or fetch at run time (no framework, no CDN, no external fonts). The pages
// read the same JSON API as every other client, with the same role token, and follow the event
// stream for live updates.
package console

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed assets
var assets embed.FS

// Routes are the patterns the console takes on the API's mux: the page at "/" and its assets
// under "/ui/". Everything else, /api/... included, stays with the API (and its JSON 404).
var Routes = []string{"GET /{$}", "GET /ui/"}

// Mux is what the console registers itself with; api.Server satisfies it.
type Mux interface {
	Handle(pattern string, h http.Handler)
}

// Register serves the console on m at Routes.
func Register(m Mux) {
	h := Handler()
	for _, p := range Routes {
		m.Handle(p, h)
	}
}

// securityHeaders keep the console's pages from being framed or from loading anything that is
// not facilityd's own: a stored message can never run script (the pages also never insert
// server text as HTML).
var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
	"X-Content-Type-Options": "nosniff",
	"X-Frame-Options":        "DENY",
	"Referrer-Policy":        "no-referrer",
	// The assets change with the binary: revalidate each time, so an upgrade shows at once.
	"Cache-Control": "no-cache",
}

// Handler serves index.html at "/" and the files under assets/ui at "/ui/".
func Handler() http.Handler {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embed pattern guarantees the folder
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range securityHeaders {
			w.Header().Set(k, v)
		}
		clean := path.Clean(r.URL.Path)
		if clean == "/" {
			data, err := fs.ReadFile(sub, "index.html")
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write(data)
			return
		}
		if !strings.HasPrefix(clean, "/ui/") || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		if strings.HasSuffix(clean, ".js") {
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		}
		files.ServeHTTP(w, r)
	})
}
