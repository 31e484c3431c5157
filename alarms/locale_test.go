package alarms

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/locale"
)

// TestBuiltinRulesSpeakBothLanguages: a rule without its Chinese message would show English
// on a Chinese site's handsets, and one that drops {n} would not say which fire zone.
func TestBuiltinRulesSpeakBothLanguages(t *testing.T) {
	t.Parallel()
	terms, err := locale.Glossary()
	if err != nil {
		t.Fatal(err)
	}
	sets, err := BuiltinRules()
	if err != nil {
		t.Fatal(err)
	}
	ph := regexp.MustCompile(`\{[a-z]+\}`)
	for profile, rs := range sets {
		for _, r := range rs.Rules {
			en, zh := r.Message[locale.EN], r.Message[locale.ZhCN]
			if en == "" || zh == "" {
				t.Errorf("%s rule %s: message in en %q, zh-CN %q: both are needed", profile, r.Name, en, zh)
				continue
			}
			pe, pz := ph.FindAllString(en, -1), ph.FindAllString(zh, -1)
			slices.Sort(pe)
			slices.Sort(pz)
			if !slices.Equal(pe, pz) {
				t.Errorf("%s rule %s: placeholders en %v, zh-CN %v", profile, r.Name, pe, pz)
			}
			if m := locale.Misses(terms, en, zh); len(m) > 0 {
				t.Errorf("%s rule %s: %q lacks %s", profile, r.Name, zh, strings.Join(m, ", "))
			}
		}
	}
}

func TestMessagesInChinese(t *testing.T) {
	t.Parallel()
	cfg := builtinConfig()
	cfg.Locale = locale.ZhCN
	cases := []struct {
		name, device string
		set          []any
		message      string
	}{
		{"entrapment", "L1-1", []any{"fault_code", 21}, "B1栋 B1 lobby, car 1 电梯 L1-1：困人"},
		{"fire alarm", "FP-1", []any{"zone_03", 1}, "B1栋 B1 fire control room 消防主机 FP-1：03 号防区火警"},
		{"pump trip with its cause", "P-1", []any{"overload", 1, "fault", 1}, "B1栋 B1 basement pump room Supply booster pump P-1：水泵跳闸（overload）"},
		{"pit high-high", "P-2", []any{"role", 1, "pit_high", 1}, "B1栋 B1 B2 sump pit Drainage pump P-2：集水坑水位超高"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, cfg, estate(t)...)
			h.clk.set(22 * time.Hour)
			h.set(tc.device, tc.set...)
			if len(h.rec.events) == 0 {
				t.Fatal("no alarm")
			}
			if got := h.rec.events[0].Alarm.Message; got != tc.message {
				t.Errorf("message %q, want %q", got, tc.message)
			}
		})
	}
	t.Run("communication lost", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, cfg, estate(t)...)
		h.eng.Observe(silent(h.dev("L1-1"), h.clk.now()))
		for range 3 {
			h.clk.advance(time.Second)
			h.eng.Observe(silent(h.dev("L1-1"), h.clk.now()))
		}
		var got []string
		for _, e := range h.rec.events {
			got = append(got, e.Alarm.Message)
		}
		if !slices.Contains(got, "B1栋 B1 lobby, car 1 电梯 L1-1：通讯中断") {
			t.Errorf("messages %q, want the elevator's 通讯中断", got)
		}
	})
}

// TestSiteRuleMessages: a site's own rule may give one message (English, shown in every
// language) or one per language.
func TestSiteRuleMessages(t *testing.T) {
	t.Parallel()
	rs, err := ParseRules("site.yaml", []byte(`rules:
  - {name: a, kind: digital, point: x, priority: low, class: equipment, message: "door open"}
  - {name: b, kind: digital, point: x, priority: low, class: equipment, message: {en: "door open", zh-CN: "门未关"}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := rs.Rules[0].Message.In(locale.ZhCN); got != "door open" {
		t.Errorf("one message in zh-CN: %q", got)
	}
	if got := rs.Rules[1].Message.In(locale.ZhCN); got != "门未关" {
		t.Errorf("zh-CN message: %q", got)
	}
	if got := rs.Rules[1].Message.In(locale.EN); got != "door open" {
		t.Errorf("en message: %q", got)
	}
	_, err = ParseRules("site.yaml", []byte(`rules:
  - {name: a, kind: digital, point: x, priority: low, class: equipment, message: {fr: "porte"}}
`))
	if err == nil || !strings.Contains(err.Error(), "site.yaml") || !strings.Contains(err.Error(), `"fr"`) {
		t.Errorf("a message in an unsupported language: %v", err)
	}
}
