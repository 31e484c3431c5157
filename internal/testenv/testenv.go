// Package testenv gives tests the real services `make test` starts (InfluxDB, and later
// mosquitto and PostgreSQL). A test that needs a service skips when run outside make test on a
// developer's machine, and fails in CI, where the service must be there.
package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// need returns the environment variable's value, or stops the test.
func need(t testing.TB, name, service string) string {
	t.Helper()
	v := os.Getenv(name)
	if v != "" {
		return v
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not set: CI must run the tests through make test, which starts %s", name, service)
	}
	t.Skipf("needs %s: run make test, which starts it and sets %s", service, name)
	return ""
}

// Influx is a database of its own on the InfluxDB that make test started.
type Influx struct {
	URL string
	DB  string
}

// NewInflux creates a fresh database named after the test and drops it when the test ends.
func NewInflux(t testing.TB) *Influx {
	t.Helper()
	u := need(t, "FACILITYD_TEST_INFLUX_URL", "InfluxDB")
	db := "t_" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, t.Name()) + fmt.Sprintf("_%d", time.Now().UnixNano()%1e6)
	in := &Influx{URL: u, DB: db}
	if _, err := in.Query("CREATE DATABASE " + db); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() { in.Query("DROP DATABASE " + db) })
	return in
}

// Bucket is the v2 bucket name for the database on InfluxDB 1.8.
func (in *Influx) Bucket() string { return in.DB + "/autogen" }

// Series is one series of an InfluxQL result.
type Series struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags"`
	Columns []string          `json:"columns"`
	Values  [][]any           `json:"values"`
}

// Rows returns the series' rows as maps from column to value.
func (s Series) Rows() []map[string]any {
	out := make([]map[string]any, 0, len(s.Values))
	for _, v := range s.Values {
		row := map[string]any{}
		for i, c := range s.Columns {
			if i < len(v) {
				row[c] = v[i]
			}
		}
		out = append(out, row)
	}
	return out
}

// Query runs InfluxQL against the database, with times as integer nanoseconds. JSON numbers
// come back as json.Number, so integers and floats can be told apart.
func (in *Influx) Query(q string) ([]Series, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	form := url.Values{"q": {q}, "db": {in.DB}, "epoch": {"ns"}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, in.URL+"/query", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out struct {
		Results []struct {
			Series []Series `json:"series"`
			Error  string   `json:"error"`
		} `json:"results"`
		Error string `json:"error"`
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("%s: %s", resp.Status, body)
	}
	if out.Error != "" {
		return nil, fmt.Errorf("influxql %q: %s", q, out.Error)
	}
	var series []Series
	for _, r := range out.Results {
		if r.Error != "" {
			return nil, fmt.Errorf("influxql %q: %s", q, r.Error)
		}
		series = append(series, r.Series...)
	}
	return series, nil
}

// PostgresDSN is the DSN of the PostgreSQL cluster make test started.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	return need(t, "FACILITYD_TEST_POSTGRES_DSN", "PostgreSQL")
}
