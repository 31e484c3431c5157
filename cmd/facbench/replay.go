package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/facilityd/facilityd/telemetry"
)

// Replay is the spool's catch-up figure: readings spooled while InfluxDB was away, written
// back once it answers, counted in points (field values) a second.
type Replay struct {
	Points      int     `json:"points"`
	Lines       int     `json:"lines"`
	Seconds     float64 `json:"seconds"`
	PointsPS    float64 `json:"points_per_s"`
	TargetPS    float64 `json:"target_points_per_s"`
	ReplayRate  int     `json:"replay_rate_lines_per_s"`
	InfluxCount int64   `json:"points_in_influxdb"`
}

// measureReplay fills a spool with lines of registers points each, as the writer spools them
// during an outage, then starts the writer against InfluxDB and times the spool to empty.
func measureReplay(ctx context.Context, o options, lines int, log *slog.Logger) (Replay, error) {
	dir, err := os.MkdirTemp("", "facbench-spool-")
	if err != nil {
		return Replay{}, err
	}
	defer os.RemoveAll(dir)
	const rate = 1_000_000 // lines a second: the bench measures what replay can do, not the policy
	sp, err := telemetry.OpenSpool(telemetry.SpoolConfig{Dir: dir, MaxBytes: 8 << 30, SegmentBytes: 64 << 20, ReplayRate: rate}, nil, log)
	if err != nil {
		return Replay{}, err
	}
	defer sp.Close()
	const perRecord = 5000
	start := time.Now().Add(-time.Hour).Truncate(time.Second)
	var buf []byte
	written := 0
	for written < lines {
		n := min(perRecord, lines-written)
		buf = buf[:0]
		for i := 0; i < n; i++ {
			k := written + i
			buf = append(buf, "generic,device=replay-"...)
			buf = strconv.AppendInt(buf, int64(k%1000), 10)
			buf = append(buf, ",site=bench "...)
			for r := 0; r < o.registers; r++ {
				if r > 0 {
					buf = append(buf, ',')
				}
				buf = append(buf, 'r')
				buf = strconv.AppendInt(buf, int64(r), 10)
				buf = append(buf, '=')
				buf = strconv.AppendInt(buf, int64((k+r)%1000), 10)
			}
			buf = append(buf, ",comm_ok=true "...)
			buf = strconv.AppendInt(buf, start.Add(time.Duration(k/1000)*time.Second).UnixNano(), 10)
			if i < n-1 {
				buf = append(buf, '\n')
			}
		}
		if err := sp.Append(telemetry.Record{Points: n, Oldest: start, Lines: append([]byte(nil), buf...)}); err != nil {
			return Replay{}, err
		}
		written += n
	}
	w, err := telemetry.NewWriter(telemetry.Config{URL: o.influxURL, Bucket: o.influxDB + "/autogen", Spool: sp}, nil, log)
	if err != nil {
		return Replay{}, err
	}
	defer w.Close()
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	t0 := time.Now()
	go func() { done <- w.Run(rctx) }()
	for !sp.Empty() {
		if err := sleep(ctx, 5*time.Millisecond); err != nil {
			cancel()
			return Replay{}, err
		}
		if time.Since(t0) > 10*time.Minute {
			cancel()
			return Replay{}, fmt.Errorf("spool not replayed after 10 minutes")
		}
	}
	elapsed := time.Since(t0).Seconds()
	cancel()
	<-done
	points := lines * (o.registers + 1) // + comm_ok
	res := Replay{Points: points, Lines: lines, Seconds: elapsed, PointsPS: float64(points) / elapsed, TargetPS: 200_000, ReplayRate: rate}
	if n, err := countPoints(ctx, o); err == nil {
		res.InfluxCount = n
	} else {
		log.Warn("counting replayed points", "err", err)
	}
	log.Info("spool replay", "points", points, "seconds", fmt.Sprintf("%.2f", elapsed), "points_per_s", int(res.PointsPS))
	return res, nil
}

// countPoints counts the replayed comm_ok values in InfluxDB: one per line.
func countPoints(ctx context.Context, o options) (int64, error) {
	var out struct {
		Results []struct {
			Series []struct {
				Values [][]any `json:"values"`
			} `json:"series"`
		} `json:"results"`
	}
	if err := influxQuery(ctx, o.influxURL, o.influxDB, `SELECT count(comm_ok) FROM generic WHERE site = 'bench' AND device =~ /^replay-/`, &out); err != nil {
		return 0, err
	}
	if len(out.Results) == 0 || len(out.Results[0].Series) == 0 || len(out.Results[0].Series[0].Values) == 0 {
		return 0, nil
	}
	n, _ := out.Results[0].Series[0].Values[0][1].(float64)
	return int64(n) * int64(o.registers+1), nil
}
