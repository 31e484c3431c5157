package robots

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// WeCom group robot (企业微信群机器人) limits and codes, from the vendor's 群机器人配置说明
// (developer.work.weixin.qq.com/document/path/91770) and global error codes (path/90313).
const (
	WeComTextMax     = 2048 // text.content, bytes of UTF-8
	WeComMarkdownMax = 4096 // markdown.content, bytes of UTF-8
	WeComPerMinute   = 20   // messages per robot per minute

	WeComCodeBusy         = -1    // 系统繁忙: retry
	WeComCodeRateLimit    = 45009 // api freq out of limit
	WeComCodeInvalidURL   = 93000 // invalid webhook url: the key is wrong or the robot was removed
	WeComCodeBadMsgType   = 40008 // 不合法的消息类型
	WeComCodeBadParameter = 40035 // 不合法的参数 (also "Warning: wrong json format.")
	WeComCodeTooLong      = 40058 // "text.content exceed max length 2048"
	WeComCodeEmpty        = 44004 // 文本消息content参数为空
)

// WeComConfig is one WeCom group robot.
type WeComConfig struct {
	URL     string        // https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...
	MsgType string        // "text" (default) or "markdown"
	Client  *http.Client  // default http.DefaultClient
	Timeout time.Duration // per Send; default DefaultTimeout
}

// LogValue hides the key, so a config printed or logged leaks nothing.
func (c WeComConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("url", redact(c.URL, false)), slog.String("msgtype", c.MsgType))
}

// WeCom posts to one WeCom group robot.
type WeCom struct {
	url     string
	msgType string
	client
}

// NewWeCom checks cfg (an http(s) URL with its key, a known msgtype) and builds the robot.
func NewWeCom(cfg WeComConfig) (*WeCom, error) {
	if _, err := parseURL(KindWeCom, cfg.URL, "key"); err != nil {
		return nil, err
	}
	switch cfg.MsgType {
	case "":
		cfg.MsgType = "text"
	case "text", "markdown":
	default:
		return nil, fmt.Errorf("%w: wecom msgtype %q: want text or markdown", ErrConfig, cfg.MsgType)
	}
	return &WeCom{url: cfg.URL, msgType: cfg.MsgType, client: newClient(KindWeCom, cfg.URL, cfg.Client, cfg.Timeout, false)}, nil
}

// Kind is KindWeCom.
func (w *WeCom) Kind() string { return KindWeCom }

// String is the redacted URL.
func (w *WeCom) String() string { return w.endpoint }

// Send posts m once. See WeComBody for the shape.
func (w *WeCom) Send(ctx context.Context, m Message) error {
	if m.Text == "" {
		return fmt.Errorf("%s robot %s: %w", w.kind, w.endpoint, ErrEmptyMessage)
	}
	body, err := WeComBody(m, w.msgType)
	if err != nil {
		return fmt.Errorf("wecom robot %s: encode: %w", w.endpoint, err)
	}
	answer, apiErr := w.post(ctx, w.url, body)
	if apiErr != nil {
		return apiErr
	}
	return w.check(answer, classifyWeCom)
}

type weComText struct {
	Content             string   `json:"content"`
	MentionedList       []string `json:"mentioned_list,omitempty"`
	MentionedMobileList []string `json:"mentioned_mobile_list,omitempty"`
}

type weComMarkdown struct {
	Content string `json:"content"`
}

type weComBody struct {
	MsgType  string         `json:"msgtype"`
	Text     *weComText     `json:"text,omitempty"`
	Markdown *weComMarkdown `json:"markdown,omitempty"`
}

// WeComBody is the JSON body Send posts for m, exported for the patrol's previews and self-tests.
//
// Markdown messages cannot @ by mobile or @all (the vendor's markdown has only <@userid>), so
// a markdown robot sends plain text whenever m needs those: the ring matters more than bold
// type. Mentions in text go in mentioned_list / mentioned_mobile_list, "@all" in the former.
func WeComBody(m Message, msgType string) ([]byte, error) {
	return marshal(weComPayload(m, msgType))
}

func weComPayload(m Message, msgType string) any {
	if msgType == "markdown" && m.Markdown != "" && len(m.Mobiles) == 0 && !m.AtAll {
		tags := make([]string, len(m.UserIDs))
		for i, id := range m.UserIDs {
			tags[i] = "<@" + id + ">"
		}
		return weComBody{MsgType: "markdown", Markdown: &weComMarkdown{Content: withMentions(m.Markdown, tags, WeComMarkdownMax)}}
	}
	t := &weComText{Content: Fit(m.Text, WeComTextMax), MentionedMobileList: m.Mobiles}
	t.MentionedList = append(t.MentionedList, m.UserIDs...)
	if m.AtAll {
		t.MentionedList = append(t.MentionedList, "@all")
	}
	return weComBody{MsgType: "text", Text: t}
}

func classifyWeCom(e *APIError) {
	switch e.Code {
	case WeComCodeRateLimit:
		e.RateLimited, e.Retry, e.RetryAfter = true, true, time.Minute
	case WeComCodeBusy:
		e.Retry = true
	}
}
