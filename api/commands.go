package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/facilityd/facilityd/devices/commands"
)

// Commands is what the write routes need; devices/commands.Service is one.
type Commands interface {
	Write(ctx context.Context, req commands.Request) (commands.Record, error)
	List(ctx context.Context, device string, limit int) ([]commands.Record, error)
	// Writable lists a device's points a write may go to, for GET /api/v1/devices/{id}.
	Writable(device string) []commands.Writable
}

// WriteRequest is the body of POST /api/v1/devices/{id}/points/{point}. By is settled as for
// every action (see actor): the caller's token where tokens are configured, else a known name.
type WriteRequest struct {
	Value  json.RawMessage `json:"value"`
	Reason string          `json:"reason"`
	By     string          `json:"by"`
}

// RegisterCommands serves writes to the plant and their journal:
//
//	POST /api/v1/devices/{id}/points/{point}  write, wait for the read-back, answer the record
//	GET  /api/v1/commands?device=ID&limit=N    the journal, newest first
//
// A write that went out answers 200 with its record whatever its result (confirmed,
// mismatch, unconfirmed), except failed, which answers 502 with the record: the plant, not
// the request, is at fault.
//
// GET /api/v1/devices/{id} then lists the device's writable points ("writable"), so that a
// client offers controls for those only.
func RegisterCommands(s *Server, c Commands) {
	s.commands = c
	s.Handle("POST /api/v1/devices/{id}/points/{point}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body WriteRequest
		if err := decodeBody(w, r, &body); err != nil {
			writeError(w, bodyStatus(err), err.Error())
			return
		}
		// Who writes to the plant is settled as for every other action: the token's name, or
		// in open mode a name the configuration knows.
		if !settleActor(w, r, &body.By, &body.Reason) {
			return
		}
		rec, err := c.Write(r.Context(), commands.Request{
			Device: r.PathValue("id"), Point: r.PathValue("point"), Value: body.Value, Reason: body.Reason, By: body.By,
		})
		if err != nil {
			writeError(w, commandStatus(err), err.Error())
			return
		}
		status := http.StatusOK
		if rec.Result == commands.ResultFailed {
			status = http.StatusBadGateway
		}
		writeJSON(w, status, rec)
	}))
	s.Handle("GET /api/v1/commands", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := 100
		if v := r.URL.Query().Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 10000 {
				writeError(w, http.StatusBadRequest, "limit: "+quote(v)+" is not a number 1-10000")
				return
			}
			limit = n
		}
		list, err := c.List(r.Context(), r.URL.Query().Get("device"), limit)
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		if list == nil {
			list = []commands.Record{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"commands": list})
	}))
}

func commandStatus(err error) int {
	switch {
	case errors.Is(err, commands.ErrUnknownDevice), errors.Is(err, commands.ErrUnknownPoint):
		return http.StatusNotFound
	case errors.Is(err, commands.ErrDenied):
		return http.StatusForbidden
	case errors.Is(err, commands.ErrNotWritable):
		return http.StatusConflict
	case errors.Is(err, commands.ErrValue):
		return http.StatusUnprocessableEntity
	case errors.Is(err, commands.ErrRequest):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}
