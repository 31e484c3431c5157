package workorders

import "strings"

// formulaStarts are the first characters that make a spreadsheet read a cell as a formula or
// a command (OWASP, "CSV Injection": = + - @, and tab and carriage return, which some
// spreadsheets skip before looking for one).
const formulaStarts = "=+-@\t\r"

// csvText neutralises a free-text cell of a report (a zone, team or technician name, all typed
// by people) by prefixing a single quote when it starts like a formula, as OWASP advises, so
// that `=HYPERLINK(...)` in a technician's name opens as text, not as a link to click. Numbers
// are written as they are and never pass through here, so a negative figure stays a number.
func csvText(s string) string {
	if s != "" && strings.ContainsRune(formulaStarts, rune(s[0])) {
		return "'" + s
	}
	return s
}
