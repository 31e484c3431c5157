package locale

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestCataloguesHaveTheSameKeys fails on a message one language lacks: a Chinese site would
// see an English sentence (or a key) where the gap is.
func TestCataloguesHaveTheSameKeys(t *testing.T) {
	for _, a := range Supported {
		for _, b := range Supported {
			for _, k := range a.Keys() {
				if !b.Has(k) {
					t.Errorf("%s has %q, %s does not", a, k, b)
				}
			}
		}
	}
}

var placeholder = regexp.MustCompile(`\{[a-z_]+\}`)

// TestPlaceholdersMatch: a translation that drops {building} loses where the alarm is.
func TestPlaceholdersMatch(t *testing.T) {
	for _, k := range EN.Keys() {
		en := placeholder.FindAllString(EN.T(k), -1)
		zh := placeholder.FindAllString(ZhCN.T(k), -1)
		slices.Sort(en)
		slices.Sort(zh)
		if !slices.Equal(slices.Compact(en), slices.Compact(zh)) {
			t.Errorf("%s: en has %v, zh-CN has %v", k, en, zh)
		}
	}
}

// TestChineseUsesTheGlossary holds every zh-CN message to the trade's terms.
func TestChineseUsesTheGlossary(t *testing.T) {
	terms, err := Glossary()
	if err != nil {
		t.Fatal(err)
	}
	if len(terms) < 20 {
		t.Fatalf("glossary has %d terms", len(terms))
	}
	for _, k := range EN.Keys() {
		if m := Misses(terms, EN.T(k), ZhCN.T(k)); len(m) > 0 {
			t.Errorf("%s: %q lacks %s", k, ZhCN.T(k), strings.Join(m, ", "))
		}
	}
}

func TestMissesNamesTheTerm(t *testing.T) {
	terms := []Term{{Zh: "困人", En: []string{"passengers trapped"}}, {Zh: "片区", En: []string{"zone"}, Unless: []string{"zone {n}"}}}
	if m := Misses(terms, "Elevator E-1: passengers trapped", "电梯 E-1：乘客被困"); len(m) != 1 || !strings.HasPrefix(m[0], "困人") {
		t.Errorf("Misses = %v, want 困人", m)
	}
	if m := Misses(terms, "FIRE ALARM zone {n}", "{n} 号防区火警"); len(m) != 0 {
		t.Errorf("a fire zone is not a patrol zone: %v", m)
	}
	if m := Misses(terms, "zones compared", "各片区对比"); len(m) != 0 {
		t.Errorf("Misses = %v", m)
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     Locale
		err      bool
	}{
		{"default", "", EN, false},
		{"english", "en", EN, false},
		{"chinese", "zh-CN", ZhCN, false},
		{"posix", "zh_CN", ZhCN, false},
		{"lower", "zh-cn", ZhCN, false},
		{"unknown", "fr", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if (err != nil) != tc.err || got != tc.want {
				t.Fatalf("Parse(%q) = %q, %v", tc.in, got, err)
			}
			if err != nil && !strings.Contains(err.Error(), "zh-CN") {
				t.Errorf("error %q does not name the supported locales", err)
			}
		})
	}
}

func TestTFillsArgumentsInEachLanguagesOrder(t *testing.T) {
	args := []any{"name", "Elevator E-1", "location", "lobby", "building", "3", "what", "X"}
	if got := EN.T("alarm.text.full", args...); got != "Elevator E-1, lobby, building 3: X" {
		t.Errorf("en: %q", got)
	}
	if got := ZhCN.T("alarm.text.full", args...); got != "3栋 lobby Elevator E-1：X" {
		t.Errorf("zh-CN: %q", got)
	}
	if got := ZhCN.T("no.such.key"); got != "no.such.key" {
		t.Errorf("a missing key shows as %q", got)
	}
}

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		d      time.Duration
		en, zh string
	}{
		{4 * time.Minute, "4 min", "4 分钟"},
		{65 * time.Minute, "1 h 5 min", "1 小时 5 分钟"},
		{2 * time.Hour, "2 h", "2 小时"},
		{30 * time.Second, "30 s", "30 秒"},
		{95 * time.Second, "1 min 35 s", "1 分钟 35 秒"},
	} {
		if got := EN.Duration(tc.d); got != tc.en {
			t.Errorf("en %v = %q, want %q", tc.d, got, tc.en)
		}
		if got := ZhCN.Duration(tc.d); got != tc.zh {
			t.Errorf("zh-CN %v = %q, want %q", tc.d, got, tc.zh)
		}
	}
}

// TestTableAlignsChinese: a Chinese header must not push the columns under it out of line on
// a terminal, where 优先级 takes six columns.
func TestTableAlignsChinese(t *testing.T) {
	var b strings.Builder
	tw := NewTable(&b)
	tw.Write([]byte("编号\t优先级\t内容\nP-1/pump_trip\tcritical\t水泵跳闸\n"))
	if err := tw.Flush(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	col := func(l, cell string) int { return Width(l[:strings.Index(l, cell)]) }
	if a, c := col(lines[0], "优先级"), col(lines[1], "critical"); a != c {
		t.Errorf("second column at %d in the header, %d below:\n%s", a, c, b.String())
	}
	if a, c := col(lines[0], "内容"), col(lines[1], "水泵跳闸"); a != c {
		t.Errorf("third column at %d in the header, %d below:\n%s", a, c, b.String())
	}
}
