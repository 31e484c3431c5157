package robots_test

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/internal/robotfake"
	"github.com/facilityd/facilityd/internal/robots"
)

var t0 = time.Date(2026, 12, 2, 2, 30, 0, 0, time.UTC)

const alert = "P1 一号楼 B2 水泵坑水位高\n液位 1.8 m，高于 1.5 m 报警值\n认领：回复 1"

func jsonMap(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("bad expected JSON %s: %v", s, err)
	}
	return m
}

func sendOne(t *testing.T, r robots.Robot, fake *robotfake.Server, m robots.Message) robotfake.Received {
	t.Helper()
	if err := r.Send(context.Background(), m); err != nil {
		t.Fatalf("send: %v (fake refused: %+v)", err, fake.Refusals())
	}
	got := fake.Messages()
	return got[len(got)-1]
}

func assertBody(t *testing.T, got robotfake.Received, want string) {
	t.Helper()
	if w := jsonMap(t, want); !reflect.DeepEqual(got.Body, w) {
		g, _ := json.Marshal(got.Body)
		t.Errorf("body\n got %s\nwant %s", g, want)
	}
}

func TestWeComBodies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		msgType  string
		msg      robots.Message
		body     string
		mentions []string
		atAll    bool
	}{
		{"plain text", "text", robots.Message{Text: "P3 lamp L-12 out"},
			`{"msgtype":"text","text":{"content":"P3 lamp L-12 out"}}`, nil, false},
		{"text mentions mobiles, users and all", "text",
			robots.Message{Text: alert, Mobiles: []string{"13800000001"}, UserIDs: []string{"zhangsan"}, AtAll: true},
			`{"msgtype":"text","text":{"content":"` + jsonEsc(alert) + `","mentioned_list":["zhangsan","@all"],"mentioned_mobile_list":["13800000001"]}}`,
			[]string{"13800000001", "zhangsan"}, true},
		{"markdown with user ids", "markdown",
			robots.Message{Text: alert, Markdown: "**P1** B2 水泵坑", UserIDs: []string{"zhangsan", "lisi"}},
			`{"msgtype":"markdown","markdown":{"content":"**P1** B2 水泵坑\n<@zhangsan> <@lisi>"}}`,
			[]string{"zhangsan", "lisi"}, false},
		{"markdown robot, @all needed: text", "markdown",
			robots.Message{Text: "P1 fire", Markdown: "**P1** fire", AtAll: true},
			`{"msgtype":"text","text":{"content":"P1 fire","mentioned_list":["@all"]}}`, nil, true},
		{"markdown robot, mobile needed: text", "markdown",
			robots.Message{Text: "P1 fire", Markdown: "**P1** fire", Mobiles: []string{"13800000001"}},
			`{"msgtype":"text","text":{"content":"P1 fire","mentioned_mobile_list":["13800000001"]}}`, []string{"13800000001"}, false},
		{"markdown robot, no markdown given: text", "markdown", robots.Message{Text: "P2 lift"},
			`{"msgtype":"text","text":{"content":"P2 lift"}}`, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := robotfake.NewWeCom(t)
			r, err := robots.NewWeCom(robots.WeComConfig{URL: fake.URL(), MsgType: tt.msgType})
			if err != nil {
				t.Fatal(err)
			}
			got := sendOne(t, r, fake, tt.msg)
			assertBody(t, got, tt.body)
			if !slices.Equal(got.Mentions, tt.mentions) || got.AtAll != tt.atAll {
				t.Errorf("mentions %v all %v, want %v %v", got.Mentions, got.AtAll, tt.mentions, tt.atAll)
			}
		})
	}
}

func jsonEsc(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

func TestDingTalkBodies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		msgType  string
		msg      robots.Message
		body     string
		mentions []string
		atAll    bool
	}{
		{"plain text", "text", robots.Message{Text: "P3 lamp L-12 out"},
			`{"msgtype":"text","text":{"content":"P3 lamp L-12 out"}}`, nil, false},
		{"mentions are in at and in the content", "text",
			robots.Message{Text: "P1 fire zone 3", Mobiles: []string{"13800000001"}, UserIDs: []string{"manager4153"}},
			`{"msgtype":"text","text":{"content":"P1 fire zone 3\n@13800000001 @manager4153"},"at":{"atMobiles":["13800000001"],"atUserIds":["manager4153"]}}`,
			[]string{"13800000001", "manager4153"}, false},
		{"at all", "text", robots.Message{Text: "P1 fire zone 3", AtAll: true},
			`{"msgtype":"text","text":{"content":"P1 fire zone 3"},"at":{"isAtAll":true}}`, nil, true},
		{"markdown: title is the first line", "markdown",
			robots.Message{Text: alert, Markdown: "### P1 水泵坑\n液位 **1.8 m**", Mobiles: []string{"13800000001"}},
			`{"msgtype":"markdown","markdown":{"title":"P1 一号楼 B2 水泵坑水位高","text":"### P1 水泵坑\n液位 **1.8 m**\n@13800000001"},"at":{"atMobiles":["13800000001"]}}`,
			[]string{"13800000001"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := robotfake.NewDingTalk(t, "SECsecret")
			fake.SetNow(func() time.Time { return t0.Add(30 * time.Minute) }) // clocks apart, inside the hour
			r, err := robots.NewDingTalk(robots.DingTalkConfig{URL: fake.URL(), Secret: "SECsecret", MsgType: tt.msgType, Now: func() time.Time { return t0 }})
			if err != nil {
				t.Fatal(err)
			}
			got := sendOne(t, r, fake, tt.msg) // accepted: the fake verified the signature
			assertBody(t, got, tt.body)
			if !slices.Equal(got.Mentions, tt.mentions) || got.AtAll != tt.atAll {
				t.Errorf("mentions %v all %v, want %v %v", got.Mentions, got.AtAll, tt.mentions, tt.atAll)
			}
		})
	}
}

func TestFeishuBodies(t *testing.T) {
	t.Parallel()
	const sign = "89hSLiLjeasG/H9nanjgSmbVYTyhqVPNwFWTh1qCAzo=" // feishu-test-secret at t0, see sign_test.go
	tests := []struct {
		name     string
		msg      robots.Message
		text     string
		mentions []string
		atAll    bool
	}{
		{"plain text", robots.Message{Text: "P3 lamp L-12 out"}, "P3 lamp L-12 out", nil, false},
		{"at all, open ids, and mobiles as text", robots.Message{Text: "P1 fire zone 3", AtAll: true, UserIDs: []string{"ou_7d8a6e"}, Mobiles: []string{"13800000001"}},
			`P1 fire zone 3\n<at user_id=\"all\">所有人</at> <at user_id=\"ou_7d8a6e\"></at> @13800000001`, []string{"ou_7d8a6e"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := robotfake.NewFeishu(t, "feishu-test-secret")
			fake.SetNow(func() time.Time { return t0.Add(-50 * time.Minute) })
			r, err := robots.NewFeishu(robots.FeishuConfig{URL: fake.URL(), Secret: "feishu-test-secret", Now: func() time.Time { return t0 }})
			if err != nil {
				t.Fatal(err)
			}
			got := sendOne(t, r, fake, tt.msg)
			assertBody(t, got, `{"timestamp":"1796178600","sign":"`+sign+`","msg_type":"text","content":{"text":"`+tt.text+`"}}`)
			if !slices.Equal(got.Mentions, tt.mentions) || got.AtAll != tt.atAll {
				t.Errorf("mentions %v all %v, want %v %v", got.Mentions, got.AtAll, tt.mentions, tt.atAll)
			}
		})
	}
}

func TestUnsignedRobots(t *testing.T) {
	t.Parallel()
	ding := robotfake.NewDingTalk(t, "")
	d, _ := robots.NewDingTalk(robots.DingTalkConfig{URL: ding.URL()})
	got := sendOne(t, d, ding, robots.Message{Text: "P2"})
	if strings.Contains(got.Text, "sign") {
		t.Errorf("unsigned text %q", got.Text)
	}
	fs := robotfake.NewFeishu(t, "")
	f, _ := robots.NewFeishu(robots.FeishuConfig{URL: fs.URL()})
	assertBody(t, sendOne(t, f, fs, robots.Message{Text: "P2"}), `{"msg_type":"text","content":{"text":"P2"}}`)
}

func TestSizeLimits(t *testing.T) {
	t.Parallel()
	long := "P1 一号楼 B2 水泵坑水位高\n" + strings.Repeat("详情 \"引号\" 与换行\n", 3000) // ~78 kB, quotes and newlines grow in JSON
	wecom, ding, feishu := robotfake.NewWeCom(t), robotfake.NewDingTalk(t, "s"), robotfake.NewFeishu(t, "s")
	ww, _ := robots.NewWeCom(robots.WeComConfig{URL: wecom.URL()})
	wm, _ := robots.NewWeCom(robots.WeComConfig{URL: wecom.URL(), MsgType: "markdown"})
	d, _ := robots.NewDingTalk(robots.DingTalkConfig{URL: ding.URL(), Secret: "s"})
	f, _ := robots.NewFeishu(robots.FeishuConfig{URL: feishu.URL(), Secret: "s"})
	tests := []struct {
		name    string
		robot   robots.Robot
		fake    *robotfake.Server
		msg     robots.Message
		limit   int
		mention string
	}{
		{"wecom text 2048 bytes", ww, wecom, robots.Message{Text: long, Mobiles: []string{"13800000001"}}, 2048, ""},
		{"wecom markdown 4096 bytes", wm, wecom, robots.Message{Text: long, Markdown: long, UserIDs: []string{"zhangsan"}}, 4096, "<@zhangsan>"},
		{"dingtalk 20000 bytes, mention kept", d, ding, robots.Message{Text: long + long, Mobiles: []string{"13800000001"}}, 20000, "@13800000001"},
		{"feishu body 20000 bytes, mention kept", f, feishu, robots.Message{Text: long, AtAll: true}, 20000, `<at user_id="all">所有人</at>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sendOne(t, tt.robot, tt.fake, tt.msg)
			if len(got.Text) > tt.limit || !strings.HasPrefix(got.Text, "P1 一号楼 B2 水泵坑水位高\n") || !strings.Contains(got.Text, robots.Ellipsis) {
				t.Errorf("%d bytes, starting %q: want at most %d, the first line kept, the cut marked", len(got.Text), got.Text[:40], tt.limit)
			}
			if !strings.HasSuffix(got.Text, tt.mention) {
				t.Errorf("text ends %q, want the mention %q kept", got.Text[len(got.Text)-40:], tt.mention)
			}
		})
	}
}
