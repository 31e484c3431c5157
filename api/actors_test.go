package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/facilityd/facilityd/devices/commands"
)

// fakeCommands records the writes it is asked for and answers each confirmed.
type fakeCommands struct {
	mu   sync.Mutex
	reqs []commands.Request
}

func (f *fakeCommands) Write(_ context.Context, req commands.Request) (commands.Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, req)
	return commands.Record{Device: req.Device, Point: req.Point, By: req.By, Reason: req.Reason, Result: commands.ResultConfirmed}, nil
}

func (f *fakeCommands) List(context.Context, string, int) ([]commands.Record, error) { return nil, nil }
func (f *fakeCommands) Writable(string) []commands.Writable                          { return nil }

func (f *fakeCommands) last() (commands.Request, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) == 0 {
		return commands.Request{}, 0
	}
	return f.reqs[len(f.reqs)-1], len(f.reqs)
}

// TestNoticesAndWritesActAsTheCaller: a notice to residents and a write to the plant follow the
// README's "Nobody acts in another's name": with tokens the token's holder is who acts (naming
// someone else is refused unless by an admin, who is kept beside the person named); open, the
// name must be one the configuration knows.
func TestNoticesAndWritesActAsTheCaller(t *testing.T) {
	t.Parallel()
	const write, notice = "/api/v1/devices/P-1/points/run", "/api/v1/notices"
	tests := []struct {
		name     string
		tokens   bool
		secret   string
		path     string
		body     string
		wantCode int
		wantBy   string
		wantNote string
	}{
		{name: "open write by an unknown name", path: write, body: `{"value": 1, "reason": "test", "by": "mallory"}`, wantCode: http.StatusForbidden},
		{name: "open write without a name", path: write, body: `{"value": 1, "reason": "test"}`, wantCode: http.StatusBadRequest},
		{name: "open write by an operator", path: write, body: `{"value": 1, "reason": "test", "by": "tech-chen"}`, wantCode: http.StatusOK, wantBy: "tech-chen"},
		{name: "open notice by an unknown name", path: notice, body: `{"interrupts": "power", "reason": "fault", "by": "Chief Executive"}`, wantCode: http.StatusForbidden},
		{name: "token notice naming someone else", tokens: true, secret: "e", path: notice,
			body: `{"interrupts": "power", "reason": "fault", "by": "Chief Executive"}`, wantCode: http.StatusForbidden},
		{name: "token notice without by", tokens: true, secret: "e", path: notice,
			body: `{"interrupts": "power", "reason": "fault"}`, wantCode: http.StatusCreated, wantBy: "eng-zhou"},
		{name: "admin notice for someone", tokens: true, secret: "a", path: notice,
			body: `{"interrupts": "water", "reason": "burst main", "by": "tech-chen"}`, wantCode: http.StatusCreated, wantBy: "boss", wantNote: "on_behalf_of tech-chen: burst main"},
		{name: "token write naming someone else", tokens: true, secret: "e", path: write,
			body: `{"value": 1, "reason": "test", "by": "mallory"}`, wantCode: http.StatusForbidden},
		{name: "token write", tokens: true, secret: "e", path: write,
			body: `{"value": 1, "reason": "test"}`, wantCode: http.StatusOK, wantBy: "eng-zhou"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _, _ := woServer(t)
			cmds := &fakeCommands{}
			RegisterCommands(s, cmds)
			s.UsePolicy(Policy{Actors: []string{"tech-chen", "butler-wang"}})
			if tc.tokens {
				s.UseAuth(NewAuth([]Token{mustToken(t, "eng-zhou", "engineer", "e"), mustToken(t, "boss", "admin", "a")}, false))
			}
			req := newTestRequest("POST", tc.path, strings.NewReader(tc.body))
			if tc.secret != "" {
				req.Header.Set("Authorization", "Bearer "+tc.secret)
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != tc.wantCode {
				t.Fatalf("%d %s, want %d", rec.Code, rec.Body, tc.wantCode)
			}
			got, n := cmds.last()
			if tc.path == write {
				if tc.wantBy == "" && n != 0 {
					t.Errorf("refused write reached the plant: %+v", got)
				}
				if tc.wantBy != "" && got.By != tc.wantBy {
					t.Errorf("write journalled by %q, want %q", got.By, tc.wantBy)
				}
				return
			}
			body := rec.Body.String()
			if tc.wantBy != "" && !strings.Contains(body, `"by": "`+tc.wantBy+`"`) {
				t.Errorf("notice stored as %s, want by %q", body, tc.wantBy)
			}
			if tc.wantNote != "" && !strings.Contains(body, tc.wantNote) {
				t.Errorf("notice %s does not keep %q", body, tc.wantNote)
			}
		})
	}
}
