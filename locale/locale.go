// Package locale is the site's language: message catalogues for everything facilityd writes
// for people (alarm messages, handset alerts, work orders, the monthly report, CLI headers),
// looked up by key with named arguments, so that each language writes whole sentences in its
// own word order. Identifiers (ids, states, JSON keys, metric names, topics) are never
// translated: machines read those. The terms of the trade are fixed in glossary.yaml, and a
// test holds the Chinese catalogue to them.
package locale

import (
	"embed"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Locale is a language facilityd speaks, as a BCP 47 tag.
type Locale string

// The languages with a catalogue. English is the default: a site sets zh-CN with
// `locale: zh-CN` or FACILITYD_LOCALE=zh-CN.
const (
	EN   Locale = "en"
	ZhCN Locale = "zh-CN"
)

// Supported lists the locales in the order the README and errors name them.
var Supported = []Locale{EN, ZhCN}

//go:embed en.yaml zh-CN.yaml glossary.yaml
var files embed.FS

var catalogues = map[Locale]map[string]string{}

func init() {
	for _, l := range Supported {
		data, err := files.ReadFile(string(l) + ".yaml")
		if err != nil {
			panic(err)
		}
		m := map[string]string{}
		if err := yaml.Unmarshal(data, &m); err != nil {
			panic(fmt.Sprintf("locale %s: %v", l, err))
		}
		catalogues[l] = m
	}
}

// Parse reads a configured locale; the empty string is English. It accepts the tag in any
// case and with "_" (zh_CN, as a POSIX LANG writes it), and names the supported ones when it
// refuses.
func Parse(s string) (Locale, error) {
	t := strings.ReplaceAll(strings.TrimSpace(s), "_", "-")
	switch strings.ToLower(t) {
	case "", "en", "en-us", "en-gb":
		return EN, nil
	case "zh-cn", "zh", "zh-hans", "zh-hans-cn":
		return ZhCN, nil
	}
	return "", fmt.Errorf("%q is not a supported locale: use en or zh-CN", s)
}

// T is the message of key in l, with "{name}" placeholders filled from args, given as name,
// value pairs (as slog takes them). A key missing from l falls back to English, then to the
// key itself, so a gap shows as a key rather than as nothing; the catalogue test fails on any
// gap before it ships.
func (l Locale) T(key string, args ...any) string {
	msg, ok := catalogues[l][key]
	if !ok {
		if msg, ok = catalogues[EN][key]; !ok {
			return key
		}
	}
	return fill(msg, args)
}

// Has reports whether l's catalogue has key.
func (l Locale) Has(key string) bool {
	_, ok := catalogues[l][key]
	return ok
}

// Chinese reports whether l is a Chinese locale, for the few layouts that differ beyond words
// (no space between a number and its Chinese unit).
func (l Locale) Chinese() bool { return strings.HasPrefix(string(l), "zh") }

func fill(msg string, args []any) string {
	if len(args) == 0 || !strings.Contains(msg, "{") {
		return msg
	}
	pairs := make([]string, 0, len(args))
	for i := 0; i+1 < len(args); i += 2 {
		pairs = append(pairs, "{"+fmt.Sprint(args[i])+"}", format(args[i+1]))
	}
	return strings.NewReplacer(pairs...).Replace(msg)
}

func format(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case time.Time:
		return x.Format(TimeLayout)
	}
	return fmt.Sprint(v)
}

// TimeLayout is how both languages write a moment for people: 2026-11-29 09:41, as Chinese
// documents do and as English readers read without ambiguity.
const TimeLayout = "2006-01-02 15:04"

// Duration writes d for people: seconds under a minute, minutes and seconds under an hour,
// then hours and minutes: "1 min 35 s", "1 h 5 min"; "1 分钟 35 秒", "1 小时 5 分钟".
func (l Locale) Duration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	if d < time.Minute {
		return l.T("unit.seconds", "n", int(d.Round(time.Second)/time.Second))
	}
	if d < time.Hour {
		d = d.Round(time.Second)
		m, s := int(d/time.Minute), int(d%time.Minute/time.Second)
		if s == 0 {
			return l.T("unit.minutes", "n", m)
		}
		return l.T("unit.minutes_seconds", "m", m, "s", s)
	}
	d = d.Round(time.Minute)
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	if m == 0 {
		return l.T("unit.hours", "n", h)
	}
	return l.T("unit.hours_minutes", "h", h, "m", m)
}

// Keys returns every key of l's catalogue, for the tests that compare languages.
func (l Locale) Keys() []string {
	out := make([]string, 0, len(catalogues[l]))
	for k := range catalogues[l] {
		out = append(out, k)
	}
	return out
}
