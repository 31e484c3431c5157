package locale

import (
	"bytes"
	"io"
	"strings"
	"unicode"
)

// Table is a text/tabwriter for people who read Chinese: it aligns tab-separated cells by
// their width on a terminal, where a Han character takes two columns (tabwriter counts it as
// one, so Chinese headers push every column out of line). Write lines, then Flush.
type Table struct {
	w   io.Writer
	buf bytes.Buffer
}

// NewTable writes aligned columns to w, two spaces apart, at Flush.
func NewTable(w io.Writer) *Table { return &Table{w: w} }

// Write buffers p; lines are aligned at Flush.
func (t *Table) Write(p []byte) (int, error) { return t.buf.Write(p) }

// Flush writes the buffered lines with their columns aligned. Every cell but a line's last is
// padded to its column's widest; a line without tabs is written as it is.
func (t *Table) Flush() error {
	lines := strings.SplitAfter(t.buf.String(), "\n")
	t.buf.Reset()
	var widths []int
	rows := make([][]string, len(lines))
	for i, l := range lines {
		rows[i] = strings.Split(strings.TrimSuffix(l, "\n"), "\t")
		for j, c := range rows[i][:len(rows[i])-1] {
			if j >= len(widths) {
				widths = append(widths, 0)
			}
			widths[j] = max(widths[j], Width(c))
		}
	}
	var out strings.Builder
	for i, r := range rows {
		for j, c := range r {
			out.WriteString(c)
			if j < len(r)-1 {
				out.WriteString(strings.Repeat(" ", widths[j]-Width(c)+2))
			}
		}
		if strings.HasSuffix(lines[i], "\n") {
			out.WriteByte('\n')
		}
	}
	_, err := io.WriteString(t.w, out.String())
	return err
}

// Width is how many terminal columns s takes: two for wide East Asian characters (Han, kana,
// Hangul, full-width forms and punctuation), one for the rest.
func Width(s string) int {
	n := 0
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Han, r), unicode.Is(unicode.Hangul, r), unicode.Is(unicode.Hiragana, r), unicode.Is(unicode.Katakana, r),
			r >= 0x3000 && r <= 0x303f, r >= 0xff01 && r <= 0xff60, r >= 0xffe0 && r <= 0xffe6:
			n += 2
		default:
			n++
		}
	}
	return n
}
