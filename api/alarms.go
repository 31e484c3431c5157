package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/facilityd/facilityd/alarms"
)

// Alarms is what the API needs of the alarm engine; *alarms.Engine satisfies it.
type Alarms interface {
	List(alarms.Filter) []alarms.Alarm
	Get(id string) (alarms.Alarm, error)
	History(ctx context.Context, id string, limit int) ([]alarms.Event, error)
	Ack(id, by, note string) error
	Shelve(id, by, reason string, d time.Duration, oneShot bool) error
	Unshelve(id, by, reason string) error
}

// ServeAlarms adds the alarm routes. Alarm ids hold slashes (FP-1/fire_zone_alarm/03), so the
// id is the rest of the path; an action is its last segment.
func (s *Server) ServeAlarms(a Alarms) {
	h := &alarmHandlers{a: a}
	s.Handle("GET /api/v1/alarms", http.HandlerFunc(h.list))
	s.Handle("GET /api/v1/alarms/{id...}", http.HandlerFunc(h.get))
	s.Handle("POST /api/v1/alarms/{id...}", http.HandlerFunc(h.act))
}

// ServeEvents adds GET /api/v1/events, the server-sent-event stream of the hub.
func (s *Server) ServeEvents(h *Hub) { s.Handle("GET /api/v1/events", h) }

type alarmHandlers struct{ a Alarms }

// AlarmList is GET /api/v1/alarms.
type AlarmList struct {
	Alarms []alarms.Alarm `json:"alarms"`
}

// AlarmDetail is GET /api/v1/alarms/{id}: the alarm and its journal history.
type AlarmDetail struct {
	alarms.Alarm
	History []alarms.Event `json:"history"`
}

func (h *alarmHandlers) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := alarms.Filter{
		State: alarms.State(strings.ToUpper(q.Get("state"))), Priority: alarms.Priority(q.Get("priority")),
		Class: alarms.Class(q.Get("class")), Device: q.Get("device"), Zone: q.Get("zone"),
	}
	for key := range q {
		switch key {
		case "state", "priority", "class", "device", "zone", "active", "shelved", "all":
		default:
			writeError(w, http.StatusBadRequest, "unknown filter "+quote(key)+"; filters are state, priority, class, device, zone, active, shelved, all")
			return
		}
	}
	switch f.State {
	case "", alarms.StateNormal, alarms.StateUnacknowledged, alarms.StateAcknowledged, alarms.StateReturnedUnack:
	default:
		writeError(w, http.StatusBadRequest, "state: "+quote(q.Get("state"))+" is not one of NORM, UNACK, ACKED, RTNUN")
		return
	}
	if f.Priority != "" && f.Priority.Rank() > 3 {
		writeError(w, http.StatusBadRequest, "priority: "+quote(q.Get("priority"))+" is not one of critical, high, medium, low")
		return
	}
	for _, b := range []struct {
		key string
		dst **bool
	}{{"active", &f.Active}, {"shelved", &f.Shelved}} {
		if v := q.Get(b.key); v != "" {
			x, err := strconv.ParseBool(v)
			if err != nil {
				writeError(w, http.StatusBadRequest, b.key+": "+quote(v)+" is not true or false")
				return
			}
			*b.dst = &x
		}
	}
	if v := q.Get("all"); v != "" {
		f.All, _ = strconv.ParseBool(v)
	}
	list := h.a.List(f)
	if list == nil {
		list = []alarms.Alarm{}
	}
	writeJSON(w, http.StatusOK, AlarmList{Alarms: list})
}

func (h *alarmHandlers) get(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	a, err := h.a.Get(id)
	if err != nil {
		writeAlarmError(w, err)
		return
	}
	hist, err := h.a.History(r.Context(), id, 100)
	if err != nil {
		writeAlarmError(w, err)
		return
	}
	if hist == nil {
		hist = []alarms.Event{}
	}
	writeJSON(w, http.StatusOK, AlarmDetail{Alarm: a, History: hist})
}

// ActionRequest is the body of POST /api/v1/alarms/{id}/ack, /shelve and /unshelve.
type ActionRequest struct {
	By       string `json:"by"`
	Note     string `json:"note,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Duration string `json:"duration,omitempty"`
	OneShot  bool   `json:"one_shot,omitempty"`
}

func (h *alarmHandlers) act(w http.ResponseWriter, r *http.Request) {
	rest := r.PathValue("id")
	i := strings.LastIndex(rest, "/")
	if i < 0 {
		writeError(w, http.StatusNotFound, "no such route: POST "+r.URL.Path+"; actions are /ack, /shelve, /unshelve")
		return
	}
	id, action := rest[:i], rest[i+1:]
	switch action {
	case "ack", "shelve", "unshelve":
	default:
		writeError(w, http.StatusNotFound, "no such action "+quote(action)+"; actions are ack, shelve, unshelve")
		return
	}
	var req ActionRequest
	if err := decodeBody(w, r, &req); err != nil {
		writeError(w, bodyStatus(err), err.Error())
		return
	}
	who, status, err := actor(r, req.By)
	if err != nil {
		writeError(w, status, err.Error())
		return
	}
	req.By = who.By
	givenReason := req.Reason
	if who.OnBehalfOf != "" && action == "ack" {
		req.Note = behalf(who.OnBehalfOf, req.Note)
	} else if who.OnBehalfOf != "" {
		req.Reason = behalf(who.OnBehalfOf, req.Reason)
	}
	switch action {
	case "ack":
		if req.Reason != "" || req.Duration != "" || req.OneShot {
			writeError(w, http.StatusBadRequest, `ack takes "by" and "note" only`)
			return
		}
		err = h.a.Ack(id, req.By, req.Note)
	case "shelve":
		if strings.TrimSpace(givenReason) == "" {
			writeError(w, http.StatusBadRequest, `"reason" is required to shelve an alarm`)
			return
		}
		var d time.Duration
		if req.Duration != "" {
			if d, err = time.ParseDuration(req.Duration); err != nil {
				writeError(w, http.StatusBadRequest, `"duration": `+quote(req.Duration)+` is not a duration (e.g. 30m, 2h)`)
				return
			}
		} else if !req.OneShot {
			writeError(w, http.StatusBadRequest, `"duration" is required unless "one_shot" is true`)
			return
		}
		err = h.a.Shelve(id, req.By, req.Reason, d, req.OneShot)
	case "unshelve":
		err = h.a.Unshelve(id, req.By, req.Reason)
	}
	if err != nil {
		writeAlarmError(w, err)
		return
	}
	a, err := h.a.Get(id)
	if err != nil {
		writeAlarmError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func writeAlarmError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, alarms.ErrUnknownAlarm):
		status = http.StatusNotFound
	case errors.Is(err, alarms.ErrNotAllowed):
		status = http.StatusConflict
	case errors.Is(err, alarms.ErrInvalid):
		status = http.StatusBadRequest
	}
	writeError(w, status, err.Error())
}

// behalf marks a journal note as written on behalf of someone: the token's name is the
// journal's "by", the person named in the body is kept here.
func behalf(onBehalfOf, note string) string {
	if onBehalfOf == "" {
		return note
	}
	if note == "" {
		return "on_behalf_of " + onBehalfOf
	}
	return "on_behalf_of " + onBehalfOf + ": " + note
}
