package api

import (
	"errors"
	"net/http"

	"github.com/facilityd/facilityd/alarms/patrol"
)

// Patrol is what the patrol routes need of the patrol service (*patrol.Service).
type Patrol interface {
	Alerts(f patrol.Filter) []patrol.Alert
	Alert(id string) (patrol.Alert, bool)
	Claim(id, guard string) (patrol.Alert, error)
	Ack(id, by, note string) (patrol.Alert, error)
	Checklists() []patrol.Checklist
	CheckItem(item, by, note string) (patrol.Checklist, error)
}

// PatrolHandler serves /api/v1/patrol/...; the daemon registers it with
// Server.Handle("/api/v1/patrol/", PatrolHandler(p)).
func PatrolHandler(p Patrol) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/patrol/alerts", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		writeJSON(w, http.StatusOK, map[string]any{"alerts": p.Alerts(patrol.Filter{Zone: q.Get("zone"), State: q.Get("state"), Owner: q.Get("owner")})})
	})
	mux.HandleFunc("GET /api/v1/patrol/alerts/{id}", func(w http.ResponseWriter, r *http.Request) {
		a, ok := p.Alert(r.PathValue("id"))
		if !ok {
			writeError(w, http.StatusNotFound, "no patrol alert "+quote(r.PathValue("id"))+"; GET /api/v1/patrol/alerts lists them")
			return
		}
		writeJSON(w, http.StatusOK, a)
	})
	mux.HandleFunc("POST /api/v1/patrol/alerts/{id}/claim", func(w http.ResponseWriter, r *http.Request) {
		var body actBody
		if !readBody(w, r, &body) {
			return
		}
		a, err := p.Claim(r.PathValue("id"), body.By)
		respond(w, a, err)
	})
	mux.HandleFunc("POST /api/v1/patrol/alerts/{id}/ack", func(w http.ResponseWriter, r *http.Request) {
		var body actBody
		if !readBody(w, r, &body) {
			return
		}
		a, err := p.Ack(r.PathValue("id"), body.By, body.Note)
		respond(w, a, err)
	})
	mux.HandleFunc("GET /api/v1/patrol/checklist", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"checklists": p.Checklists()})
	})
	mux.HandleFunc("POST /api/v1/patrol/checklist/{item}/done", func(w http.ResponseWriter, r *http.Request) {
		var body actBody
		if !readBody(w, r, &body) {
			return
		}
		c, err := p.CheckItem(r.PathValue("item"), body.By, body.Note)
		respond(w, c, err)
	})
	mux.HandleFunc("/api/v1/patrol/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such route: "+r.Method+" "+r.URL.Path)
	})
	return mux
}

// actBody is the body of every patrol action: who acts, and an optional note.
type actBody struct {
	By   string `json:"by"`
	Note string `json:"note"`
}

// readBody decodes a small JSON body strictly (unknown fields are errors) and requires "by".
func readBody(w http.ResponseWriter, r *http.Request, v *actBody) bool {
	if err := decodeBody(w, r, v); err != nil {
		if errors.Is(err, errNoBody) {
			writeError(w, http.StatusBadRequest, `empty body: send {"by": "guard-id"}`)
			return false
		}
		writeError(w, bodyStatus(err), err.Error())
		return false
	}
	if v.By == "" {
		writeError(w, http.StatusBadRequest, `body: "by" is required: the id of the guard acting`)
		return false
	}
	return true
}

func respond(w http.ResponseWriter, v any, err error) {
	var claimed *patrol.ClaimedError
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, v)
	case errors.As(err, &claimed):
		writeJSON(w, http.StatusConflict, map[string]any{"error": err.Error(), "owner": claimed.Owner, "claimed_at": claimed.At})
	case errors.Is(err, patrol.ErrNotFound), errors.Is(err, patrol.ErrNoItem):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, patrol.ErrUnknownGuard):
		writeError(w, http.StatusUnprocessableEntity, err.Error())
	case errors.Is(err, patrol.ErrClosed):
		writeError(w, http.StatusConflict, err.Error())
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}
