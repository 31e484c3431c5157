// Package robotfake serves local stand-ins for the WeCom, DingTalk and Feishu robot webhooks,
// written from the vendors' published documentation, for any package's tests: each checks
// what the real service checks (method, path and credential, content type, JSON shape and
// message type, content size, signature and its one-hour validity, the robot's rate limit)
// and refuses the way the real one does, with HTTP 200 and the vendor's error code. They run
// on 127.0.0.1, are safe for concurrent use, and keep every accepted message for assertions.
//
// Where the documentation is silent the choice is ours and is said so beside the code.
package robotfake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Received is one message the fake accepted, as the group would show it.
type Received struct {
	MsgType  string         // text or markdown
	Body     map[string]any // the JSON body as posted
	Text     string         // the content shown: text.content, markdown.content/.text, content.text
	Title    string         // DingTalk markdown title (the notification preview)
	Mentions []string       // mobiles, then user ids, the message really @-mentions (see each New...)
	AtAll    bool           // the message @-mentions everyone
	At       time.Time      // the fake's clock when it was accepted
}

// Refusal is one request the fake refused, for tests of the refusing.
type Refusal struct {
	Status int    // HTTP status answered
	Code   int    // vendor code answered (0 for a bare HTTP error)
	Msg    string // vendor message answered
	At     time.Time
}

// refusal is what a check returns when the request must be refused.
type refusal struct {
	status int // 0 means 200 with the vendor's error body
	code   int
	msg    string
}

// vendor is what differs between the three services.
type vendor struct {
	kind      string
	url       func(s *Server) string                                   // the webhook URL with its credential
	auth      func(s *Server, r *http.Request, now time.Time) *refusal // path, credential, and signing in the query
	parse     func(s *Server, body []byte, now time.Time) (Received, *refusal)
	answer    func(code int, msg string) any // the vendor's JSON answer
	messages  map[int]string                 // errmsg for codes given to FailNext
	badType   *refusal                       // a body that is not JSON, or not sent as JSON
	rate      refusal                        // the answer when over the limit
	perMinute int
	perSecond int           // 0: no per-second limit
	block     time.Duration // DingTalk throttles for ten minutes once over the limit
}

// Server is one fake robot webhook.
type Server struct {
	v      vendor
	srv    *httptest.Server
	token  string // WeCom key, DingTalk access_token, Feishu hook token
	secret string

	mu        sync.Mutex
	now       func() time.Time
	perMinute int
	keywords  []string
	failNext  int
	failCode  int
	accepted  []time.Time // acceptance times inside the rate window
	blocked   time.Time   // DingTalk: throttled until
	messages  []Received
	refusals  []Refusal
	changed   chan struct{} // closed and replaced on each accepted message
}

func newServer(t testing.TB, v vendor, secret string) *Server {
	t.Helper()
	s := &Server{v: v, token: randomToken(), secret: secret, now: time.Now, perMinute: v.perMinute, changed: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve)) // httptest listens on 127.0.0.1
	t.Cleanup(s.srv.Close)
	return s
}

func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// URL is the full webhook URL, credential included, as the robot's settings page shows it.
func (s *Server) URL() string { return s.v.url(s) }

// Token is the robot's credential (WeCom key, DingTalk access_token, Feishu hook token), for
// tests that build a wrong URL from a right one.
func (s *Server) Token() string { return s.token }

// Secret is the signing secret the fake verifies with ("" if it does not check signatures).
func (s *Server) Secret() string { return s.secret }

// Kind is "wecom", "dingtalk" or "feishu", as robots.Robot.Kind says it.
func (s *Server) Kind() string { return s.v.kind }

// SetLimit sets the messages a minute the robot takes (default the vendor's: WeCom and
// DingTalk 20, Feishu 100, which also keeps its 5 a second).
func (s *Server) SetLimit(perMinute int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.perMinute = perMinute
}

// SetNow sets the fake's clock, for the rate window and the signature's validity.
func (s *Server) SetNow(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// SetKeywords sets the robot's 自定义关键词 security setting (DingTalk and Feishu): a message
// must contain one of them, or it is refused with the vendor's code.
func (s *Server) SetKeywords(words ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keywords = words
}

// FailNext answers the next n requests with the vendor error code (HTTP 200 and the vendor's
// body, as the vendors do), or with that HTTP status and no vendor body if code is 500-599.
func (s *Server) FailNext(n int, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext, s.failCode = n, code
}

// Messages is every message accepted so far, oldest first.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.messages...)
}

// Refusals is every request refused so far, oldest first.
func (s *Server) Refusals() []Refusal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Refusal(nil), s.refusals...)
}

// WaitFor waits until at least n messages were accepted and returns them, or fails t after
// timeout: for tests whose sender runs in another goroutine.
func (s *Server) WaitFor(t testing.TB, n int, timeout time.Duration) []Received {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, changed := len(s.messages), s.changed
		s.mu.Unlock()
		if got >= n {
			return s.Messages()
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("%s robot: %d messages after %v, want %d (refused: %+v)", s.v.kind, got, timeout, n, s.Refusals())
			return nil
		}
	}
}

// maxRequest bounds what the fake reads; every vendor's limit is well under it.
const maxRequest = 1 << 20

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxRequest))
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	msg, ref := s.handle(r, body, now)
	if ref != nil {
		s.refuse(w, *ref, now)
		return
	}
	msg.At = now
	s.accepted = append(s.accepted, now)
	s.messages = append(s.messages, msg)
	close(s.changed)
	s.changed = make(chan struct{})
	writeJSON(w, http.StatusOK, s.v.answer(0, "ok"))
}

// handle runs the checks in the order a request meets them and returns the message or why
// it is refused. Refused requests do not count toward the rate limit (our choice: the
// vendors do not say).
func (s *Server) handle(r *http.Request, body []byte, now time.Time) (Received, *refusal) {
	if s.failNext > 0 {
		s.failNext--
		if s.failCode >= 500 && s.failCode <= 599 { // vendor codes like 45009 are larger
			return Received{}, &refusal{status: s.failCode, msg: http.StatusText(s.failCode)}
		}
		return Received{}, &refusal{code: s.failCode, msg: s.v.messages[s.failCode]}
	}
	// Our choice for a wrong method or path: the plain HTTP answer of a web front end.
	// Paths are the vendor's auth check, since Feishu's credential is in its path.
	if r.Method != http.MethodPost {
		return Received{}, &refusal{status: http.StatusMethodNotAllowed, msg: "method not allowed"}
	}
	if ref := s.v.auth(s, r, now); ref != nil {
		return Received{}, ref
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return Received{}, s.v.badType
	}
	msg, ref := s.v.parse(s, body, now)
	if ref != nil {
		return Received{}, ref
	}
	if ref := s.limit(now); ref != nil {
		return Received{}, ref
	}
	return msg, nil
}

// limit keeps the robot's quota over a sliding minute (the vendors say "per minute" without
// saying whether the window slides; sliding is the stricter reading).
func (s *Server) limit(now time.Time) *refusal {
	if now.Before(s.blocked) {
		return &s.v.rate
	}
	kept := s.accepted[:0]
	lastSecond := 0
	for _, at := range s.accepted {
		if now.Sub(at) < time.Minute {
			kept = append(kept, at)
			if now.Sub(at) < time.Second {
				lastSecond++
			}
		}
	}
	s.accepted = kept
	over := s.perMinute > 0 && len(kept) >= s.perMinute
	if over && s.v.block > 0 {
		s.blocked = now.Add(s.v.block)
	}
	if over || (s.v.perSecond > 0 && lastSecond >= s.v.perSecond) {
		return &s.v.rate
	}
	return nil
}

func (s *Server) refuse(w http.ResponseWriter, ref refusal, now time.Time) {
	s.refusals = append(s.refusals, Refusal{Status: max(ref.status, http.StatusOK), Code: ref.code, Msg: ref.msg, At: now})
	if ref.status != 0 {
		http.Error(w, ref.msg, ref.status)
		return
	}
	writeJSON(w, http.StatusOK, s.v.answer(ref.code, ref.msg))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeObject decodes a JSON object body (numbers become float64, as encoding/json does).
func decodeObject(body []byte) (map[string]any, bool) {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return nil, false
	}
	return m, true
}

// str is m[key] if it is a string.
func str(m map[string]any, key string) (string, bool) {
	v, ok := m[key].(string)
	return v, ok
}

// obj is m[key] if it is an object.
func obj(m map[string]any, key string) (map[string]any, bool) {
	v, ok := m[key].(map[string]any)
	return v, ok
}

// notFound is the answer to a path the service does not serve (our choice: plain HTTP 404).
var notFound = &refusal{status: http.StatusNotFound, msg: "not found"}

// hasKeyword reports whether text passes the keyword setting (no keywords: everything does).
func (s *Server) hasKeyword(text string) bool {
	if len(s.keywords) == 0 {
		return true
	}
	for _, k := range s.keywords {
		if strings.Contains(text, k) {
			return true
		}
	}
	return false
}

// stringList is m[key] as a list of strings; ok is false if present and not one.
func stringList(m map[string]any, key string) ([]string, bool) {
	raw, present := m[key]
	if !present || raw == nil {
		return nil, true
	}
	list, isList := raw.([]any)
	if !isList {
		return nil, false
	}
	out := make([]string, 0, len(list))
	for _, v := range list {
		s, isStr := v.(string)
		if !isStr {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

func itoa(n int) string { return strconv.Itoa(n) }
