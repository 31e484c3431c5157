// Package webhook is facilityd's one way to POST JSON to a receiver outside it (the patrol's
// alert webhook, the work-order export): signed, retried with backoff, and with the URL kept
// out of every log and error, since chat-robot URLs carry their access token in the query.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/facilityd/facilityd/internal/backoff"
)

// Headers of every request. The signature is "sha256=" and the hex HMAC-SHA256, keyed by the
// shared secret, of "<timestamp>.<body>": a receiver that checks it and refuses old
// timestamps cannot be fed a captured request again.
const (
	HeaderSignature = "X-Facilityd-Signature"
	HeaderTimestamp = "X-Facilityd-Timestamp"
)

// ErrNoSecret refuses an unsigned webhook to a receiver beyond this machine.
var ErrNoSecret = errors.New("a secret is required unless the URL is on loopback: receivers verify the signature with it")

// Sign returns the value of HeaderSignature for body sent at unix time ts.
func Sign(secret []byte, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(strconv.FormatInt(ts, 10)))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a request's signature and that its timestamp is within maxAge of now, as a
// receiver should; facilityd's tests use it as the receiver.
func Verify(secret []byte, timestamp, signature string, body []byte, now time.Time, maxAge time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%s %q: not a unix time", HeaderTimestamp, timestamp)
	}
	if age := now.Sub(time.Unix(ts, 0)); age > maxAge || age < -maxAge {
		return fmt.Errorf("%s: %v old, more than %v: a replay?", HeaderTimestamp, age, maxAge)
	}
	if !hmac.Equal([]byte(signature), []byte(Sign(secret, ts, body))) {
		return fmt.Errorf("%s does not match the body and timestamp", HeaderSignature)
	}
	return nil
}

// Redact is a URL fit for a log: scheme, host and path, never the query, fragment or user
// information where receivers put their tokens.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "<webhook url>"
	}
	out := u.Scheme + "://" + u.Host + u.Path
	if u.RawQuery != "" || u.User != nil || u.Fragment != "" {
		out += "?<hidden>"
	}
	return out
}

// Loopback reports whether the URL's host is localhost or a loopback address: the one place
// an unsigned webhook is allowed, since nothing crosses the network.
func Loopback(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// Check is what configuration validation asks of a webhook: an http(s) URL, and a secret
// unless the URL is on loopback. Its errors never show the URL.
func Check(rawURL string, secret []byte) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("not an http:// or https:// URL")
	}
	if len(secret) == 0 && !Loopback(rawURL) {
		return ErrNoSecret
	}
	return nil
}

// Sender posts JSON bodies to one URL, signed, retrying with exponential backoff on network
// errors, 429 and 5xx; any other 4xx is the receiver's refusal and is not retried.
type Sender struct {
	url    string
	secret []byte
	// Client sends the requests (default: http.DefaultClient with Timeout per attempt).
	Client *http.Client
	// Timeout bounds each attempt (default 5 s).
	Timeout time.Duration
	// Retries is how many times a failed attempt is retried.
	Retries int
	// BackoffMin is the first wait, doubled each retry up to BackoffMax.
	BackoffMin, BackoffMax time.Duration
	// Now stamps the requests (default time.Now); Sleep waits between attempts and returns
	// early with ctx's error (tests replace both).
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// New builds a sender to rawURL; see Check for what it refuses.
func New(rawURL string, secret []byte) (*Sender, error) {
	if err := Check(rawURL, secret); err != nil {
		return nil, fmt.Errorf("webhook %s: %w", Redact(rawURL), err)
	}
	return &Sender{url: rawURL, secret: secret, Retries: 5, BackoffMin: 500 * time.Millisecond, BackoffMax: 30 * time.Second}, nil
}

// String is the redacted URL, so a Sender printed or logged shows no token.
func (s *Sender) String() string { return Redact(s.url) }

// Send posts body (JSON), retrying as described on Sender, until it is taken, refused, the
// retries are spent or ctx ends.
func (s *Sender) Send(ctx context.Context, body []byte) error {
	var last error
	for attempt := 0; attempt <= s.Retries; attempt++ {
		if attempt > 0 {
			if err := s.sleep(ctx, s.backoff(attempt)); err != nil {
				return fmt.Errorf("webhook %s: %w (last error: %v)", s, err, last)
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		retry, err := s.post(ctx, body)
		if err == nil {
			return nil
		}
		last = err
		if !retry {
			return err
		}
	}
	return fmt.Errorf("webhook %s: gave up after %d attempts: %w", s, s.Retries+1, last)
}

func (s *Sender) post(ctx context.Context, body []byte) (retry bool, err error) {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("webhook %s: bad URL", s)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	ts := now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	if len(s.secret) > 0 {
		req.Header.Set(HeaderSignature, Sign(s.secret, ts, body))
	}
	client := s.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error prints the whole URL, token and all
		}
		return true, fmt.Errorf("webhook %s: %w", s, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return true, fmt.Errorf("webhook %s: %s", s, resp.Status)
	}
	return false, fmt.Errorf("webhook %s: refused: %s", s, resp.Status)
}

// backoff is the wait before retry number attempt: BackoffMin doubling to BackoffMax without
// jitter (ours: 500 ms to 30 s from New; an unset minimum is 500 ms, an unset maximum no
// ceiling), through internal/backoff.
func (s *Sender) backoff(attempt int) time.Duration {
	lo := s.BackoffMin
	if lo <= 0 {
		lo = 500 * time.Millisecond
	}
	return backoff.Delay(attempt, lo, s.BackoffMax)
}

func (s *Sender) sleep(ctx context.Context, d time.Duration) error {
	if s.Sleep != nil {
		return s.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
