package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/facilityd/facilityd/devices"
	"github.com/facilityd/facilityd/simulators"
)

// measure runs one workload of n devices and returns its figures.
func measure(ctx context.Context, o options, n int, log *slog.Logger) (Run, error) {
	dir, err := os.MkdirTemp("", "facbench-")
	if err != nil {
		return Run{}, err
	}
	defer os.RemoveAll(dir)
	profile, err := writeBenchProfile(dir, o.registers)
	if err != nil {
		return Run{}, err
	}
	specs, err := benchSpecs(o, n, profile)
	if err != nil {
		return Run{}, err
	}
	estate, err := startEstate(append(specs, bacnetSpecs(o.bacnet)...))
	if err != nil {
		return Run{}, err
	}
	defer estate.Close()

	httpAddr, err := freeAddr()
	if err != nil {
		return Run{}, err
	}
	brokerAddr, err := freeAddr()
	if err != nil {
		return Run{}, err
	}
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "site: bench\nstate_dir: %q\nmqtt: {embedded: {addr: %q}}\ninflux: {url: %q, bucket: %q, batch_size: 10000}\nhttp: {addr: %q, pprof: %v}\n",
		filepath.Join(dir, "state"), brokerAddr, o.influxURL, o.influxDB+"/autogen", httpAddr, o.profile != "")
	fmt.Fprintf(&cfg, "polling: {interval: %s, timeout: %s, offline_after: 3}\nprofiles: {dir: %q}\nlog: {level: warn}\nbacnet: {local: \"127.0.0.1:0\"}\ndevices:\n",
		o.interval, o.timeout, filepath.Join(dir, "profiles"))
	writeBACnetDevices(&cfg, o.bacnet, estate)
	for _, s := range specs {
		fmt.Fprintf(&cfg, "  - {id: %s, profile: bench, building: B%d, zone: z%d, modbus: {address: %q, unit: %d}}\n",
			s.ID, 1+len(s.ID)%4, 1+len(s.ID)%8, estate.Addr(s.ID), s.Unit)
	}
	var lines []string
	for _, s := range specs {
		lines = append(lines, fmt.Sprintf("%s %s %d", s.ID, estate.Addr(s.ID), s.Unit))
	}
	return measureRounds(ctx, o, n, dir, cfg.String(), httpAddr, lines, log)
}

// writeBenchProfile writes the bench profile of registers points into dir/profiles, for
// facilityd, and returns it parsed, for the simulators.
func writeBenchProfile(dir string, registers int) (*devices.Profile, error) {
	profileYAML := benchProfile(registers)
	if err := os.MkdirAll(filepath.Join(dir, "profiles"), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "profiles", "bench.yaml"), []byte(profileYAML), 0o644); err != nil {
		return nil, err
	}
	return parseProfile(profileYAML)
}

// benchSpecs are the n simulated devices: a port each, or o.perEndpoint units behind each
// gateway address.
func benchSpecs(o options, n int, profile *devices.Profile) ([]simulators.DeviceSpec, error) {
	specs := make([]simulators.DeviceSpec, n)
	var gateway string
	var err error
	used := map[string]bool{}
	for i := range specs {
		specs[i] = simulators.DeviceSpec{ID: fmt.Sprintf("dev-%05d", i), Kind: devices.KindGeneric, Profile: profile, Unit: 1,
			Steady: o.registers - changingRegisters(o)}
		if o.perEndpoint > 1 {
			if i%o.perEndpoint == 0 {
				// A port just released may come back from the next probe: never reuse one.
				for gateway == "" || used[gateway] {
					if gateway, err = freeAddr(); err != nil {
						return nil, err
					}
				}
				used[gateway] = true
			}
			specs[i].Address, specs[i].Unit = gateway, uint8(i%o.perEndpoint+1)
		}
	}
	return specs, nil
}

// measureRounds runs o.rounds rounds of facilityd (and of the bare poller, with o.bare) and
// keeps the cheapest of each; every round's misses, errors and drops count, and the memory is
// the highest peak.
func measureRounds(ctx context.Context, o options, n int, dir, config, httpAddr string, lines []string, log *slog.Logger) (Run, error) {
	var r Run
	var cpuRounds, bareRounds []float64
	var missed, pollErrors, dropped, writeErrors, rss float64
	var bareNs, bareAnswered float64
	for round := 1; round <= o.rounds; round++ {
		x, err := measureRound(ctx, o, n, dir, config, httpAddr, round, log)
		if err != nil {
			return Run{}, err
		}
		cpuRounds = append(cpuRounds, x.CPUPercent)
		missed, pollErrors, dropped, writeErrors = missed+x.MissedPolls, pollErrors+x.PollErrors, dropped+x.Dropped, writeErrors+x.WriteErrors
		rss = max(rss, x.PeakRSSMB)
		if round == 1 || x.CPUNsPerPoint < r.CPUNsPerPoint {
			r = x
		}
		if !o.bare {
			continue
		}
		ns, answered, pct, err := measureBare(ctx, o, dir, lines, log)
		if err != nil {
			return Run{}, err
		}
		bareRounds = append(bareRounds, pct)
		if round == 1 || ns < bareNs {
			bareNs, bareAnswered = ns, answered
		}
	}
	r.CPURounds, r.BareRounds = cpuRounds, bareRounds
	r.MissedPolls, r.PollErrors, r.Dropped, r.WriteErrors, r.PeakRSSMB = missed, pollErrors, dropped, writeErrors, rss
	r.BareNsPerPoint, r.BareAnswered = bareNs, bareAnswered
	if bareNs > 0 {
		r.Ratio = r.CPUNsPerPoint / bareNs
	}
	return r, nil
}

// measureRound runs facilityd on config for one round: warm-up, then the measurement. Its CPU
// is the mean over the measurement; a CPU profile is taken in the first round when asked.
func measureRound(ctx context.Context, o options, n int, dir, config, httpAddr string, round int, log *slog.Logger) (Run, error) {
	c, err := startChild(ctx, o.facilityd, dir, config, httpAddr)
	if err != nil {
		return Run{}, err
	}
	defer c.stop()
	base := c.base

	if err := sleep(ctx, o.warmup); err != nil {
		return Run{}, err
	}
	t0, cpu0 := time.Now(), cpuSeconds(c.cmd.Process.Pid)
	m0, err := scrape(base)
	if err != nil {
		return Run{}, err
	}
	if o.profile != "" && round == 1 {
		if err := cpuProfile(ctx, base, o.duration, fmt.Sprintf("%s-%d.pprof", o.profile, n)); err != nil {
			return Run{}, err
		}
	} else if err := sleep(ctx, o.duration); err != nil {
		return Run{}, err
	}
	t1, cpu1 := time.Now(), cpuSeconds(c.cmd.Process.Pid)
	m1, err := scrape(base)
	if err != nil {
		return Run{}, err
	}
	rss := peakRSSMB(c.cmd.Process.Pid)
	dt := t1.Sub(t0).Seconds()

	r := Run{
		Devices: n, Registers: o.registers, Changing: changingRegisters(o), IntervalS: o.interval.Seconds(), PerEndpoint: o.perEndpoint, DurationS: dt,
		TargetPointsPS: float64(n*o.registers) / o.interval.Seconds(),
		PollsOK:        m1.sum(`facilityd_modbus_polls_total{result="ok"}`) - m0.sum(`facilityd_modbus_polls_total{result="ok"}`),
		PollErrors:     m1.sum(`facilityd_modbus_polls_total{result="error"}`) - m0.sum(`facilityd_modbus_polls_total{result="error"}`),
		ExpectedPolls:  float64(n) * dt / o.interval.Seconds(),
		MissedPolls:    m1.sum("facilityd_modbus_missed_polls_total") - m0.sum("facilityd_modbus_missed_polls_total"),
		WriteErrors:    m1.sum("facilityd_influx_write_errors_total") - m0.sum("facilityd_influx_write_errors_total"),
		Dropped:        m1.sum("facilityd_influx_dropped_total") - m0.sum("facilityd_influx_dropped_total"),
		PeakRSSMB:      rss,
	}
	r.PointsPS = r.PollsOK * float64(o.registers) / dt
	cpu := cpu1 - cpu0
	r.CPUPercent = 100 * cpu / dt
	if pts := r.PollsOK * float64(o.registers); pts > 0 {
		r.CPUNsPerPoint = cpu * 1e9 / pts
	}
	written := m1.sum("facilityd_influx_points_written_total") - m0.sum("facilityd_influx_points_written_total")
	r.WrittenPS = written * float64(o.registers) / dt
	r.BACnet = bacnetFigures(o.bacnet, m0, m1, dt)
	log.Info("measured", "devices", n, "round", round, "points_per_s", int(r.PointsPS), "cpu_percent", fmt.Sprintf("%.1f", r.CPUPercent), "peak_rss_mb", fmt.Sprintf("%.1f", r.PeakRSSMB))
	return r, nil
}

// changingRegisters is how many registers of each device change every poll: --changing percent
// of them, rounded, and at least one unless --changing is 0.
func changingRegisters(o options) int {
	n := (o.registers*o.changing + 50) / 100
	if n == 0 && o.changing > 0 {
		n = 1
	}
	return n
}

// benchProfile is a generic device of m uint16 input registers, read in one request.
func benchProfile(m int) string {
	var b strings.Builder
	b.WriteString("name: bench\nkind: generic\npoints:\n")
	for i := 0; i < m; i++ {
		fmt.Fprintf(&b, "  - {name: r%03d, table: input, address: %d, type: uint16}\n", i, i)
	}
	return b.String()
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// cleanEnv is the environment without FACILITYD_ overrides, so the generated file rules.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FACILITYD_") {
			env = append(env, kv)
		}
	}
	return env
}

func waitHealthy(ctx context.Context, base string, exited <-chan struct{}, status *error) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("facilityd exited at start: %v", *status)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("facilityd did not answer %s/healthz within 60s", base)
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// cpuSeconds is the process's user plus system time, from /proc/PID/stat (proc(5): fields 14
// and 15, in clock ticks of 1/100 s on Linux).
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name may hold spaces; fields count from after its closing parenthesis.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100
}

// peakRSSMB is the process's peak resident set (VmHWM in /proc/PID/status).
func peakRSSMB(pid int) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// metrics is a scrape of Prometheus text: every sample line by its full series text.
type metrics map[string]float64

func scrape(base string) (metrics, error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return parseMetrics(resp.Body)
}

func parseMetrics(r io.Reader) (metrics, error) {
	m := metrics{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		m[line[:i]] = v
	}
	return m, sc.Err()
}

// sum adds every series of a metric; a selector name{label="value"} keeps those with that label.
func (m metrics) sum(selector string) float64 {
	name, label, _ := strings.Cut(selector, "{")
	label = strings.TrimSuffix(label, "}")
	total := 0.0
	for series, v := range m {
		n, labels, _ := strings.Cut(series, "{")
		if n != name || (label != "" && !strings.Contains(labels, label)) {
			continue
		}
		total += v
	}
	return total
}

func createDatabase(ctx context.Context, base, db string) error {
	form := url.Values{"q": {"CREATE DATABASE " + strconv.Quote(db)}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(base, "/")+"/query", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("InfluxDB at %s: %w", base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("InfluxDB create database %s: %s: %s", db, resp.Status, b)
	}
	return nil
}

// Machine says where the figures came from.
type Machine struct {
	CPU    string `json:"cpu"`
	Cores  int    `json:"cores"`
	Memory string `json:"memory"`
	Go     string `json:"go"`
	OS     string `json:"os"`
}

func machine() Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		if f := strings.Fields(line); len(f) >= 2 {
			kb, _ := strconv.ParseFloat(f[1], 64)
			m.Memory = fmt.Sprintf("%.0f GiB", kb/1024/1024)
		}
	}
	return m
}

func parseProfile(yaml string) (*devices.Profile, error) {
	return devices.ParseProfile("bench.yaml", []byte(yaml))
}

// cpuProfile takes a CPU profile of facilityd over d (its /debug/pprof/profile) into path.
func cpuProfile(ctx context.Context, base string, d time.Duration, path string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, int(d.Seconds())), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}

func influxQuery(ctx context.Context, base, db, q string, v any) error {
	u := strings.TrimSuffix(base, "/") + "/query?" + url.Values{"db": {db}, "q": {q}}.Encode()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s: %s", resp.Status, b)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
