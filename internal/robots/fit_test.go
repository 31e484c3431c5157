package robots

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		max  int
		want string
	}{
		{"short text untouched", "P1 fire", 100, "P1 fire"},
		{"exactly the limit untouched", "abcdef", 6, "abcdef"},
		{"ascii cut with the mark", "abcdefghij", 8, "abcde…"},
		{"never half a Chinese character", "一号楼水泵故障", 10, "一号…"}, // 3+3+3 bytes; 9 would leave 0 for …
		{"prefers the line boundary", "P1 B2 pump pit\ndetail one\ndetail two", 33, "P1 B2 pump pit\ndetail one\n…"},
		{"but not if it throws away most of the text", "P1\nlong detail line without breaks", 20, "P1\nlong detail li…"},
		{"limit below the mark", "abcdef", 2, "ab"},
		{"limit below the mark, multibyte", "一二", 2, ""},
		{"zero", "abc", 0, ""},
		{"negative", "abc", -5, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Fit(tt.text, tt.max)
			if got != tt.want {
				t.Errorf("Fit(%q, %d) = %q, want %q", tt.text, tt.max, got, tt.want)
			}
			if len(got) > max(tt.max, 0) || !utf8.ValidString(got) {
				t.Errorf("Fit(%q, %d) = %q: %d bytes or invalid UTF-8", tt.text, tt.max, got, len(got))
			}
		})
	}
}

func FuzzFit(f *testing.F) {
	f.Add("P1 一号楼 B2 水泵坑水位高\n详情\n认领：回复 1", 20)
	f.Add(strings.Repeat("\n", 10), 4)
	f.Add("\xff\xfe abc", 3)
	f.Fuzz(func(t *testing.T, text string, n int) {
		got := Fit(text, n)
		if len(got) > max(n, 0) && len(text) > n {
			t.Fatalf("Fit(%q, %d) = %q: over the limit", text, n, got)
		}
		if len(text) <= n && got != text {
			t.Fatalf("Fit(%q, %d) changed a text within the limit", text, n)
		}
		if utf8.ValidString(text) && !utf8.ValidString(got) {
			t.Fatalf("Fit(%q, %d) = %q: split a rune", text, n, got)
		}
	})
}

func FuzzDecodeAnswer(f *testing.F) {
	f.Add([]byte(`{"errcode":0,"errmsg":"ok"}`))
	f.Add([]byte(`{"code":19021,"msg":"sign match fail","data":{}}`))
	f.Add([]byte(`{"errcode":"45009"}`))
	f.Add([]byte(`<html>proxy</html>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		code, _, ok := decodeAnswer(body)
		if !ok && code != 0 {
			t.Fatalf("not decoded but code %d", code)
		}
		c := client{kind: KindWeCom, endpoint: "http://x/y"}
		_ = c.check(body, classifyWeCom)
	})
}
