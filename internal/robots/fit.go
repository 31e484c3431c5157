package robots

import (
	"strings"
	"unicode/utf8"
)

// Ellipsis marks where Fit cut a text, so a reader knows there was more.
const Ellipsis = "…"

// Fit returns text cut to at most maxBytes bytes of UTF-8, the vendors' unit for content
// limits. The cut falls on a rune boundary (half a Chinese character is mojibake on every
// phone) and, when a line ends in the second half of what is kept, after that line, so the
// message loses whole lines of detail and never its first line; Ellipsis marks the cut.
func Fit(text string, maxBytes int) string {
	if len(text) <= maxBytes {
		return text
	}
	if maxBytes < len(Ellipsis) {
		return runePrefix(text, max(maxBytes, 0))
	}
	kept := runePrefix(text, maxBytes-len(Ellipsis))
	if nl := strings.LastIndexByte(kept, '\n'); nl >= 0 && nl >= len(kept)/2 {
		kept = kept[:nl+1]
	}
	return kept + Ellipsis
}

// runePrefix is the longest prefix of s of at most n bytes that does not split a rune.
func runePrefix(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
