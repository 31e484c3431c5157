package simulators

import (
	"mime"
	"net"
	"net/http"
	"strings"
)

// Guard wraps the control API (Handler) with the checks facilityd's own API makes before
// anything else, since a fault injected here raises real alarms in a running demo (a fire
// alarm, an entrapment) and any web page the operator has open could otherwise send one:
//
//   - Host must be localhost, a loopback literal or the host of addr, the address served on (any
//     IP literal when addr is all interfaces), so a page that rebinds its DNS name to this
//     machine, which still sends its own name, is refused (403);
//   - a state-changing request (POST, DELETE) that a browser marks as from another site
//     (Sec-Fetch-Site, or an Origin that is not the host) is refused (403, Go's
//     http.CrossOriginProtection); curl and scripts send neither header and pass;
//   - a state-changing request must say Content-Type: application/json (415): a cross-site form
//     or no-preflight fetch cannot.
func Guard(h http.Handler, addr string) http.Handler {
	listen, _, err := net.SplitHostPort(addr)
	if err != nil {
		listen = addr
	}
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSONError(w, http.StatusForbidden, "cross-origin request refused: "+r.Method+" "+r.URL.Path+" must not come from a web page (Origin "+quoteHeader(r.Header.Get("Origin"))+")")
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hostAllowed(r.Host, listen) {
			writeJSONError(w, http.StatusForbidden, "host "+quoteHeader(r.Host)+" is not this simulator's: use its listen address, localhost or 127.0.0.1")
			return
		}
		if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions {
			h.ServeHTTP(w, r)
			return
		}
		if cop.Check(r) != nil {
			cop.Handler(nil).ServeHTTP(w, r) // the deny handler answers
			return
		}
		ct := r.Header.Get("Content-Type")
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			writeJSONError(w, http.StatusUnsupportedMediaType, r.Method+" "+r.URL.Path+": Content-Type "+quoteHeader(ct)+" is not application/json; send -H 'Content-Type: application/json'")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// hostAllowed: localhost, a loopback literal, the listen host, or any IP literal when listening
// on all interfaces (a DNS rebinding needs a name, never a literal).
func hostAllowed(hostport, listen string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	switch {
	case host == "":
		return false
	case strings.EqualFold(host, "localhost"):
		return true
	case listen != "" && strings.EqualFold(host, listen):
		return true
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	lip := net.ParseIP(listen)
	return ip.IsLoopback() || listen == "" || (lip != nil && (lip.IsUnspecified() || lip.Equal(ip)))
}

func quoteHeader(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }
