package api

import "net/http"

// Session is GET /api/v1/session: who the caller's token belongs to, so a client such as the
// console can show only what its role may do (the server decides in the end). Open is true
// when no tokens are configured and everyone may do everything.
type Session struct {
	Open bool   `json:"open"`
	Name string `json:"name"`
	Role string `json:"role"`
}

// SessionHandler serves GET /api/v1/session. Any token may ask (the route needs role patrol),
// and a request without one gets the 401 that sends the console to its sign-in screen.
func (s *Server) SessionHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.auth.Open() {
			writeJSON(w, http.StatusOK, Session{Open: true, Role: RoleAdmin.String()})
			return
		}
		writeJSON(w, http.StatusOK, Session{Name: Caller(r.Context()), Role: CallerRole(r.Context()).String()})
	})
}
