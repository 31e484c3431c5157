package robotfake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// DingTalk custom robot behaviour, from 自定义机器人接入 and 自定义机器人安全设置
// (open.dingtalk.com/document/robots/custom-robot-access, .../customize-robot-security-settings).
const (
	dingTalkPath = "/robot/send"
	// dingTalkTextMax is our choice: the robot pages state no limit; 20000 bytes is the figure
	// DingTalk gives for message content elsewhere. robots.DingTalkTextMax is the same.
	dingTalkTextMax = 20000
	// dingTalkValidity: "timestamp ... 与请求调用时间误差不能超过1小时".
	dingTalkValidity = time.Hour
)

var dingTalkMessages = map[int]string{
	-1:     "系统繁忙",
	310000: "sign not match",
	130101: "send too fast, exceed 20 times per minute",
	410100: "发送速度太快而限流",
	300001: "token is not exist",
	400101: "access_token不存在",
	40035:  "缺少参数 json",
	400105: "不支持的消息类型",
	460101: "message too long",
}

// NewDingTalk serves a DingTalk custom robot; URL() is its webhook, access_token included.
// With a secret the robot has 加签 on and refuses requests without a valid timestamp and sign.
func NewDingTalk(t testing.TB, secret string) *Server {
	t.Helper()
	return newServer(t, vendor{
		kind:      "dingtalk",
		url:       func(s *Server) string { return s.srv.URL + dingTalkPath + "?access_token=" + s.token },
		auth:      dingTalkAuth,
		parse:     dingTalkParse,
		answer:    func(code int, msg string) any { return map[string]any{"errcode": code, "errmsg": msg} },
		messages:  dingTalkMessages,
		badType:   &refusal{code: 40035, msg: "缺少参数 json"},
		rate:      refusal{code: 130101, msg: "send too fast, exceed 20 times per minute"},
		perMinute: 20,
		// "每个机器人每分钟最多发送20条消息到群里，如果超过20条，会限流10分钟"
		block: 10 * time.Minute,
	}, secret)
}

func dingTalkAuth(s *Server, r *http.Request, now time.Time) *refusal {
	if r.URL.Path != dingTalkPath {
		return notFound
	}
	q := r.URL.Query()
	if q.Get("access_token") != s.token {
		return &refusal{code: 300001, msg: "token is not exist"}
	}
	if s.secret == "" {
		return nil
	}
	ms, err := strconv.ParseInt(q.Get("timestamp"), 10, 64)
	if err != nil {
		return &refusal{code: 310000, msg: "invalid timestamp"}
	}
	ts := time.UnixMilli(ms)
	if d := now.Sub(ts); d > dingTalkValidity || d < -dingTalkValidity {
		return &refusal{code: 310000, msg: "invalid timestamp " + q.Get("timestamp")}
	}
	// q.Get has undone the URL encoding: a client that did not encode its sign sends "+" as a
	// space and fails here, as it does against the service.
	if !hmac.Equal([]byte(q.Get("sign")), []byte(dingTalkSign(s.secret, q.Get("timestamp")))) {
		return &refusal{code: 310000, msg: "sign not match"}
	}
	return nil
}

// dingTalkSign is base64(HMAC-SHA256(key=secret, msg=timestamp+"\n"+secret)), before the
// URL encoding, computed here apart from the client's so the two check each other.
func dingTalkSign(secret, timestamp string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'\n'})
	mac.Write([]byte(secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func dingTalkParse(s *Server, body []byte, _ time.Time) (Received, *refusal) {
	m, ok := decodeObject(body)
	if !ok {
		return Received{}, &refusal{code: 40035, msg: "缺少参数 json"}
	}
	rec := Received{Body: m}
	rec.MsgType, _ = str(m, "msgtype")
	switch rec.MsgType {
	case "text":
		text, _ := obj(m, "text")
		rec.Text, _ = str(text, "content")
		if rec.Text == "" {
			return Received{}, &refusal{code: 40035, msg: "缺少参数 text.content"}
		}
	case "markdown":
		md, _ := obj(m, "markdown")
		rec.Title, _ = str(md, "title")
		rec.Text, _ = str(md, "text")
		if rec.Title == "" || rec.Text == "" {
			return Received{}, &refusal{code: 40035, msg: "缺少参数 markdown.title/markdown.text"}
		}
	default:
		// The service also knows link, actionCard and feedCard; facilityd sends none.
		return Received{}, &refusal{code: 400105, msg: "不支持的消息类型"}
	}
	if len(rec.Title)+len(rec.Text) > dingTalkTextMax {
		return Received{}, &refusal{code: 460101, msg: "message too long, exceed " + itoa(dingTalkTextMax) + " bytes"}
	}
	if !s.hasKeyword(rec.Title + rec.Text) {
		return Received{}, &refusal{code: 310000, msg: "keywords not in content"}
	}
	if ref := dingTalkAt(m, &rec); ref != nil {
		return Received{}, ref
	}
	return rec, nil
}

// dingTalkAt reads the at block. DingTalk rings a mentioned person only if "@mobile" or
// "@userId" also appears in the content ("在content里添加@人的手机号"), so Mentions lists only
// those: a client that forgets the content part shows up in the test as nobody mentioned.
func dingTalkAt(m map[string]any, rec *Received) *refusal {
	raw, present := m["at"]
	if !present || raw == nil {
		return nil
	}
	at, ok := raw.(map[string]any)
	mobiles, ok1 := stringList(at, "atMobiles")
	users, ok2 := stringList(at, "atUserIds")
	all, ok3 := at["isAtAll"]
	if _, isBool := all.(bool); !ok || !ok1 || !ok2 || (ok3 && !isBool) {
		return &refusal{code: 40035, msg: "缺少参数 at: atMobiles/atUserIds are lists of strings, isAtAll a boolean"}
	}
	rec.AtAll = all == true
	for _, id := range append(mobiles, users...) {
		if strings.Contains(rec.Text, "@"+id) {
			rec.Mentions = append(rec.Mentions, id)
		}
	}
	return nil
}
