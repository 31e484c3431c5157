package robotfake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Feishu/Lark custom bot behaviour, from 自定义机器人使用指南
// (open.feishu.cn/document/client-docs/bot-v3/add-custom-bot).
const (
	feishuPrefix = "/open-apis/bot/v2/hook/"
	// feishuBodyMax: "请求体大小不能超过20k"; read as the stricter 20000 bytes.
	feishuBodyMax = 20000
	// feishuValidity: "timestamp is not within one hour from current time".
	feishuValidity = time.Hour
	feishuSignMsg  = "sign match fail or timestamp is not within one hour from current time"
)

var feishuMessages = map[int]string{
	9499:  "too many request",
	11232: "frequency limited",
	19001: "param invalid: incoming webhook access token invalid",
	19021: feishuSignMsg,
	19022: "Ip Not Allowed",
	19024: "Key Words Not Found",
}

// NewFeishu serves a Feishu custom bot; URL() is its webhook, hook token included. With a
// secret the bot has 签名校验 on and refuses bodies without a valid timestamp and sign.
func NewFeishu(t testing.TB, secret string) *Server {
	t.Helper()
	return newServer(t, vendor{
		kind:     "feishu",
		url:      func(s *Server) string { return s.srv.URL + feishuPrefix + s.token },
		auth:     feishuAuth,
		parse:    feishuParse,
		answer:   feishuAnswer,
		messages: feishuMessages,
		badType:  &refusal{code: 9499, msg: "Bad Request"},
		// "自定义机器人的频率控制和普通应用不同，为单租户单机器人 100 次/分钟，5 次/秒"; the
		// answer over it is 9499 "too many request" (11232 is the tenant-wide message limit).
		rate:      refusal{code: 9499, msg: "too many request"},
		perMinute: 100,
		perSecond: 5,
	}, secret)
}

func feishuAnswer(code int, msg string) any {
	if code == 0 {
		msg = "success"
	}
	return map[string]any{"code": code, "msg": msg, "data": map[string]any{}}
}

func feishuAuth(s *Server, r *http.Request, _ time.Time) *refusal {
	token, ok := strings.CutPrefix(r.URL.Path, feishuPrefix)
	if !ok {
		return notFound
	}
	if token != s.token {
		return &refusal{code: 19001, msg: "param invalid: incoming webhook access token invalid"}
	}
	return nil
}

var feishuAtTag = regexp.MustCompile(`<at user_id="([^"]*)">`)

func feishuParse(s *Server, body []byte, now time.Time) (Received, *refusal) {
	bad := &refusal{code: 9499, msg: "Bad Request"}
	if len(body) > feishuBodyMax {
		return Received{}, bad
	}
	m, ok := decodeObject(body)
	if !ok {
		return Received{}, bad
	}
	if s.secret != "" && !feishuSigned(s.secret, m, now) {
		return Received{}, &refusal{code: 19021, msg: feishuSignMsg}
	}
	rec := Received{Body: m}
	rec.MsgType, _ = str(m, "msg_type")
	content, _ := obj(m, "content")
	rec.Text, _ = str(content, "text")
	// The service also takes post, image, share_chat and interactive; facilityd sends text,
	// so the fake refuses the rest as the service refuses a body that fits no type.
	if rec.MsgType != "text" || rec.Text == "" {
		return Received{}, bad
	}
	if !s.hasKeyword(rec.Text) {
		return Received{}, &refusal{code: 19024, msg: "Key Words Not Found"}
	}
	for _, sub := range feishuAtTag.FindAllStringSubmatch(rec.Text, -1) {
		if sub[1] == "all" {
			rec.AtAll = true
		} else {
			rec.Mentions = append(rec.Mentions, sub[1])
		}
	}
	return rec, nil
}

// feishuSigned checks the body's timestamp (seconds, as a string as the guide shows it, or a
// number, which the service also takes) and sign = base64(HMAC-SHA256(key=timestamp+"\n"+
// secret, msg="")): the key and message are the other way round from DingTalk's.
func feishuSigned(secret string, m map[string]any, now time.Time) bool {
	var ts string
	switch v := m["timestamp"].(type) {
	case string:
		ts = v
	case float64:
		ts = strconv.FormatFloat(v, 'f', -1, 64)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	if d := now.Sub(time.Unix(sec, 0)); d > feishuValidity || d < -feishuValidity {
		return false
	}
	sign, _ := str(m, "sign")
	mac := hmac.New(sha256.New, []byte(ts+"\n"+secret))
	return hmac.Equal([]byte(sign), []byte(base64.StdEncoding.EncodeToString(mac.Sum(nil))))
}
