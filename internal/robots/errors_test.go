package robots_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/internal/robotfake"
	"github.com/facilityd/facilityd/internal/robots"
)

// kit is one vendor's fake and a robot pointed at it.
type kit struct {
	fake  *robotfake.Server
	robot robots.Robot
}

func newKit(t *testing.T, kind string) kit {
	t.Helper()
	var k kit
	var err error
	switch kind {
	case robots.KindWeCom:
		k.fake = robotfake.NewWeCom(t)
		k.robot, err = robots.NewWeCom(robots.WeComConfig{URL: k.fake.URL()})
	case robots.KindDingTalk:
		k.fake = robotfake.NewDingTalk(t, "SECsecret")
		k.robot, err = robots.NewDingTalk(robots.DingTalkConfig{URL: k.fake.URL(), Secret: "SECsecret"})
	case robots.KindFeishu:
		k.fake = robotfake.NewFeishu(t, "fs-secret")
		k.robot, err = robots.NewFeishu(robots.FeishuConfig{URL: k.fake.URL(), Secret: "fs-secret"})
	}
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// assertClean fails if err shows the robot's credential or secret.
func assertClean(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error shows a credential: %v", err)
		}
	}
}

func TestErrorClassification(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind        string
		code        int
		status      int
		rateLimited bool
		retry       bool
	}{
		{robots.KindWeCom, 45009, 200, true, true},
		{robots.KindWeCom, 93000, 200, false, false},
		{robots.KindWeCom, 40058, 200, false, false},
		{robots.KindWeCom, -1, 200, false, true},
		{robots.KindWeCom, 503, 503, false, true},
		{robots.KindDingTalk, 130101, 200, true, true},
		{robots.KindDingTalk, 410100, 200, true, true},
		{robots.KindDingTalk, 310000, 200, false, false},
		{robots.KindDingTalk, 300001, 200, false, false},
		{robots.KindDingTalk, -1, 200, false, true},
		{robots.KindDingTalk, 502, 502, false, true},
		{robots.KindFeishu, 9499, 200, true, true}, // "too many request"
		{robots.KindFeishu, 11232, 200, true, true},
		{robots.KindFeishu, 19021, 200, false, false},
		{robots.KindFeishu, 19024, 200, false, false},
		{robots.KindFeishu, 500, 500, false, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %d", tt.kind, tt.code), func(t *testing.T) {
			t.Parallel()
			k := newKit(t, tt.kind)
			k.fake.FailNext(1, tt.code)
			err := k.robot.Send(context.Background(), robots.Message{Text: "P1 fire"})
			var e *robots.APIError
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an *APIError", err)
			}
			wantCode := tt.code
			if tt.status != 200 {
				wantCode = 0
			}
			if e.Robot != tt.kind || e.Status != tt.status || e.Code != wantCode || e.RateLimited != tt.rateLimited || e.Retry != tt.retry {
				t.Errorf("got %+v, want status %d code %d rate limited %v retry %v", e, tt.status, wantCode, tt.rateLimited, tt.retry)
			}
			if e.RateLimited && e.RetryAfter <= 0 {
				t.Errorf("rate limited without a RetryAfter")
			}
			assertClean(t, err, k.fake.Token(), k.fake.Secret())
			if err := k.robot.Send(context.Background(), robots.Message{Text: "P1 fire"}); err != nil {
				t.Errorf("the next send failed too: %v", err)
			}
		})
	}
}

func TestRealRefusals(t *testing.T) {
	t.Parallel()
	stale := func() time.Time { return time.Now().Add(-2 * time.Hour) }
	tests := []struct {
		name  string
		build func(t *testing.T) (robots.Robot, *robotfake.Server)
		code  int
	}{
		{"wecom wrong key", func(t *testing.T) (robots.Robot, *robotfake.Server) {
			f := robotfake.NewWeCom(t)
			r, _ := robots.NewWeCom(robots.WeComConfig{URL: strings.Replace(f.URL(), f.Token(), "wrongkey", 1)})
			return r, f
		}, 93000},
		{"dingtalk wrong token", func(t *testing.T) (robots.Robot, *robotfake.Server) {
			f := robotfake.NewDingTalk(t, "SECs")
			r, _ := robots.NewDingTalk(robots.DingTalkConfig{URL: strings.Replace(f.URL(), f.Token(), "wrongtoken", 1), Secret: "SECs"})
			return r, f
		}, 300001},
		{"dingtalk wrong secret", func(t *testing.T) (robots.Robot, *robotfake.Server) {
			f := robotfake.NewDingTalk(t, "SECs")
			r, _ := robots.NewDingTalk(robots.DingTalkConfig{URL: f.URL(), Secret: "SECother"})
			return r, f
		}, 310000},
		{"dingtalk clock two hours slow", func(t *testing.T) (robots.Robot, *robotfake.Server) {
			f := robotfake.NewDingTalk(t, "SECs")
			r, _ := robots.NewDingTalk(robots.DingTalkConfig{URL: f.URL(), Secret: "SECs", Now: stale})
			return r, f
		}, 310000},
		{"dingtalk signing not configured", func(t *testing.T) (robots.Robot, *robotfake.Server) {
			f := robotfake.NewDingTalk(t, "SECs")
			r, _ := robots.NewDingTalk(robots.DingTalkConfig{URL: f.URL()})
			return r, f
		}, 310000},
		{"feishu wrong token", func(t *testing.T) (robots.Robot, *robotfake.Server) {
			f := robotfake.NewFeishu(t, "fs-secret-9")
			r, _ := robots.NewFeishu(robots.FeishuConfig{URL: strings.Replace(f.URL(), f.Token(), "wrongtoken", 1), Secret: "fs-secret-9"})
			return r, f
		}, 19001},
		{"feishu clock two hours slow", func(t *testing.T) (robots.Robot, *robotfake.Server) {
			f := robotfake.NewFeishu(t, "fs-secret-9")
			r, _ := robots.NewFeishu(robots.FeishuConfig{URL: f.URL(), Secret: "fs-secret-9", Now: stale})
			return r, f
		}, 19021},
		{"feishu keyword missing", func(t *testing.T) (robots.Robot, *robotfake.Server) {
			f := robotfake.NewFeishu(t, "")
			f.SetKeywords("告警")
			r, _ := robots.NewFeishu(robots.FeishuConfig{URL: f.URL()})
			return r, f
		}, 19024},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, f := tt.build(t)
			err := r.Send(context.Background(), robots.Message{Text: "P1 fire"})
			var e *robots.APIError
			if !errors.As(err, &e) || e.Code != tt.code || e.Retry || e.RateLimited {
				t.Fatalf("error %v, want a permanent refusal with code %d", err, tt.code)
			}
			assertClean(t, err, f.Token(), f.Secret(), "SECother", "wrongkey", "wrongtoken")
			if !strings.Contains(err.Error(), "check the robot") {
				t.Errorf("error %q does not say what to fix", err)
			}
		})
	}
}

func TestRateLimitedBySending(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{robots.KindWeCom, robots.KindDingTalk, robots.KindFeishu} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			k := newKit(t, kind)
			k.fake.SetLimit(3)
			var limited int
			for range 4 {
				var e *robots.APIError
				if err := k.robot.Send(context.Background(), robots.Message{Text: "P2 lift"}); errors.As(err, &e) && e.RateLimited && e.Retry {
					limited++
				}
			}
			if limited != 1 {
				t.Errorf("%d of 4 sends rate limited with a limit of 3, want 1", limited)
			}
		})
	}
}

func TestTransportErrors(t *testing.T) {
	t.Parallel()
	stop := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // then the server notices the client hang up
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(stop) }) // runs first
	tooMany := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(429) }))
	t.Cleanup(tooMany.Close)
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>login</html>")) }))
	t.Cleanup(page.Close)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	tests := []struct {
		name        string
		base        string
		retry       bool
		rateLimited bool
		deadline    bool
	}{
		{"no answer within the timeout", hang.URL, true, false, true},
		{"connection refused", closed.URL, true, false, false},
		{"HTTP 429", tooMany.URL, true, true, false},
		{"not the vendor's JSON", page.URL, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := robots.NewWeCom(robots.WeComConfig{URL: tt.base + "/cgi-bin/webhook/send?key=k3y-s3cret", Timeout: 100 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			err = r.Send(context.Background(), robots.Message{Text: "P1 fire"})
			var e *robots.APIError
			if !errors.As(err, &e) || e.Retry != tt.retry || e.RateLimited != tt.rateLimited {
				t.Fatalf("error %#v, want retry %v rate limited %v", err, tt.retry, tt.rateLimited)
			}
			if tt.deadline && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %v is not a deadline", err)
			}
			assertClean(t, err, "k3y-s3cret")
		})
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		build func() error
		says  string
	}{
		{"wecom no URL", func() error { _, err := robots.NewWeCom(robots.WeComConfig{}); return err }, "wecom url"},
		{"wecom no key", func() error {
			_, err := robots.NewWeCom(robots.WeComConfig{URL: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"})
			return err
		}, "no key="},
		{"wecom msgtype", func() error {
			_, err := robots.NewWeCom(robots.WeComConfig{URL: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc", MsgType: "news"})
			return err
		}, `msgtype "news"`},
		{"dingtalk no token", func() error {
			_, err := robots.NewDingTalk(robots.DingTalkConfig{URL: "https://oapi.dingtalk.com/robot/send?token=abc"})
			return err
		}, "no access_token="},
		{"feishu not a hook", func() error {
			_, err := robots.NewFeishu(robots.FeishuConfig{URL: "https://open.feishu.cn/open-apis/bot/v2/hookx"})
			return err
		}, "hook/<token>"},
		{"ftp", func() error {
			_, err := robots.NewFeishu(robots.FeishuConfig{URL: "ftp://x/open-apis/bot/v2/hook/t"})
			return err
		}, "http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.build()
			if !errors.Is(err, robots.ErrConfig) || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("error %v, want ErrConfig saying %q", err, tt.says)
			}
		})
	}
}

func TestSecretsHiddenInLogs(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	log.Info("robots",
		"wecom", robots.WeComConfig{URL: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY-1"},
		"dingtalk", robots.DingTalkConfig{URL: "https://oapi.dingtalk.com/robot/send?access_token=TOKEN-2", Secret: "SEC-3"},
		"feishu", robots.FeishuConfig{URL: "https://open.feishu.cn/open-apis/bot/v2/hook/HOOK-4", Secret: "SEC-5"})
	for _, s := range []string{"KEY-1", "TOKEN-2", "SEC-3", "HOOK-4", "SEC-5"} {
		if strings.Contains(buf.String(), s) {
			t.Errorf("log shows %s: %s", s, buf.String())
		}
	}
	if !strings.Contains(buf.String(), "open.feishu.cn/open-apis/bot/v2/hook/<hidden>") {
		t.Errorf("log does not show where the robot is: %s", buf.String())
	}
	f, _ := robots.NewFeishu(robots.FeishuConfig{URL: "https://open.feishu.cn/open-apis/bot/v2/hook/HOOK-4"})
	if strings.Contains(f.String(), "HOOK-4") {
		t.Errorf("String() shows the hook token: %s", f)
	}
}

func TestEmptyMessageNotPosted(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{robots.KindWeCom, robots.KindDingTalk, robots.KindFeishu} {
		k := newKit(t, kind)
		err := k.robot.Send(context.Background(), robots.Message{Markdown: "**x**", AtAll: true})
		if !errors.Is(err, robots.ErrEmptyMessage) {
			t.Errorf("%s: error %v, want ErrEmptyMessage", kind, err)
		}
		if n := len(k.fake.Messages()) + len(k.fake.Refusals()); n != 0 {
			t.Errorf("%s: %d requests reached the robot", kind, n)
		}
	}
}
