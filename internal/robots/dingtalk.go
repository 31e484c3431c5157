package robots

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DingTalk custom robot (钉钉自定义机器人) limits and codes, from the vendor's 自定义机器人接入 and
// 自定义机器人安全设置 pages (open.dingtalk.com/document/robots/custom-robot-access,
// .../customize-robot-security-settings).
const (
	// DingTalkTextMax is our choice: the custom-robot pages state no content limit; 20000
	// bytes is the figure DingTalk gives for its message APIs, and the fake enforces it.
	DingTalkTextMax   = 20000
	DingTalkTitleMax  = 128 // markdown.title, the notification preview; ours, not the vendor's
	DingTalkPerMinute = 20
	// DingTalkBlock is how long DingTalk throttles a robot that went over DingTalkPerMinute:
	// "每个机器人每分钟最多发送20条消息到群里，如果超过20条，会限流10分钟".
	DingTalkBlock = 10 * time.Minute
	// DingTalkSignValidity: "timestamp ... 与请求调用时间误差不能超过1小时".
	DingTalkSignValidity = time.Hour

	DingTalkCodeBusy       = -1     // 系统繁忙: retry
	DingTalkCodeSecurity   = 310000 // sign not match / keywords not in content / ip not in whitelist / invalid timestamp
	DingTalkCodeTooFast    = 130101 // send too fast, exceed 20 times per minute
	DingTalkCodeTooFastNew = 410100 // 发送速度太快而限流 (newer code for the same limit)
	DingTalkCodeNoToken    = 300001 // token is not exist
	DingTalkCodeNoTokenNew = 400101 // access_token不存在 (newer code)
	DingTalkCodeBadJSON    = 40035  // 缺少参数 json
	DingTalkCodeBadMsgType = 400105 // 不支持的消息类型
	DingTalkCodeTooLong    = 460101 // our choice for content over DingTalkTextMax; see DingTalkTextMax
)

// DingTalkConfig is one DingTalk custom robot with 加签 (signing) set in its security settings.
type DingTalkConfig struct {
	URL     string           // https://oapi.dingtalk.com/robot/send?access_token=...
	Secret  string           // the SEC... string under 加签; empty for a keyword- or IP-only robot
	MsgType string           // "text" (default) or "markdown"
	Client  *http.Client     // default http.DefaultClient
	Timeout time.Duration    // per Send; default DefaultTimeout
	Now     func() time.Time // the signature's timestamp; default time.Now
}

// LogValue hides the access token and the secret.
func (c DingTalkConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("url", redact(c.URL, false)), slog.Bool("signed", c.Secret != ""), slog.String("msgtype", c.MsgType))
}

// DingTalk posts to one DingTalk custom robot.
type DingTalk struct {
	url     string
	secret  string
	msgType string
	now     func() time.Time
	client
}

// NewDingTalk checks cfg (an http(s) URL with access_token, a known msgtype) and builds it.
func NewDingTalk(cfg DingTalkConfig) (*DingTalk, error) {
	if _, err := parseURL(KindDingTalk, cfg.URL, "access_token"); err != nil {
		return nil, err
	}
	switch cfg.MsgType {
	case "":
		cfg.MsgType = "text"
	case "text", "markdown":
	default:
		return nil, fmt.Errorf("%w: dingtalk msgtype %q: want text or markdown", ErrConfig, cfg.MsgType)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	d := &DingTalk{url: cfg.URL, secret: cfg.Secret, msgType: cfg.MsgType, now: cfg.Now}
	d.client = newClient(KindDingTalk, cfg.URL, cfg.Client, cfg.Timeout, false)
	return d, nil
}

// Kind is KindDingTalk.
func (d *DingTalk) Kind() string { return KindDingTalk }

// String is the redacted URL.
func (d *DingTalk) String() string { return d.endpoint }

// DingTalkSign is the sign query value for secret at ts, already URL-encoded:
// urlencode(base64(HMAC-SHA256(key=secret, msg=timestamp_ms + "\n" + secret))), as the
// security-settings page's 加签 section gives it.
func DingTalkSign(secret string, ts time.Time) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(ts.UnixMilli(), 10) + "\n" + secret))
	return url.QueryEscape(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
}

// Send posts m once, signed at the time of sending when a secret is configured.
func (d *DingTalk) Send(ctx context.Context, m Message) error {
	if m.Text == "" {
		return fmt.Errorf("%s robot %s: %w", d.kind, d.endpoint, ErrEmptyMessage)
	}
	body, err := DingTalkBody(m, d.msgType)
	if err != nil {
		return fmt.Errorf("dingtalk robot %s: encode: %w", d.endpoint, err)
	}
	target := d.url
	if d.secret != "" {
		ts := d.now()
		// The sign is already encoded: appended as is, not through url.Values, which would
		// encode its % a second time.
		target += "&timestamp=" + strconv.FormatInt(ts.UnixMilli(), 10) + "&sign=" + DingTalkSign(d.secret, ts)
	}
	answer, apiErr := d.post(ctx, target, body)
	if apiErr != nil {
		return apiErr
	}
	return d.check(answer, classifyDingTalk)
}

type dingTalkAt struct {
	AtMobiles []string `json:"atMobiles,omitempty"`
	AtUserIDs []string `json:"atUserIds,omitempty"`
	IsAtAll   bool     `json:"isAtAll,omitempty"`
}

type dingTalkText struct {
	Content string `json:"content"`
}

type dingTalkMarkdown struct {
	Title string `json:"title"`
	Text  string `json:"text"`
}

type dingTalkBody struct {
	MsgType  string            `json:"msgtype"`
	Text     *dingTalkText     `json:"text,omitempty"`
	Markdown *dingTalkMarkdown `json:"markdown,omitempty"`
	At       *dingTalkAt       `json:"at,omitempty"`
}

// DingTalkBody is the JSON body Send posts for m. DingTalk rings a mentioned person only if
// "@mobile" or "@userId" also appears in the content (the at block alone is not enough, and
// in markdown it is required), so those go on the content's last line, kept through Fit.
func DingTalkBody(m Message, msgType string) ([]byte, error) {
	return marshal(dingTalkPayload(m, msgType))
}

func dingTalkPayload(m Message, msgType string) any {
	var at *dingTalkAt
	var tags []string
	if len(m.Mobiles) > 0 || len(m.UserIDs) > 0 || m.AtAll {
		at = &dingTalkAt{AtMobiles: m.Mobiles, AtUserIDs: m.UserIDs, IsAtAll: m.AtAll}
		for _, id := range append(append([]string(nil), m.Mobiles...), m.UserIDs...) {
			tags = append(tags, "@"+id)
		}
	}
	if msgType == "markdown" && m.Markdown != "" {
		title, _, _ := strings.Cut(m.Text, "\n")
		md := &dingTalkMarkdown{Title: Fit(title, DingTalkTitleMax), Text: withMentions(m.Markdown, tags, DingTalkTextMax)}
		return dingTalkBody{MsgType: "markdown", Markdown: md, At: at}
	}
	return dingTalkBody{MsgType: "text", Text: &dingTalkText{Content: withMentions(m.Text, tags, DingTalkTextMax)}, At: at}
}

func classifyDingTalk(e *APIError) {
	switch e.Code {
	case DingTalkCodeTooFast, DingTalkCodeTooFastNew:
		e.RateLimited, e.Retry, e.RetryAfter = true, true, DingTalkBlock
	case DingTalkCodeBusy:
		e.Retry = true
	}
}
