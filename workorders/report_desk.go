package workorders

import (
	"context"
	"fmt"
	"html"
	"strconv"
	"strings"
	"time"
)

// The customer-service desk's part of the report: the problems the period's follow-up calls
// found (将当月发现的问题汇总分析), the charges and the materials drawn for the stock-take
// (月底、季度、年底盘点), and in a yearly report the surveys' owners' satisfaction beside the
// per-call satisfaction.

// desk fills the desk's sections from called (the orders that can hold the period's calls),
// the store's charges and materials, and, for a year, its surveys; first is the first
// follow-up level, whose calls are the per-call satisfaction.
func (r *Report) desk(ctx context.Context, st Store, called []*Order, first string) error {
	r.Problems = Problems(called, r.From, r.To)
	if r.Problems == nil {
		r.Problems = []Problem{}
	}
	// An order is charged and drawn for after it is created: any created before the end counts.
	all, err := st.List(ctx, Filter{To: r.To})
	if err != nil {
		return fmt.Errorf("report charges: %w", err)
	}
	r.Charges, r.Materials = stockOf(all, r.From, r.To)
	if !r.isYear() {
		return nil
	}
	if r.Year, err = yearSummary(ctx, st, r.From.Year(), r.From.Location(), first); err != nil {
		return fmt.Errorf("report surveys: %w", err)
	}
	return nil
}

// isYear reports whether the period is a calendar year: the report that carries the surveys.
func (r *Report) isYear() bool {
	return r.From.Month() == time.January && r.From.Day() == 1 && r.From.AddDate(1, 0, 0).Equal(r.To)
}

// pointNames are the points found wanting in the report's language; a complaint's call has
// no points and is "not satisfied".
func (r *Report) pointNames(p Problem) string {
	if len(p.Points) == 0 {
		return r.lang.T("report.problems.unsatisfied")
	}
	names := make([]string, len(p.Points))
	for i, pt := range p.Points {
		names[i] = r.lang.T("report.point." + pt)
	}
	return strings.Join(names, r.lang.T("report.list_sep"))
}

// problemsSummary is the count of problems and of each point found wanting.
func (r *Report) problemsSummary() string {
	if len(r.Problems) == 0 {
		return r.lang.T("report.problems.none")
	}
	n := map[string]int{}
	for _, p := range r.Problems {
		for _, pt := range p.Points {
			n[pt]++
		}
	}
	return r.lang.T("report.problems.summary", "n", len(r.Problems), "timeliness", n["timeliness"], "quality", n["quality"], "satisfaction", n["satisfaction"])
}

// problemTable is the problems as a table: one row per unsatisfied answer.
func (r *Report) problemTable() table {
	var head []string
	for _, k := range []string{"order", "at", "level", "category", "zone", "home", "technician", "points", "note"} {
		head = append(head, r.lang.T("report.problems.col."+k))
	}
	var rows [][]string
	for _, p := range r.Problems {
		rows = append(rows, []string{p.Order, p.At.In(r.From.Location()).Format("2006-01-02 15:04"), r.named("report.level.", p.Level) + " (" + p.By + ")",
			r.named("category.", p.Category), orDash(p.Zone), orDash(p.Location), orDash(p.Assignee), r.pointNames(p), orDash(p.Note)})
	}
	return table{head, rows}
}

// chargeTable and materialTable are the stock-take's tables.
func (r *Report) chargeTable() table {
	t := r.lang.T
	head := []string{t("report.col.category"), t("report.charges.col.orders"), t("report.charges.col.total")}
	var rows [][]string
	for _, c := range r.Charges {
		rows = append(rows, []string{r.named("category.", c.Category), strconv.Itoa(c.Orders), yuan(c.Total)})
	}
	return table{head, rows}
}

func (r *Report) materialTable() table {
	t := r.lang.T
	head := []string{t("report.materials.col.part"), t("report.materials.col.qty"), t("report.col.orders")}
	var rows [][]string
	for _, m := range r.Materials {
		rows = append(rows, []string{m.Part, strconv.FormatFloat(m.Qty, 'f', -1, 64), strconv.Itoa(m.Orders)})
	}
	return table{head, rows}
}

// yearRows are the yearly satisfaction figures: the owners' overall satisfaction from the
// year-end survey against the plans' 80% (业主满意率达 80%以上), and beside it, not mixed in,
// the per-call satisfaction of the year's follow-up calls.
func (r *Report) yearRows() [][2]string {
	y, t := r.Year, r.lang.T
	owners := t("report.year.no_survey")
	if s := y.Satisfaction; s != nil {
		verdict := t("report.year.short")
		if y.Qualifies {
			verdict = t("report.year.qualifies")
		}
		owners = t("report.kpi.level_value", "share", share(s.Satisfied, s.Rated), "target", strconv.FormatFloat(100*y.OwnersTarget, 'f', 0, 64)+"%", "verdict", verdict)
	}
	return [][2]string{{t("report.year.owners"), owners}, {t("report.year.calls"), share(y.CallsSatisfied, y.Calls)}}
}

// surveyTable is each survey of the year: homes asked, answered, rated and satisfied.
func (r *Report) surveyTable() table {
	t := r.lang.T
	var head []string
	for _, k := range []string{"survey", "sampled", "answered", "rated", "satisfied"} {
		head = append(head, t("report.year.col."+k))
	}
	var rows [][]string
	for _, s := range r.surveys() {
		rows = append(rows, []string{s.ID, strconv.Itoa(s.Sampled), strconv.Itoa(s.Answered), strconv.Itoa(s.Rated), strconv.Itoa(s.Satisfied)})
	}
	return table{head, rows}
}

// surveys are the year's surveys, the opinion surveys first.
func (r *Report) surveys() []SurveyResult {
	out := append([]SurveyResult(nil), r.Year.Opinion...)
	if r.Year.Satisfaction != nil {
		out = append(out, *r.Year.Satisfaction)
	}
	return out
}

// table is a section's headings and rows, written as Markdown or HTML.
type table struct {
	head []string
	rows [][]string
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// mdTable writes a Markdown table, every cell kept from breaking its row.
func mdTable(b *strings.Builder, tb table) {
	head, rows := tb.head, tb.rows
	fmt.Fprintf(b, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat(" --- |", len(head)))
	for _, row := range rows {
		cells := make([]string, len(row))
		for i, c := range row {
			cells[i] = mdCell(c)
		}
		fmt.Fprintf(b, "| %s |\n", strings.Join(cells, " | "))
	}
}

// htmlTable writes an HTML table, every cell escaped.
func htmlTable(b *strings.Builder, tb table) {
	head, rows := tb.head, tb.rows
	b.WriteString("<table>\n<tr>")
	for _, h := range head {
		fmt.Fprintf(b, "<th>%s</th>", html.EscapeString(h))
	}
	b.WriteString("</tr>\n")
	for _, row := range rows {
		b.WriteString("<tr>")
		for _, c := range row {
			fmt.Fprintf(b, "<td>%s</td>", html.EscapeString(c))
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</table>\n")
}

// deskMarkdown writes the problems found and, when there were any, the charges and materials.
func (r *Report) deskMarkdown(b *strings.Builder) {
	t := r.lang.T
	fmt.Fprintf(b, "\n## %s\n\n%s\n", t("report.problems"), r.problemsSummary())
	if len(r.Problems) > 0 {
		b.WriteString("\n")
		mdTable(b, r.problemTable())
	}
	if len(r.Charges) == 0 && len(r.Materials) == 0 {
		return
	}
	fmt.Fprintf(b, "\n## %s\n", t("report.charges"))
	if len(r.Charges) > 0 {
		b.WriteString("\n")
		mdTable(b, r.chargeTable())
	}
	if len(r.Materials) > 0 {
		fmt.Fprintf(b, "\n%s\n\n", t("report.materials"))
		mdTable(b, r.materialTable())
	}
}

// deskHTML writes the same sections on the report's page.
func (r *Report) deskHTML(b *strings.Builder) {
	t := r.lang.T
	fmt.Fprintf(b, "<h2>%s</h2>\n<p>%s</p>\n", html.EscapeString(t("report.problems")), html.EscapeString(r.problemsSummary()))
	if len(r.Problems) > 0 {
		htmlTable(b, r.problemTable())
	}
	if len(r.Charges) == 0 && len(r.Materials) == 0 {
		return
	}
	fmt.Fprintf(b, "<h2>%s</h2>\n", html.EscapeString(t("report.charges")))
	if len(r.Charges) > 0 {
		htmlTable(b, r.chargeTable())
	}
	if len(r.Materials) > 0 {
		fmt.Fprintf(b, "<p>%s</p>\n", html.EscapeString(t("report.materials")))
		htmlTable(b, r.materialTable())
	}
}

// deskCSV adds the problems (a count per point found wanting, then each answer with the
// number of points), the charges in fen and the materials' quantities to the CSV.
func (r *Report) deskCSV(add func(sec, name, metric string, v any)) {
	add("problems", r.Month, "unsatisfied_answers", len(r.Problems))
	n := map[string]int{}
	for _, p := range r.Problems {
		for _, pt := range p.Points {
			n[pt]++
		}
	}
	for _, pt := range PointNames {
		add("problems", pt, "found_wanting", n[pt])
	}
	for _, p := range r.Problems {
		add("problem", p.Order, "points_wanting_"+p.Level, len(p.Points))
	}
	for _, c := range r.Charges {
		add("charges", c.Category, "orders", c.Orders)
		add("charges", c.Category, "total_fen", c.Total)
	}
	for _, m := range r.Materials {
		add("materials", m.Part, "qty", m.Qty)
		add("materials", m.Part, "orders", m.Orders)
	}
}

// yearMarkdown writes a yearly report's satisfaction section: the owners' overall
// satisfaction and the per-call satisfaction, each survey, and the opinions the residents gave.
func (r *Report) yearMarkdown(b *strings.Builder) {
	if r.Year == nil {
		return
	}
	t := r.lang.T
	fmt.Fprintf(b, "\n## %s\n\n| %s | %s |\n| --- | --- |\n", t("report.year", "year", r.Year.Year), t("report.col.figure"), t("report.col.value"))
	for _, k := range r.yearRows() {
		fmt.Fprintf(b, "| %s | %s |\n", k[0], k[1])
	}
	if s := r.surveys(); len(s) > 0 {
		b.WriteString("\n")
		mdTable(b, r.surveyTable())
		for _, sv := range s {
			for _, o := range sv.Opinions {
				fmt.Fprintf(b, "\n- %s: %s", sv.ID, strings.ReplaceAll(o, "\n", " "))
			}
		}
		b.WriteString("\n")
	}
}

func (r *Report) yearHTML(b *strings.Builder) {
	if r.Year == nil {
		return
	}
	t := r.lang.T
	fmt.Fprintf(b, "<h2>%s</h2>\n<table>\n", html.EscapeString(t("report.year", "year", r.Year.Year)))
	for _, k := range r.yearRows() {
		fmt.Fprintf(b, "<tr><th>%s</th><td>%s</td></tr>\n", html.EscapeString(k[0]), html.EscapeString(k[1]))
	}
	b.WriteString("</table>\n")
	if s := r.surveys(); len(s) > 0 {
		htmlTable(b, r.surveyTable())
		b.WriteString("<ul>\n")
		for _, sv := range s {
			for _, o := range sv.Opinions {
				fmt.Fprintf(b, "<li>%s: %s</li>\n", html.EscapeString(sv.ID), html.EscapeString(o))
			}
		}
		b.WriteString("</ul>\n")
	}
}

// yearCSV adds the year's satisfaction: the owners' (rated, satisfied, target) and the calls'.
func (r *Report) yearCSV(add func(sec, name, metric string, v any)) {
	y := r.Year
	if y == nil {
		return
	}
	name := strconv.Itoa(y.Year)
	rated, satisfied := 0, 0
	if s := y.Satisfaction; s != nil {
		rated, satisfied = s.Rated, s.Satisfied
	}
	add("year", name, "owners_rated", rated)
	add("year", name, "owners_satisfied", satisfied)
	add("year", name, "owners_target", y.OwnersTarget)
	add("year", name, "calls", y.Calls)
	add("year", name, "calls_satisfied", y.CallsSatisfied)
	for _, s := range r.surveys() {
		add("survey", s.ID, "sampled", s.Sampled)
		add("survey", s.ID, "answered", s.Answered)
		add("survey", s.ID, "rated", s.Rated)
		add("survey", s.ID, "satisfied", s.Satisfied)
	}
}
