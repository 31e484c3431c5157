package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"time"

	"github.com/facilityd/facilityd/workorders"
)

var monthRE = regexp.MustCompile(`^\d{4}-(0[1-9]|1[0-2])$`)

// ReportHandler serves GET /api/v1/workorders/report?month=YYYY-MM[&format=html]: the monthly
// report `facilityd report` writes, as JSON (default) or its self-contained HTML page, from the
// order book of site, with months in loc (workorders.calendar.timezone).
func ReportHandler(site string, loc *time.Location, store workorders.Store, opts workorders.ReportOptions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fail := func(status int, msg string) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
		}
		month := r.URL.Query().Get("month")
		if month == "" {
			month = time.Now().Format("2006-01")
		}
		if !monthRE.MatchString(month) {
			fail(http.StatusBadRequest, "month="+month+": want YYYY-MM, e.g. "+time.Now().Format("2006-01"))
			return
		}
		rep, err := workorders.BuildReport(r.Context(), store, site, month, loc, time.Now(), opts)
		if err != nil {
			fail(http.StatusInternalServerError, "report "+month+": "+err.Error())
			return
		}
		switch r.URL.Query().Get("format") {
		case "", "json":
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(rep)
		case "html":
			var b bytes.Buffer
			if err := rep.WriteHTML(&b); err != nil {
				fail(http.StatusInternalServerError, err.Error())
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Content-Disposition", `attachment; filename="workorders-`+month+`.html"`)
			_, _ = w.Write(b.Bytes())
		default:
			fail(http.StatusBadRequest, "format="+r.URL.Query().Get("format")+": json or html")
		}
	})
}
