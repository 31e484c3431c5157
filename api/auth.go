package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
)

// Role is what a token may do; each role may do everything the roles below it may, except
// that customer service does not take the patrol's alarm actions (routes.go, guards).
type Role int

// The API roles, least trusted first. RoleOpen marks routes that need no token.
// RoleCustomerService is the desk (客服): it reads what patrol reads, raises residents'
// requests and records their answers and follow-ups, and never writes to the plant, which
// stays the engineer's.
const (
	RoleOpen Role = iota
	RolePatrol
	RoleCustomerService
	RoleEngineer
	RoleAdmin
)

func (r Role) String() string {
	switch r {
	case RoleOpen:
		return "open"
	case RolePatrol:
		return "patrol"
	case RoleCustomerService:
		return "customer_service"
	case RoleEngineer:
		return "engineer"
	case RoleAdmin:
		return "admin"
	}
	return fmt.Sprintf("role(%d)", int(r))
}

// Roles is a set of roles: who may call a route.
type Roles uint8

// AtLeast is r and every role above it on the ladder.
func AtLeast(r Role) Roles {
	var s Roles
	for x := r; x <= RoleAdmin; x++ {
		s |= 1 << x
	}
	return s
}

// Without is s less r.
func (s Roles) Without(r Role) Roles { return s &^ (1 << r) }

// Has reports whether r is one of s.
func (s Roles) Has(r Role) bool { return s&(1<<r) != 0 }

// Open reports whether a route of s needs no token.
func (s Roles) Open() bool { return s.Has(RoleOpen) }

// String names the roles of s: "patrol, engineer or admin".
func (s Roles) String() string {
	var names []string
	for r := RoleOpen; r <= RoleAdmin; r++ {
		if s.Has(r) {
			names = append(names, r.String())
		}
	}
	switch len(names) {
	case 0:
		return "none"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// ParseRole reads a role named in http.tokens[].role.
func ParseRole(s string) (Role, error) {
	for _, r := range []Role{RolePatrol, RoleCustomerService, RoleEngineer, RoleAdmin} {
		if r.String() == s {
			return r, nil
		}
	}
	return RoleOpen, fmt.Errorf("role %q is not one of patrol, customer_service, engineer, admin", s)
}

// Token is one configured API token, known by its SHA-256 only.
type Token struct {
	Name   string
	Role   Role
	SHA256 [sha256.Size]byte
}

// ParseToken builds a Token from its configured name, role and hex SHA-256.
func ParseToken(name, role, hexSHA256 string) (Token, error) {
	r, err := ParseRole(role)
	if err != nil {
		return Token{}, fmt.Errorf("token %q: %w", name, err)
	}
	b, err := hex.DecodeString(hexSHA256)
	if err != nil || len(b) != sha256.Size {
		return Token{}, fmt.Errorf("token %q: sha256 must be 64 hex digits", name)
	}
	t := Token{Name: name, Role: r}
	copy(t.SHA256[:], b)
	return t, nil
}

// HashToken is the hex SHA-256 of a token, as http.tokens[].sha256 holds it.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// Auth checks bearer tokens against the route table (routes). With no tokens it lets everything through:
// that is the open mode `facilityd demo` uses on loopback.
type Auth struct {
	tokens []Token
	table  *http.ServeMux
}

type roleHandler Roles

func (roleHandler) ServeHTTP(http.ResponseWriter, *http.Request) {}

// NewAuth builds the middleware; metricsOpen serves /metrics without a token.
func NewAuth(tokens []Token, metricsOpen bool) *Auth {
	a := &Auth{tokens: tokens, table: http.NewServeMux()}
	for _, r := range routes {
		roles := r.Roles
		if r.Pattern == "GET /metrics" && metricsOpen {
			roles = anyone
		}
		a.table.Handle(r.Pattern, roleHandler(roles))
	}
	return a
}

// Open reports whether the API runs without tokens.
func (a *Auth) Open() bool { return a == nil || len(a.tokens) == 0 }

// Required is the roles that may make r.
func (a *Auth) Required(r *http.Request) Roles {
	if rest, ok := strings.CutPrefix(r.URL.Path, "/api/v1/alarms/"); ok && r.Method == http.MethodPost {
		action := rest[strings.LastIndexByte(rest, '/')+1:]
		if roles, ok := alarmActionRoles[action]; ok {
			return roles
		}
		return admins
	}
	if rest, ok := strings.CutPrefix(r.URL.Path, "/api/v1/workorders/"); ok && r.Method == http.MethodPost && strings.Count(rest, "/") == 1 {
		return WorkOrderActionRoles(rest[strings.IndexByte(rest, '/')+1:])
	}
	h, _ := a.table.Handler(r)
	if roles, ok := h.(roleHandler); ok {
		return Roles(roles)
	}
	return admins
}

type callerKey struct{}

type callerRoleKey struct{}

// CallerRole returns the role of the token that made the request (RoleOpen when the API is
// open), so a client can be told what it may do (GET /api/v1/session).
func CallerRole(ctx context.Context) Role {
	role, _ := ctx.Value(callerRoleKey{}).(Role)
	return role
}

// Caller returns the name of the token that made the request ("" when the API is open), so
// handlers can journal who acknowledged or claimed what.
func Caller(ctx context.Context) string {
	name, _ := ctx.Value(callerKey{}).(string)
	return name
}

// Wrap guards next: 401 for a missing or unknown token, 403 for a role too low, both as JSON.
func (a *Auth) Wrap(next http.Handler) http.Handler {
	if a.Open() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		need := a.Required(r)
		if need.Open() {
			next.ServeHTTP(w, r)
			return
		}
		tok, ok := bearer(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="facilityd"`)
			writeError(w, http.StatusUnauthorized, "missing token: send Authorization: Bearer TOKEN")
			return
		}
		t, ok := a.find(tok)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="facilityd", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "unknown token")
			return
		}
		if !need.Has(t.Role) {
			writeError(w, http.StatusForbidden, fmt.Sprintf("%s %s needs role %s; token %q has role %s", r.Method, r.URL.Path, need, t.Name, t.Role))
			return
		}
		ctx := context.WithValue(context.WithValue(r.Context(), callerKey{}, t.Name), callerRoleKey{}, t.Role)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// find compares the token's hash with every configured one in constant time, so the time taken
// says nothing about which hash came close.
func (a *Auth) find(tok string) (Token, bool) {
	sum := sha256.Sum256([]byte(tok))
	var found Token
	hit := 0
	for _, t := range a.tokens {
		if subtle.ConstantTimeCompare(sum[:], t.SHA256[:]) == 1 {
			found = t
			hit = 1
		}
	}
	return found, hit == 1
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", false
	}
	return strings.TrimSpace(tok), true
}
