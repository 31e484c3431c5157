// Package robots posts facilityd's alerts into the work-group apps guards already carry: WeCom
// (企业微信) group robots, DingTalk (钉钉) custom robots and Feishu/Lark (飞书) custom bots. Each
// Send is one signed JSON POST with its own deadline, checked the way the vendor answers (HTTP
// 200 with an error code in the body), and a failure comes back as an *APIError that says
// whether a retry can help. Webhook URLs carry their credential, so no error or log line built
// here ever shows more than scheme://host/path, and Feishu's path token not even that.
package robots

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Kinds returned by Robot.Kind, also the Robot field of APIError.
const (
	KindWeCom    = "wecom"
	KindDingTalk = "dingtalk"
	KindFeishu   = "feishu"
)

// DefaultTimeout bounds one Send when the config gives none: a robot that has not answered in
// five seconds is better reported and retried than waited on while an alarm is pending.
const DefaultTimeout = 5 * time.Second

// Message is one alert as the patrol hands it to a robot. Text is always sent (each vendor's
// limit is kept with Fit, so the first line, which phones show in the notification, survives);
// Markdown is used only where the robot is configured for it and can carry the mentions.
type Message struct {
	Text     string   // plain text: first line short (priority, place, what), then detail, claim instruction, link
	Markdown string   // optional richer form; used when the robot is configured for markdown
	Mobiles  []string // guards to @-mention by mobile number
	UserIDs  []string // or by the app's user id (WeCom userid, DingTalk userId, Feishu open_id)
	AtAll    bool     // life safety: @all
}

// Robot is what the patrol needs of a chat robot: its kind for logs and metrics, and one
// attempt at delivering a message. Retrying, and summarising when rate limited, is the
// caller's, guided by the *APIError.
type Robot interface {
	Kind() string
	Send(ctx context.Context, m Message) error
}

// ErrEmptyMessage refuses a Message with no Text before it is posted: every vendor refuses
// empty content, and an alert with nothing to say is a bug upstream, not a delivery failure.
var ErrEmptyMessage = errors.New("robot message has no text")

// The three robots are Robots.
var (
	_ Robot = (*WeCom)(nil)
	_ Robot = (*DingTalk)(nil)
	_ Robot = (*Feishu)(nil)
)

// ErrConfig marks a configuration a robot cannot be built from; the message names the field.
var ErrConfig = errors.New("robot configuration")

// APIError is every failed Send, for errors.As. The patrol tests RateLimited to switch to a
// summary instead of going silent, and Retry to decide whether the same message is worth
// sending again; a permanent refusal (bad key, signature, keyword, IP allow-list) needs a
// person to fix the robot's configuration.
type APIError struct {
	Robot       string        // KindWeCom, KindDingTalk or KindFeishu
	Endpoint    string        // the URL with its credential hidden
	Status      int           // HTTP status; 0 if no answer came
	Code        int           // the vendor's errcode / code; 0 if the body had none
	Msg         string        // the vendor's errmsg / msg, or what went wrong on the way
	RateLimited bool          // the robot's quota is spent: send a summary later, not more now
	Retry       bool          // the same message may succeed later (rate limit, 5xx, timeout)
	RetryAfter  time.Duration // when RateLimited, how long the vendor's window or block lasts
	Err         error         // the transport's error, if any (context.DeadlineExceeded, ...)
}

// Error names the robot and endpoint (never the credential), the vendor's code and what to do.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s robot %s: ", e.Robot, e.Endpoint)
	switch {
	case e.Code != 0:
		fmt.Fprintf(&b, "code %d %q", e.Code, e.Msg)
	case e.Status != 0 && e.Status != http.StatusOK:
		fmt.Fprintf(&b, "HTTP %d %s", e.Status, e.Msg)
	default:
		b.WriteString(e.Msg)
	}
	switch {
	case e.RateLimited:
		fmt.Fprintf(&b, " (rate limited: retry after %v)", e.RetryAfter)
	case e.Retry:
		b.WriteString(" (temporary: retry)")
	default:
		b.WriteString(" (refused: check the robot's URL, secret and security settings)")
	}
	return b.String()
}

// Unwrap gives the transport's error, so errors.Is(err, context.DeadlineExceeded) works.
func (e *APIError) Unwrap() error { return e.Err }

// client is what the three robots share: where to post, how, and how to read the answer.
type client struct {
	kind     string
	endpoint string // redacted, for errors
	http     *http.Client
	timeout  time.Duration
}

func newClient(kind, rawURL string, hc *http.Client, timeout time.Duration, hidePath bool) client {
	if hc == nil {
		hc = http.DefaultClient
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return client{kind: kind, endpoint: redact(rawURL, hidePath), http: hc, timeout: timeout}
}

// post sends body to target and returns the answer's body for the vendor's own check; any
// failure to get a 2xx answer is already an *APIError.
func (c client) post(ctx context.Context, target string, body []byte) ([]byte, *APIError) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, c.fail(0, 0, "bad URL", false, nil)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error prints the whole URL, credential and all
		}
		return nil, c.fail(0, 0, err.Error(), true, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, c.fail(resp.StatusCode, 0, "reading the answer: "+err.Error(), true, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := c.fail(resp.StatusCode, 0, http.StatusText(resp.StatusCode), resp.StatusCode >= 500, nil)
		if resp.StatusCode == http.StatusTooManyRequests {
			e.RateLimited, e.Retry, e.RetryAfter = true, true, time.Minute
		}
		return nil, e
	}
	return answer, nil
}

func (c client) fail(status, code int, msg string, retry bool, err error) *APIError {
	return &APIError{Robot: c.kind, Endpoint: c.endpoint, Status: status, Code: code, Msg: msg, Retry: retry, Err: err}
}

// vendorAnswer is the body every vendor answers with: WeCom and DingTalk say errcode/errmsg,
// Feishu code/msg (and, for old clients, StatusCode/StatusMessage, which we ignore).
type vendorAnswer struct {
	ErrCode *int   `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
	Code    *int   `json:"code"`
	Msg     string `json:"msg"`
}

// decodeAnswer reads a vendor's answer: its code and message, or ok=false if the body is not
// the vendor's JSON at all (a proxy's page, a wrong URL).
func decodeAnswer(body []byte) (code int, msg string, ok bool) {
	var a vendorAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return 0, "", false
	}
	switch {
	case a.ErrCode != nil:
		return *a.ErrCode, a.ErrMsg, true
	case a.Code != nil:
		return *a.Code, a.Msg, true
	}
	return 0, "", false
}

// check turns a 2xx answer into nil or the vendor's *APIError, classified by classify.
func (c client) check(answer []byte, classify func(e *APIError)) error {
	code, msg, ok := decodeAnswer(answer)
	if !ok {
		return c.fail(http.StatusOK, 0, "the answer is not the vendor's JSON: is the URL the robot's webhook?", false, nil)
	}
	if code == 0 {
		return nil
	}
	e := c.fail(http.StatusOK, code, msg, false, nil)
	classify(e)
	return e
}

// marshal encodes without HTML escaping: Feishu's <at> tags and WeCom's <@userid> stay as
// written, and the body's size is the size the vendor counts.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// redact is a URL fit for an error: scheme, host and path, never the query (WeCom's key,
// DingTalk's access_token) and, with hidePath, not the last path segment either (Feishu's
// hook token is the path).
func redact(raw string, hidePath bool) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "<robot url>"
	}
	p := u.Path
	if hidePath {
		if i := strings.LastIndex(p, "/"); i >= 0 && i < len(p)-1 {
			p = p[:i+1] + "<hidden>"
		}
	}
	return u.Scheme + "://" + u.Host + p
}

// parseURL checks a webhook URL as configuration validation must: http(s), a host, and the
// vendor's credential present. The error never shows the credential.
func parseURL(kind, raw, query string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: %s url: not an http:// or https:// URL", ErrConfig, kind)
	}
	if query != "" && u.Query().Get(query) == "" {
		return nil, fmt.Errorf("%w: %s url %s: no %s= in the query: copy the whole webhook URL from the robot's settings", ErrConfig, kind, redact(raw, false), query)
	}
	return u, nil
}

// withMentions fits text to limit bytes after leaving room for the mention line, which must
// survive the cut: without it nobody's phone rings.
func withMentions(text string, mentions []string, limit int) string {
	if len(mentions) == 0 {
		return Fit(text, limit)
	}
	line := strings.Join(mentions, " ")
	return Fit(text, limit-len(line)-1) + "\n" + line
}
