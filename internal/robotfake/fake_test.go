package robotfake

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/internal/testutil"
)

// answer is a vendor's reply as a client sees it.
type answer struct {
	status int
	code   int
	msg    string
}

func post(t *testing.T, target, contentType, body string) answer {
	t.Helper()
	resp, err := http.Post(target, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var a struct {
		ErrCode *int   `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
		Code    *int   `json:"code"`
		Msg     string `json:"msg"`
	}
	_ = json.Unmarshal(raw, &a)
	out := answer{status: resp.StatusCode, code: -999}
	switch {
	case a.ErrCode != nil:
		out.code, out.msg = *a.ErrCode, a.ErrMsg
	case a.Code != nil:
		out.code, out.msg = *a.Code, a.Msg
	}
	return out
}

var t0 = time.Date(2026, 12, 2, 2, 30, 0, 0, time.UTC)

// signDingTalk is the documented recipe, written once more here for the fake's own tests.
func signDingTalk(secret string, ts time.Time) (timestamp, sign string) {
	timestamp = strconv.FormatInt(ts.UnixMilli(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp + "\n" + secret))
	return timestamp, url.QueryEscape(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
}

func signFeishu(secret string, ts time.Time) (timestamp, sign string) {
	timestamp = strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(timestamp+"\n"+secret))
	return timestamp, base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

const wecomText = `{"msgtype":"text","text":{"content":"P1 B2 pump pit flooded","mentioned_mobile_list":["13800000001"],"mentioned_list":["zhang","@all"]}}`

func TestWeComChecks(t *testing.T) {
	t.Parallel()
	s := NewWeCom(t)
	long := strings.Repeat("水", 683) // 2049 bytes
	tests := []struct {
		name   string
		url    string
		ctype  string
		body   string
		status int
		code   int
	}{
		{"accepted", s.URL(), "application/json", wecomText, 200, 0},
		{"charset parameter is fine", s.URL(), "application/json; charset=utf-8", wecomText, 200, 0},
		{"wrong key", strings.Replace(s.URL(), s.Token(), "0000", 1), "application/json", wecomText, 200, 93000},
		{"no key", strings.Split(s.URL(), "?")[0], "application/json", wecomText, 200, 93000},
		{"wrong path", strings.Replace(s.URL(), "/send", "/sned", 1), "application/json", wecomText, 404, -999},
		{"form body", s.URL(), "application/x-www-form-urlencoded", wecomText, 200, 40035},
		{"not JSON", s.URL(), "application/json", `{"msgtype":`, 200, 40035},
		{"unknown msgtype", s.URL(), "application/json", `{"msgtype":"voice","voice":{"content":"x"}}`, 200, 40008},
		{"empty text", s.URL(), "application/json", `{"msgtype":"text","text":{"content":""}}`, 200, 44004},
		{"text over 2048 bytes", s.URL(), "application/json", `{"msgtype":"text","text":{"content":"` + long + `"}}`, 200, 40058},
		{"markdown 2049 bytes is fine", s.URL(), "application/json", `{"msgtype":"markdown","markdown":{"content":"` + long + `"}}`, 200, 0},
		{"markdown over 4096 bytes", s.URL(), "application/json", `{"msgtype":"markdown","markdown":{"content":"` + long + long + `"}}`, 200, 40058},
		{"mentions not a list", s.URL(), "application/json", `{"msgtype":"text","text":{"content":"x","mentioned_list":"zhang"}}`, 200, 40035},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := post(t, tt.url, tt.ctype, tt.body)
			if got.status != tt.status || got.code != tt.code {
				t.Errorf("answer %+v, want status %d code %d", got, tt.status, tt.code)
			}
		})
	}
	msgs := s.Messages()
	if len(msgs) != 3 {
		t.Fatalf("%d messages kept, want the 3 accepted", len(msgs))
	}
	if m := msgs[0]; m.Text != "P1 B2 pump pit flooded" || !m.AtAll || !slices.Equal(m.Mentions, []string{"13800000001", "zhang"}) {
		t.Errorf("first message read as %+v", m)
	}
}

func TestWeComGET(t *testing.T) {
	t.Parallel()
	s := NewWeCom(t)
	resp, err := http.Get(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || len(s.Messages()) != 0 {
		t.Errorf("GET answered %d and kept %d messages", resp.StatusCode, len(s.Messages()))
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fake  func(t testing.TB) *Server
		body  string
		code  int
		taken time.Duration // after t0, when a message is taken again
	}{
		// The first message leaves the sliding minute at t0+60s.
		{"wecom 20 a minute, 45009", NewWeCom, wecomText, 45009, time.Minute},
		// The 21st, at t0+40s, blocks the robot for ten minutes.
		{"dingtalk 20 a minute, 130101, then blocked ten minutes", func(t testing.TB) *Server { return NewDingTalk(t, "") },
			`{"msgtype":"text","text":{"content":"P1 fire zone 3"}}`, 130101, 40*time.Second + 10*time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.fake(t)
			c := testutil.NewClock(t0)
			s.SetNow(c.Now)
			var codes []int
			for range 21 {
				codes = append(codes, post(t, s.URL(), "application/json", tt.body).code)
				c.Step(2 * time.Second) // 21 messages in 42 s
			}
			if n := len(s.Messages()); n != 20 || codes[20] != tt.code || slices.Contains(codes[:20], tt.code) {
				t.Fatalf("kept %d, codes %v: want 20 kept and the 21st refused with %d", n, codes, tt.code)
			}
			c.Step(tt.taken - time.Second - 42*time.Second)
			if got := post(t, s.URL(), "application/json", tt.body).code; got != tt.code {
				t.Errorf("at t0+%v, code %d, want still %d", tt.taken-time.Second, got, tt.code)
			}
			c.Step(time.Second)
			if got := post(t, s.URL(), "application/json", tt.body).code; got != 0 {
				t.Errorf("at t0+%v, code %d, want the message taken", tt.taken, got)
			}
		})
	}
}

func TestFeishuRateLimit(t *testing.T) {
	t.Parallel()
	s := NewFeishu(t, "")
	c := testutil.NewClock(t0)
	s.SetNow(c.Now)
	body := `{"msg_type":"text","content":{"text":"P2 lift L3 fault"}}`
	var refused int
	for range 6 { // six in one second: the sixth is over 5/s
		if post(t, s.URL(), "application/json", body).code == 9499 {
			refused++
		}
	}
	if refused != 1 {
		t.Errorf("6 in a second: %d refused, want 1", refused)
	}
	refused = 0
	for range 96 { // 5 + 96 = 101 taken in a minute at 0.5 s apart: the 101st is refused
		c.Step(500 * time.Millisecond)
		if post(t, s.URL(), "application/json", body).code == 9499 {
			refused++
		}
	}
	if n := len(s.Messages()); n != 100 || refused != 1 {
		t.Errorf("kept %d and refused %d, want 100 kept and 1 refused", n, refused)
	}
}

func TestSetLimit(t *testing.T) {
	t.Parallel()
	s := NewWeCom(t)
	s.SetLimit(2)
	var codes []int
	for range 3 {
		codes = append(codes, post(t, s.URL(), "application/json", wecomText).code)
	}
	if !slices.Equal(codes, []int{0, 0, 45009}) {
		t.Errorf("codes %v with a limit of 2", codes)
	}
}

func TestFailNext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		fake *Server
		body string
		code int
		want answer
	}{
		{"wecom vendor code", NewWeCom(t), wecomText, 45009, answer{200, 45009, "api freq out of limit"}},
		{"dingtalk vendor code", NewDingTalk(t, ""), `{"msgtype":"text","text":{"content":"x"}}`, 130101, answer{200, 130101, "send too fast, exceed 20 times per minute"}},
		{"feishu vendor code", NewFeishu(t, ""), `{"msg_type":"text","content":{"text":"x"}}`, 11232, answer{200, 11232, "frequency limited"}},
		{"HTTP status", NewWeCom(t), wecomText, 503, answer{503, -999, ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fake.FailNext(2, tt.code)
			for i := range 2 {
				if got := post(t, tt.fake.URL(), "application/json", tt.body); got != tt.want {
					t.Errorf("request %d: %+v, want %+v", i, got, tt.want)
				}
			}
			if got := post(t, tt.fake.URL(), "application/json", tt.body); got.status != 200 || got.code != 0 {
				t.Errorf("third request %+v, want accepted", got)
			}
			if n, r := len(tt.fake.Messages()), len(tt.fake.Refusals()); n != 1 || r != 2 {
				t.Errorf("%d kept, %d refused; want 1 and 2", n, r)
			}
		})
	}
}

func TestDingTalkSignature(t *testing.T) {
	t.Parallel()
	const secret = "SEC0123456789abcdef"
	s := NewDingTalk(t, secret)
	s.SetNow(func() time.Time { return t0 })
	body := `{"msgtype":"text","text":{"content":"P1 fire zone 3 @13800000001"},"at":{"atMobiles":["13800000001","13900000002"]}}`
	signed := func(ts time.Time, secret string) string {
		timestamp, sign := signDingTalk(secret, ts)
		return s.URL() + "&timestamp=" + timestamp + "&sign=" + sign
	}
	// A "+" is what an unencoded sign loses (the query turns it into a space); "/" and "="
	// pass either way. Find a moment near t0 whose sign has one.
	plusAt := t0
	for !strings.Contains(func() string { _, s := signDingTalk(secret, plusAt); return s }(), "%2B") {
		plusAt = plusAt.Add(time.Millisecond)
	}
	timestamp, sign := signDingTalk(secret, plusAt)
	tests := []struct {
		name   string
		target string
		code   int
	}{
		{"signed now", signed(t0, secret), 0},
		{"signed 59 minutes ago", signed(t0.Add(-59*time.Minute), secret), 0},
		{"signed 61 minutes ago", signed(t0.Add(-61*time.Minute), secret), 310000},
		{"signed 61 minutes ahead", signed(t0.Add(61*time.Minute), secret), 310000},
		{"wrong secret", signed(t0, "SECwrong"), 310000},
		{"unsigned", s.URL(), 310000},
		{"sign not URL-encoded", s.URL() + "&timestamp=" + timestamp + "&sign=" + mustUnescape(t, sign), 310000},
		{"timestamp in seconds", s.URL() + "&timestamp=" + strconv.FormatInt(plusAt.Unix(), 10) + "&sign=" + sign, 310000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := post(t, tt.target, "application/json", body); got.code != tt.code {
				t.Errorf("code %d %q, want %d", got.code, got.msg, tt.code)
			}
		})
	}
	m := s.Messages()
	if len(m) != 2 || !slices.Equal(m[0].Mentions, []string{"13800000001"}) {
		t.Errorf("messages %+v: want 2, mentioning only the mobile written in the content", m)
	}
}

func mustUnescape(t *testing.T, s string) string {
	u, err := url.QueryUnescape(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestFeishuSignature(t *testing.T) {
	t.Parallel()
	const secret = "feishu-secret"
	s := NewFeishu(t, secret)
	s.SetNow(func() time.Time { return t0 })
	body := func(ts time.Time, secret string, numeric bool) string {
		timestamp, sign := signFeishu(secret, ts)
		if !numeric {
			timestamp = strconv.Quote(timestamp)
		}
		return `{"timestamp":` + timestamp + `,"sign":"` + sign + `","msg_type":"text","content":{"text":"P1 <at user_id=\"all\">所有人</at> <at user_id=\"ou_1\"></at>"}}`
	}
	// DingTalk's recipe (key=secret) must not pass Feishu's check.
	dingTS, dingSign := signDingTalk(secret, t0)
	dingSign = mustUnescape(t, dingSign)
	_ = dingTS
	swapped := `{"timestamp":"` + strconv.FormatInt(t0.Unix(), 10) + `","sign":"` + dingSign + `","msg_type":"text","content":{"text":"x"}}`
	tests := []struct {
		name string
		body string
		code int
	}{
		{"signed now", body(t0, secret, false), 0},
		{"numeric timestamp", body(t0, secret, true), 0},
		{"signed 61 minutes ago", body(t0.Add(-61*time.Minute), secret, false), 19021},
		{"wrong secret", body(t0, "other", false), 19021},
		{"key and message swapped", swapped, 19021},
		{"unsigned", `{"msg_type":"text","content":{"text":"x"}}`, 19021},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := post(t, s.URL(), "application/json", tt.body); got.code != tt.code {
				t.Errorf("code %d %q, want %d", got.code, got.msg, tt.code)
			}
		})
	}
	m := s.Messages()
	if len(m) != 2 || !m[0].AtAll || !slices.Equal(m[0].Mentions, []string{"ou_1"}) {
		t.Errorf("messages %+v: want 2, at all and ou_1", m)
	}
}

func TestFeishuChecks(t *testing.T) {
	t.Parallel()
	s := NewFeishu(t, "")
	ok := `{"msg_type":"text","content":{"text":"P2 lift L3 fault"}}`
	big := `{"msg_type":"text","content":{"text":"` + strings.Repeat("x", 20000) + `"}}`
	tests := []struct {
		name   string
		url    string
		body   string
		status int
		code   int
	}{
		{"accepted", s.URL(), ok, 200, 0},
		{"wrong token", strings.Replace(s.URL(), s.Token(), "abc", 1), ok, 200, 19001},
		{"wrong path", strings.Replace(s.URL(), "/v2/", "/v1/", 1), ok, 404, -999},
		{"body over 20000 bytes", s.URL(), big, 200, 9499},
		{"unknown msg_type", s.URL(), `{"msg_type":"voice","content":{"text":"x"}}`, 200, 9499},
		{"no text", s.URL(), `{"msg_type":"text","content":{}}`, 200, 9499},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := post(t, tt.url, "application/json", tt.body); got.status != tt.status || got.code != tt.code {
				t.Errorf("answer %+v, want %d/%d", got, tt.status, tt.code)
			}
		})
	}
}

func TestKeywords(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		fake    *Server
		with    string
		without string
		code    int
	}{
		{"dingtalk", NewDingTalk(t, ""), `{"msgtype":"text","text":{"content":"告警 P1"}}`, `{"msgtype":"text","text":{"content":"P1"}}`, 310000},
		{"feishu", NewFeishu(t, ""), `{"msg_type":"text","content":{"text":"告警 P1"}}`, `{"msg_type":"text","content":{"text":"P1"}}`, 19024},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fake.SetKeywords("告警")
			if got := post(t, tt.fake.URL(), "application/json", tt.with); got.code != 0 {
				t.Errorf("with keyword: %+v", got)
			}
			if got := post(t, tt.fake.URL(), "application/json", tt.without); got.code != tt.code {
				t.Errorf("without keyword: %+v, want %d", got, tt.code)
			}
		})
	}
}

func TestWaitFor(t *testing.T) {
	t.Parallel()
	s := NewWeCom(t)
	go func() {
		for range 3 {
			resp, err := http.Post(s.URL(), "application/json", bytes.NewReader([]byte(wecomText)))
			if err == nil {
				resp.Body.Close()
			}
		}
	}()
	if got := s.WaitFor(t, 3, 5*time.Second); len(got) != 3 {
		t.Errorf("WaitFor returned %d messages", len(got))
	}
}
