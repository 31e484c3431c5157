package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/facilityd/facilityd/devices"
)

// InfluxSource says where GET /api/v1/devices/{id}/history reads InfluxDB: the same server and
// bucket the writer writes to, queried with InfluxQL over /query (InfluxDB 1.8, and 2.x through
// its 1.x compatibility API with a DBRP mapping).
type InfluxSource struct {
	URL string
	// Bucket is "database/retention-policy" or "database".
	Bucket string
	// Token is a v2 token, or "user:password" on 1.8 with auth on.
	Token  string
	Client *http.Client
}

// HistoryPoints is about how many points a history answer holds: enough for a chart as wide as
// a screen, few enough to send to a phone.
const HistoryPoints = 300

// MaxHistory is the longest span GET /api/v1/devices/{id}/history answers for.
const MaxHistory = 7 * 24 * time.Hour

// HistoryResponse is GET /api/v1/devices/{id}/history: one point's values over a span, each
// [unix ms, value] with null for a gap. Source says where they came from: "influx", or "live"
// (the in-memory rings, the last hour only) with Note saying why.
type HistoryResponse struct {
	Device string `json:"device"`
	Point  string `json:"point"`
	Unit   string `json:"unit,omitempty"`
	// Kind is "number", "bool" or "enum"; Labels names the enum codes.
	Kind   string            `json:"kind"`
	Labels map[string]string `json:"labels,omitempty"`
	Since  string            `json:"since"`
	Source string            `json:"source"`
	Note   string            `json:"note,omitempty"`
	Values [][2]any          `json:"values"`
}

// HistoryHandler serves GET /api/v1/devices/{id}/history?point=NAME&since=6h from InfluxDB
// when influx is not nil, and from the in-memory rings when it is nil or does not answer.
func HistoryHandler(latest *devices.Latest, rings *devices.History, influx *InfluxSource) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		st, ok := latest.Get(id)
		if !ok {
			writeError(w, http.StatusNotFound, "no device "+quote(id)+"; GET /api/v1/devices lists them")
			return
		}
		name := r.URL.Query().Get("point")
		if st.Device.Profile == nil {
			writeError(w, http.StatusNotFound, "device "+quote(id)+" has no profile")
			return
		}
		p, _, ok := st.Device.Profile.Point(name)
		if !ok {
			names := make([]string, 0, len(st.Device.Profile.Points))
			for _, pt := range st.Device.Profile.Points {
				names = append(names, pt.Name)
			}
			writeError(w, http.StatusBadRequest, fmt.Sprintf("point=%s: device %s has no such point; it has %s", quote(name), id, strings.Join(names, ", ")))
			return
		}
		if p.Type == devices.TypeString {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("point=%s: a text point has no chart", name))
			return
		}
		span, spanText := 6*time.Hour, "6h"
		if s := r.URL.Query().Get("since"); s != "" {
			d, err := time.ParseDuration(s)
			if err != nil || d <= 0 || d > MaxHistory {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("since=%s: want a duration like 30m or 6h, at most %v", quote(s), MaxHistory))
				return
			}
			span, spanText = d, s
		}
		out := HistoryResponse{Device: id, Point: name, Unit: p.Unit, Kind: "number", Since: spanText, Values: [][2]any{}}
		switch {
		case p.IsBool():
			out.Kind = "bool"
		case p.Type == devices.TypeEnum:
			out.Kind = "enum"
			out.Labels = map[string]string{}
			for code, l := range p.Enum {
				out.Labels[fmt.Sprint(code)] = l
			}
		}
		if influx != nil {
			vals, err := influx.query(r.Context(), st.Device, p, span)
			if err == nil {
				out.Source, out.Values = "influx", vals
				writeJSON(w, http.StatusOK, out)
				return
			}
			out.Note = "InfluxDB did not answer (" + err.Error() + "); showing the live cache's last hour"
		} else {
			out.Note = "no InfluxDB configured (influx.url): showing the live cache's last hour"
		}
		out.Source = "live"
		samples, _ := rings.Since(id, name, time.Now().Add(-span))
		for _, s := range samples {
			var v any = s.Value
			if math.IsNaN(s.Value) {
				v = nil
			}
			out.Values = append(out.Values, [2]any{s.Time, v})
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// query asks InfluxDB for the point's values over span, in about HistoryPoints buckets: the
// mean of numbers, the last state of booleans and enum codes (a mean of codes means nothing).
func (in *InfluxSource) query(ctx context.Context, d *devices.Device, p *devices.Point, span time.Duration) ([][2]any, error) {
	bucket := max(span/HistoryPoints, time.Second).Truncate(time.Second)
	agg := "mean"
	if p.IsBool() || p.Type == devices.TypeEnum {
		agg = "last"
	}
	q := fmt.Sprintf(`SELECT %s(%s) FROM %s WHERE "device" = %s AND time > now() - %ds GROUP BY time(%ds) fill(none)`,
		agg, ident(p.Name), ident(string(d.Kind)), literal(d.ID), int64(span/time.Second), int64(bucket/time.Second))
	db, rp, _ := strings.Cut(in.Bucket, "/")
	form := url.Values{"q": {q}, "db": {db}, "epoch": {"ms"}}
	if rp != "" {
		form.Set("rp", rp)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(in.URL, "/")+"/query?"+form.Encode(), nil)
	if err != nil {
		return nil, err
	}
	if in.Token != "" {
		if user, pass, ok := strings.Cut(in.Token, ":"); ok {
			req.SetBasicAuth(user, pass)
		} else {
			req.Header.Set("Authorization", "Token "+in.Token)
		}
	}
	client := in.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	var res struct {
		Results []struct {
			Series []struct {
				Values [][]any `json:"values"`
			} `json:"series"`
			Error string `json:"error"`
		} `json:"results"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return nil, fmt.Errorf("%s: %.200s", resp.Status, body)
	}
	if res.Error != "" {
		return nil, fmt.Errorf("influxql: %s", res.Error)
	}
	out := [][2]any{}
	for _, r := range res.Results {
		if r.Error != "" {
			return nil, fmt.Errorf("influxql: %s", r.Error)
		}
		for _, s := range r.Series {
			for _, row := range s.Values {
				if len(row) < 2 {
					continue
				}
				v := row[1]
				if b, ok := v.(bool); ok {
					v = 0.0
					if b {
						v = 1.0
					}
				}
				out = append(out, [2]any{row[0], v})
			}
		}
	}
	return out, nil
}

// ident quotes an InfluxQL identifier.
func ident(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// literal quotes an InfluxQL string literal.
func literal(s string) string {
	return `'` + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + `'`
}
