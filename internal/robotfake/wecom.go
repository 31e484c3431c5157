package robotfake

import (
	"net/http"
	"regexp"
	"slices"
	"testing"
	"time"
)

// WeCom group robot behaviour, from 群机器人配置说明 (developer.work.weixin.qq.com/document/path/91770)
// and the global error codes (path/90313).
const (
	weComPath        = "/cgi-bin/webhook/send"
	weComTextMax     = 2048 // "text.content ... 最长不超过2048个字节，必须是utf8编码"
	weComMarkdownMax = 4096 // "markdown.content ... 最长不超过4096个字节，必须是utf8编码"
)

var weComMessages = map[int]string{
	-1:    "system busy",
	45009: "api freq out of limit",
	93000: "invalid webhook url",
	40008: "invalid message type",
	40035: "invalid parameter",
	40058: "invalid Request Parameter",
	44004: "empty content",
}

// NewWeCom serves a WeCom group robot; URL() is its webhook, key included.
func NewWeCom(t testing.TB) *Server {
	t.Helper()
	return newServer(t, vendor{
		kind:      "wecom",
		url:       func(s *Server) string { return s.srv.URL + weComPath + "?key=" + s.token },
		auth:      weComAuth,
		parse:     weComParse,
		answer:    func(code int, msg string) any { return map[string]any{"errcode": code, "errmsg": msg} },
		messages:  weComMessages,
		badType:   &refusal{code: 40035, msg: "invalid parameter: Content-Type is not application/json"},
		rate:      refusal{code: 45009, msg: "api freq out of limit"},
		perMinute: 20, // "每个机器人发送的消息不能超过20条/分钟"
	}, "")
}

func weComAuth(s *Server, r *http.Request, _ time.Time) *refusal {
	if r.URL.Path != weComPath {
		return notFound
	}
	if r.URL.Query().Get("key") != s.token {
		return &refusal{code: 93000, msg: "invalid webhook url"}
	}
	return nil
}

var weComUserTag = regexp.MustCompile(`<@([^>]+)>`)

func weComParse(_ *Server, body []byte, _ time.Time) (Received, *refusal) {
	m, ok := decodeObject(body)
	if !ok {
		return Received{}, &refusal{code: 40035, msg: "invalid parameter, Warning: wrong json format."}
	}
	msgType, _ := str(m, "msgtype")
	switch msgType {
	case "text":
		return weComText(m)
	case "markdown":
		md, _ := obj(m, "markdown")
		content, _ := str(md, "content")
		if ref := weComContent("markdown", content, weComMarkdownMax); ref != nil {
			return Received{}, ref
		}
		rec := Received{MsgType: msgType, Body: m, Text: content}
		for _, sub := range weComUserTag.FindAllStringSubmatch(content, -1) {
			rec.Mentions = append(rec.Mentions, sub[1])
		}
		return rec, nil
	}
	// The service knows more types (image, news, file, template_card...); facilityd sends
	// only these two, so the fake refuses the rest as the service refuses an unknown one.
	return Received{}, &refusal{code: 40008, msg: "invalid message type"}
}

func weComText(m map[string]any) (Received, *refusal) {
	text, _ := obj(m, "text")
	content, _ := str(text, "content")
	if ref := weComContent("text", content, weComTextMax); ref != nil {
		return Received{}, ref
	}
	users, ok1 := stringList(text, "mentioned_list")
	mobiles, ok2 := stringList(text, "mentioned_mobile_list")
	if !ok1 || !ok2 {
		return Received{}, &refusal{code: 40035, msg: "invalid parameter: mentioned_list and mentioned_mobile_list are lists of strings"}
	}
	rec := Received{MsgType: "text", Body: m, Text: content}
	for _, id := range append(mobiles, users...) {
		if id == "@all" {
			rec.AtAll = true
			continue
		}
		if !slices.Contains(rec.Mentions, id) {
			rec.Mentions = append(rec.Mentions, id)
		}
	}
	return rec, nil
}

func weComContent(field, content string, limit int) *refusal {
	switch {
	case content == "":
		return &refusal{code: 44004, msg: "empty content"}
	case len(content) > limit:
		return &refusal{code: 40058, msg: field + ".content exceed max length " + itoa(limit) + ". invalid Request Parameter"}
	}
	return nil
}
