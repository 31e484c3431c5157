package api

import (
	"context"
	"fmt"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"
)

// Policy is what the server checks before any handler runs, besides tokens: which names it
// answers to, who may act in open mode, and how many event streams it holds.
type Policy struct {
	// Hosts are further names the API answers to (http.hosts); honoured only with tokens.
	Hosts []string
	// Actors may act ("by") when the API is open; with tokens the token's name acts.
	Actors []string
	// MaxStreams bounds the event-stream clients at once (0: DefaultMaxStreams).
	MaxStreams int
}

// DefaultMaxStreams is http.max_streams unless configured: a console per desk and a few
// dashboards, far below what would exhaust file descriptors or memory.
const DefaultMaxStreams = 64

// WriteTimeout bounds the writing of every response but a stream's; StreamWriteTimeout bounds
// each event of a stream, so a client that stops reading frees its handler within it.
// LongWriteTimeout bounds the few responses that take minutes by design (a CPU profile).
const (
	WriteTimeout       = 30 * time.Second
	StreamWriteTimeout = 10 * time.Second
	LongWriteTimeout   = 5 * time.Minute
)

// UsePolicy sets the checks of p. Call it before serving.
func (s *Server) UsePolicy(p Policy) {
	if p.MaxStreams <= 0 {
		p.MaxStreams = DefaultMaxStreams
	}
	s.policy = p
	s.actors = map[string]bool{}
	for _, a := range p.Actors {
		s.actors[a] = true
	}
	s.handler = nil
}

// crossOrigin refuses a state-changing request that a browser says comes from another site
// (Sec-Fetch-Site), or whose Origin is not the host it was sent to. Requests without either
// header (curl, the CLI) are not from a browser page and pass.
var crossOrigin = func() *http.CrossOriginProtection {
	c := http.NewCrossOriginProtection()
	c.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusForbidden, "cross-origin request refused: "+r.Method+" "+r.URL.Path+" must come from facilityd's own console (Origin "+quote(r.Header.Get("Origin"))+")")
	}))
	return c
}()

// guard runs the checks that come before tokens: the Host, the origin of a state-changing
// request and its content type. Each refusal says what to fix.
func (s *Server) guard(w http.ResponseWriter, r *http.Request) bool {
	if !s.hostAllowed(r.Host) {
		writeError(w, http.StatusForbidden, "host "+quote(r.Host)+" is not this facilityd's: use its listen address, localhost or 127.0.0.1 (with tokens, add the name to http.hosts)")
		return false
	}
	if safeMethod(r.Method) {
		return true
	}
	if err := crossOrigin.Check(r); err != nil {
		crossOrigin.Handler(nil).ServeHTTP(w, r) // the deny handler answers
		return false
	}
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, r.Method+" "+r.URL.Path+": Content-Type "+quote(ct)+" is not application/json; send the body as JSON")
		return false
	}
	return true
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// hostAllowed is the DNS-rebinding defence: a page whose name resolves to the gateway still
// sends its own name in Host. Loopback names and literals, the listen address, any IP literal
// when listening on all addresses (a rebinding needs a name), and with tokens http.hosts.
func (s *Server) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if host == "" {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	if ip != nil && ip.IsLoopback() {
		return true
	}
	listen := s.listenHost
	if lip := net.ParseIP(listen); ip != nil && lip != nil && (lip.IsUnspecified() || lip.Equal(ip)) {
		return true
	}
	if listen != "" && strings.EqualFold(host, listen) {
		return true
	}
	if !s.auth.Open() {
		for _, h := range s.policy.Hosts {
			if strings.EqualFold(host, h) {
				return true
			}
		}
	}
	return false
}

type actorsKey struct{}

// actorCheck is what the server tells handlers about who may act.
type actorCheck struct {
	open   bool
	actors map[string]bool
}

func (s *Server) withActors(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), actorsKey{}, actorCheck{open: s.auth.Open(), actors: s.actors}))
}

// ActorError refuses a "by" that the caller may not use.
type ActorError struct{ msg string }

func (e *ActorError) Error() string { return e.msg }

// Actor is who acts, as journalled: By did it, on behalf of OnBehalfOf when an admin acted
// for someone else.
type Actor struct {
	By         string
	OnBehalfOf string
}

// actor decides who acts on a request that names named in its body. With tokens the token's
// name acts: a body naming someone else is refused unless the token is an admin's, and then
// both are kept. Open, the name must be one the configuration knows (Policy.Actors).
func actor(r *http.Request, named string) (Actor, int, error) {
	named = strings.TrimSpace(named)
	if caller := Caller(r.Context()); caller != "" {
		switch {
		case named == "" || named == caller:
			return Actor{By: caller}, 0, nil
		case CallerRole(r.Context()) >= RoleAdmin:
			return Actor{By: caller, OnBehalfOf: named}, 0, nil
		}
		return Actor{}, http.StatusForbidden, &ActorError{fmt.Sprintf(`"by": token %q acts as itself; it may not name %q (only an admin token acts on behalf of someone)`, caller, named)}
	}
	if named == "" {
		return Actor{}, http.StatusBadRequest, &ActorError{`"by" is required: who acts`}
	}
	chk, _ := r.Context().Value(actorsKey{}).(actorCheck)
	if chk.actors != nil && !chk.actors[named] {
		return Actor{}, http.StatusForbidden, &ActorError{fmt.Sprintf(`"by": %q is not a patrol guard id, a work-order butler or supervisor, or in http.operators`, named)}
	}
	return Actor{By: named}, 0, nil
}
