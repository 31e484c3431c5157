package robots

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Feishu/Lark custom bot (飞书自定义机器人) limits and codes, from the vendor's 自定义机器人使用指南
// (open.feishu.cn/document/client-docs/bot-v3/add-custom-bot).
const (
	// FeishuBodyMax: "请求体大小不能超过20k". The page does not say 20000 or 20480; we read
	// the stricter 20000, and the fake enforces the same.
	FeishuBodyMax = 20000
	// FeishuPerMinute and FeishuPerSecond: "单租户单机器人 100 次/分钟，5 次/秒".
	FeishuPerMinute = 100
	FeishuPerSecond = 5
	// FeishuSignValidity: the timestamp must be "within one hour from current time".
	FeishuSignValidity = time.Hour

	FeishuCodeTooMany   = 9499  // "too many request" (custom bot limit); also "Bad Request" for a malformed body
	FeishuCodeRateLimit = 11232 // frequency limited (tenant-level message limit)
	FeishuCodeSign      = 19021 // sign match fail or timestamp is not within one hour from current time
	FeishuCodeBadToken  = 19001 // param invalid: incoming webhook access token invalid
	FeishuCodeIP        = 19022 // Ip Not Allowed
	FeishuCodeKeyword   = 19024 // Key Words Not Found
)

// FeishuConfig is one Feishu custom bot, with 签名校验 set in its security settings.
type FeishuConfig struct {
	URL     string           // https://open.feishu.cn/open-apis/bot/v2/hook/<token>
	Secret  string           // the signing secret; empty for a keyword- or IP-only bot
	Client  *http.Client     // default http.DefaultClient
	Timeout time.Duration    // per Send; default DefaultTimeout
	Now     func() time.Time // the signature's timestamp; default time.Now
}

// LogValue hides the hook token (the URL's last segment) and the secret.
func (c FeishuConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("url", redact(c.URL, true)), slog.Bool("signed", c.Secret != ""))
}

// Feishu posts to one Feishu custom bot.
type Feishu struct {
	url    string
	secret string
	now    func() time.Time
	client
}

// NewFeishu checks cfg (an http(s) URL ending in /hook/<token>) and builds the bot.
func NewFeishu(cfg FeishuConfig) (*Feishu, error) {
	u, err := parseURL(KindFeishu, cfg.URL, "")
	if err != nil {
		return nil, err
	}
	dir, token, _ := cutLast(u.Path, "/")
	if !strings.HasSuffix(dir, "/hook") || token == "" {
		return nil, fmt.Errorf("%w: feishu url %s: want .../open-apis/bot/v2/hook/<token>: copy the whole webhook URL from the bot's settings", ErrConfig, redact(cfg.URL, true))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	f := &Feishu{url: cfg.URL, secret: cfg.Secret, now: cfg.Now}
	f.client = newClient(KindFeishu, cfg.URL, cfg.Client, cfg.Timeout, true)
	return f, nil
}

func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

// Kind is KindFeishu.
func (f *Feishu) Kind() string { return KindFeishu }

// String is the redacted URL.
func (f *Feishu) String() string { return f.endpoint }

// FeishuSign is the body's sign for secret at ts. Feishu swaps DingTalk's roles: the key is
// timestamp_s + "\n" + secret and the message is empty; base64, not URL-encoded (it travels
// in the JSON body).
func FeishuSign(secret string, ts time.Time) string {
	mac := hmac.New(sha256.New, []byte(strconv.FormatInt(ts.Unix(), 10)+"\n"+secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Send posts m once, signed at the time of sending when a secret is configured.
func (f *Feishu) Send(ctx context.Context, m Message) error {
	if m.Text == "" {
		return fmt.Errorf("%s robot %s: %w", f.kind, f.endpoint, ErrEmptyMessage)
	}
	var ts time.Time
	if f.secret != "" {
		ts = f.now()
	}
	body, err := FeishuBody(m, f.secret, ts)
	if err != nil {
		return fmt.Errorf("feishu robot %s: encode: %w", f.endpoint, err)
	}
	answer, apiErr := f.post(ctx, f.url, body)
	if apiErr != nil {
		return apiErr
	}
	return f.check(answer, classifyFeishu)
}

type feishuContent struct {
	Text string `json:"text"`
}

type feishuBody struct {
	Timestamp string        `json:"timestamp,omitempty"`
	Sign      string        `json:"sign,omitempty"`
	MsgType   string        `json:"msg_type"`
	Content   feishuContent `json:"content"`
}

// FeishuBody is the JSON body Send posts for m, signed with secret at ts unless secret is
// empty, and no larger than FeishuBodyMax.
//
// A custom bot can @ only by open_id/user_id (<at user_id="ou_...">) or everyone
// (<at user_id="all">所有人</at>); it has no mention by mobile, so mobiles are written as
// plain "@138..." for the reader to see whom the alert is for. Our choice.
func FeishuBody(m Message, secret string, ts time.Time) ([]byte, error) {
	var tags []string
	if m.AtAll {
		tags = append(tags, `<at user_id="all">所有人</at>`)
	}
	for _, id := range m.UserIDs {
		tags = append(tags, `<at user_id="`+id+`"></at>`)
	}
	for _, mobile := range m.Mobiles {
		tags = append(tags, "@"+mobile)
	}
	b := feishuBody{MsgType: "text"}
	if secret != "" {
		b.Timestamp, b.Sign = strconv.FormatInt(ts.Unix(), 10), FeishuSign(secret, ts)
	}
	// The limit is on the body, and JSON escaping can grow the text: cut, measure, cut again.
	limit := FeishuBodyMax - 512
	for {
		b.Content.Text = withMentions(m.Text, tags, limit)
		out, err := marshal(b)
		if err != nil || len(out) <= FeishuBodyMax || limit <= 0 {
			return out, err
		}
		limit -= len(out) - FeishuBodyMax + 64
	}
}

// classifyFeishu: 9499 is both the custom bot's "too many request" and a malformed body's
// "Bad Request"; only the message tells them apart, so we read it.
func classifyFeishu(e *APIError) {
	switch {
	case e.Code == FeishuCodeRateLimit,
		e.Code == FeishuCodeTooMany && strings.Contains(strings.ToLower(e.Msg), "too many"):
		e.RateLimited, e.Retry, e.RetryAfter = true, true, time.Minute
	}
}
