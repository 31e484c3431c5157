// Command facbench measures facilityd under load: it serves N simulated Modbus devices of M
// registers each, runs the facilityd binary against them with a real InfluxDB as the sink, and
// reads what the operating system and facilityd's own metrics say: points polled per second,
// missed polls, CPU (user + system) and peak resident memory of the facilityd process, and
// points written to InfluxDB per second. It prints a table and writes the same figures as JSON.
//
//	facbench --influx-url http://127.0.0.1:8086      # 500x30, 2000x50, 5000x20, each beside the bare poller
//	facbench --influx-url http://127.0.0.1:8086 --devices 2000 --registers 50 --interval 1s
//	facbench --influx-url ... --sweep 100,500,1000,2000,5000   # cost per point across sizes
//
// `make bench` starts InfluxDB and runs it with the targets as defaults.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

type options struct {
	facilityd   string
	influxURL   string
	influxDB    string
	sink        string
	registers   int
	changing    int
	bare        bool
	interval    time.Duration
	timeout     time.Duration
	perEndpoint int
	warmup      time.Duration
	rounds      int
	duration    time.Duration
	jsonPath    string
	profile     string
	latency     int
	replay      int
	bacnet      int
	opcua       []int         // OPC UA workloads: variables of one server each
	opcuaRate   time.Duration // how often each OPC UA variable changes
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "facbench:", err)
		os.Exit(1)
	}
}

// run is main without the process: flags in, the report out.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "bare" {
		return runBare(ctx, args[1:], stdout)
	}
	o, workloads, err := parseFlags(args)
	if err != nil {
		return err
	}
	if _, err := os.Stat(o.facilityd); err != nil {
		return fmt.Errorf("--facilityd: %w (make build puts it in bin/)", err)
	}
	if abs, err := filepath.Abs(o.facilityd); err == nil {
		o.facilityd = abs
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := createDatabase(ctx, o.influxURL, o.influxDB); err != nil {
		return err
	}
	report, err := measureAll(ctx, o, workloads, log)
	if err != nil {
		return err
	}
	printTable(stdout, report)
	if o.jsonPath != "" {
		b, _ := json.MarshalIndent(report, "", "  ")
		if err := os.WriteFile(o.jsonPath, append(b, '\n'), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\nfigures written to %s\n", o.jsonPath)
	}
	return nil
}

// parseFlags reads facbench's command line and the workloads it names.
func parseFlags(args []string) (options, []workload, error) {
	fs := flag.NewFlagSet("facbench", flag.ContinueOnError)
	var o options
	var devicesFlag, sweep, matrix, opcuaFlag string
	fs.StringVar(&o.facilityd, "facilityd", "bin/facilityd", "facilityd binary to measure")
	fs.StringVar(&o.influxURL, "influx-url", os.Getenv("FACILITYD_INFLUX_URL"), "InfluxDB to write to (required)")
	fs.StringVar(&o.influxDB, "influx-db", "bench", "InfluxDB database (created if missing)")
	fs.StringVar(&o.sink, "sink", "discard", "where facilityd writes in the load runs: discard (an endpoint that reads and throws writes away, so no InfluxDB shares the cores) or influx (the real one)")
	fs.StringVar(&devicesFlag, "devices", "2000", "number of simulated devices")
	fs.StringVar(&sweep, "sweep", "", "comma-separated device counts to run one after the other (overrides --devices)")
	fs.IntVar(&o.registers, "registers", 50, "registers (uint16 points) per device")
	fs.StringVar(&matrix, "matrix", "500x30,2000x50,5000x20", "comma-separated DEVICESxREGISTERS workloads (--devices or --sweep, with --registers, replace it)")
	fs.IntVar(&o.changing, "changing", 100, "percent of each device's registers that change every poll; the rest hold still, as a plant's setpoints and status words do")
	fs.BoolVar(&o.bare, "bare", true, "measure the bare poller against the same devices after facilityd, for the ratio")
	fs.DurationVar(&o.interval, "interval", time.Second, "poll interval")
	fs.DurationVar(&o.timeout, "timeout", 500*time.Millisecond, "request timeout")
	fs.IntVar(&o.perEndpoint, "per-endpoint", 1, "devices behind each TCP endpoint (1: a port each; more: gateways with units 1..n)")
	fs.DurationVar(&o.warmup, "warmup", 10*time.Second, "time to settle before measuring, in each round")
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "measuring time of each round")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds per workload, each a fresh facilityd and a fresh bare poller; the cheapest is reported (this machine has spells in which every process costs two or three times the CPU)")
	fs.StringVar(&o.profile, "cpuprofile", "", "take a CPU profile of facilityd while measuring, into PREFIX-DEVICES.pprof")
	fs.IntVar(&o.replay, "replay", 40000, "lines to spool and replay into InfluxDB (0: skip)")
	fs.IntVar(&o.bacnet, "bacnet", 100, "simulated BACnet air-handling units beside the Modbus devices, every point kept by COV (bench_bacnet.go)")
	fs.IntVar(&o.latency, "latency", 200, "fault-to-patrol-alert injections to time (0: skip)")
	fs.StringVar(&opcuaFlag, "opcua", "1000", "comma-separated OPC UA workloads: variables of one server (gopcua's in-process server, security None), all changing every --opcua-rate, read by subscription (empty: none)")
	fs.DurationVar(&o.opcuaRate, "opcua-rate", time.Second, "how often each OPC UA variable changes; also the subscription's publishing interval")
	fs.StringVar(&o.jsonPath, "json", "bench.json", "where to write the figures as JSON (empty: nowhere)")
	if err := fs.Parse(args); err != nil {
		return o, nil, err
	}
	var err error
	if o.opcua, err = parseCounts("opcua", opcuaFlag); err != nil {
		return o, nil, err
	}
	if err := o.validate(); err != nil {
		return o, nil, err
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "devices" || f.Name == "sweep" {
			matrix = ""
		}
	})
	workloads, err := parseWorkloads(devicesFlag, sweep, matrix, o.registers)
	return o, workloads, err
}

// validate checks the flags that have a range, naming the flag at fault.
func (o options) validate() error {
	if o.influxURL == "" {
		return errors.New("--influx-url is required (make bench starts an InfluxDB and passes it)")
	}
	if o.sink != "discard" && o.sink != "influx" {
		return fmt.Errorf("--sink %q: discard or influx", o.sink)
	}
	if o.opcuaRate <= 0 {
		return fmt.Errorf("--opcua-rate %s: more than 0", o.opcuaRate)
	}
	if o.rounds < 1 {
		return fmt.Errorf("--rounds %d: at least 1", o.rounds)
	}
	if o.changing < 0 || o.changing > 100 {
		return fmt.Errorf("--changing %d: a percentage, 0 to 100", o.changing)
	}
	if o.registers < 1 || o.registers > 125 {
		return fmt.Errorf("--registers %d: 1 to 125 (one read request per device)", o.registers)
	}
	if o.perEndpoint < 1 || o.perEndpoint > 247 {
		return fmt.Errorf("--per-endpoint %d: 1 to 247", o.perEndpoint)
	}
	if o.bacnet < 0 || o.bacnet > 10000 {
		return fmt.Errorf("--bacnet %d: 0 to 10000", o.bacnet)
	}
	return nil
}

// measureAll runs every workload, then the spool replay and the fault-to-alert latency.
func measureAll(ctx context.Context, o options, workloads []workload, log *slog.Logger) (Report, error) {
	report := Report{Machine: machine(), Started: time.Now().UTC(), Sink: o.sink}
	loadURL := o.influxURL
	if o.sink == "discard" {
		sink, err := startDiscardSink()
		if err != nil {
			return report, err
		}
		defer sink.Close()
		loadURL = sink.url
	}
	for _, w := range workloads {
		o := o
		o.registers = w.registers
		o.influxURL = loadURL
		log.Info("running", "devices", w.devices, "registers", o.registers, "interval", o.interval, "warmup", o.warmup, "duration", o.duration)
		r, err := measure(ctx, o, w.devices, log)
		if err != nil {
			return report, fmt.Errorf("%d devices: %w", w.devices, err)
		}
		report.Runs = append(report.Runs, r)
	}
	for _, n := range o.opcua {
		o := o
		o.influxURL = loadURL
		log.Info("running opcua", "variables", n, "rate", o.opcuaRate, "warmup", o.warmup, "duration", o.duration)
		r, err := measureOPCUA(ctx, o, n, log)
		if err != nil {
			return report, fmt.Errorf("opcua %d variables: %w", n, err)
		}
		report.OPCUA = append(report.OPCUA, r)
	}
	if o.replay > 0 {
		log.Info("timing spool replay", "lines", o.replay, "registers", o.registers)
		r, err := measureReplay(ctx, o, o.replay, log)
		if err != nil {
			return report, fmt.Errorf("replay: %w", err)
		}
		report.Replay = &r
	}
	if o.latency > 0 {
		log.Info("timing fault to patrol alert", "injections", o.latency, "interval", o.interval)
		l, err := measureLatency(ctx, o, o.latency, log)
		if err != nil {
			return report, fmt.Errorf("latency: %w", err)
		}
		report.Latency = &l
	}
	return report, nil
}

// Report is the JSON the harness writes.
type Report struct {
	Machine Machine   `json:"machine"`
	Started time.Time `json:"started"`
	// Sink is where facilityd wrote in the load runs: discard or influx.
	Sink string `json:"sink"`
	Runs []Run  `json:"runs"`
	// OPCUA are the OPC UA workloads (opcua.go).
	OPCUA   []OPCUARun `json:"opcua,omitempty"`
	Latency *Latency   `json:"fault_to_patrol_alert,omitempty"`
	Replay  *Replay    `json:"spool_replay,omitempty"`
}

// Run is one measured workload.
type Run struct {
	Devices        int     `json:"devices"`
	Registers      int     `json:"registers"`
	Changing       int     `json:"registers_changing_per_poll"`
	IntervalS      float64 `json:"interval_s"`
	PerEndpoint    int     `json:"per_endpoint"`
	DurationS      float64 `json:"duration_s"`
	TargetPointsPS float64 `json:"target_points_per_s"`
	PointsPS       float64 `json:"points_per_s"`
	PollsOK        float64 `json:"polls_ok"`
	PollErrors     float64 `json:"poll_errors"`
	ExpectedPolls  float64 `json:"expected_polls"`
	MissedPolls    float64 `json:"missed_polls"`
	// CPUPercent and the figures beside it are of the cheapest round (per point); CPURounds
	// and BareRounds are every round's CPU, facilityd's and the bare poller's.
	CPUPercent    float64   `json:"cpu_percent_of_one_core"`
	CPURounds     []float64 `json:"cpu_percent_rounds"`
	BareRounds    []float64 `json:"bare_cpu_percent_rounds,omitempty"`
	CPUNsPerPoint float64   `json:"cpu_ns_per_point"`
	PeakRSSMB     float64   `json:"peak_rss_mb"`
	WrittenPS     float64   `json:"points_written_per_s"`
	WriteErrors   float64   `json:"write_errors"`
	Dropped       float64   `json:"dropped"`
	// BareNsPerPoint is the bare poller's CPU per point against the same devices (0: not
	// measured); Ratio is facilityd's CPU per point over it.
	BareNsPerPoint float64 `json:"bare_cpu_ns_per_point,omitempty"`
	BareAnswered   float64 `json:"bare_polls_answered,omitempty"`
	Ratio          float64 `json:"cpu_per_point_ratio_to_bare,omitempty"`
	// BACnet is what the BACnet devices beside the Modbus ones cost (nil: none).
	BACnet *BACnetRun `json:"bacnet,omitempty"`
}

type workload struct{ devices, registers int }

// parseWorkloads reads --matrix, else --sweep or --devices with --registers.
func parseWorkloads(devicesFlag, sweep, matrix string, registers int) ([]workload, error) {
	var out []workload
	if matrix != "" {
		for _, f := range strings.Split(matrix, ",") {
			ds, rs, ok := strings.Cut(strings.TrimSpace(f), "x")
			n, err1 := strconv.Atoi(ds)
			m, err2 := strconv.Atoi(rs)
			if !ok || err1 != nil || err2 != nil || n < 1 || m < 1 || m > 125 {
				return nil, fmt.Errorf("--matrix %q: want DEVICESxREGISTERS, registers 1 to 125, e.g. 2000x50", f)
			}
			out = append(out, workload{n, m})
		}
		return out, nil
	}
	list := devicesFlag
	if sweep != "" {
		list = sweep
	}
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("device count %q is not a positive number", f)
		}
		out = append(out, workload{n, registers})
	}
	return out, nil
}

// rounds formats each round's CPU percentage, facilityd's then the bare poller's.
func rounds(cpu, bare []float64) string {
	var b strings.Builder
	for i, c := range cpu {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%.1f", c)
		if i < len(bare) {
			fmt.Fprintf(&b, "/%.1f", bare[i])
		}
	}
	return b.String()
}

func printTable(w io.Writer, r Report) {
	fmt.Fprintf(w, "machine: %s, %d cores, %s, %s\n\n", r.Machine.CPU, r.Machine.Cores, r.Machine.Memory, r.Machine.Go)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "devices\tregisters\tchanging\tinterval\tpoints/s\ttarget\tpolls ok\texpected\tmissed\terrors\tCPU % (1 core)\trounds\tCPU ns/point\tbare ns/point\tratio\tpeak RSS MB\twritten/s\tdropped\t")
	for _, x := range r.Runs {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%gs\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.1f\t%s\t%.0f\t%.0f\t%.2f\t%.1f\t%.0f\t%.0f\t\n",
			x.Devices, x.Registers, x.Changing, x.IntervalS, x.PointsPS, x.TargetPointsPS, x.PollsOK, x.ExpectedPolls,
			x.MissedPolls, x.PollErrors, x.CPUPercent, rounds(x.CPURounds, x.BareRounds), x.CPUNsPerPoint, x.BareNsPerPoint, x.Ratio, x.PeakRSSMB, x.WrittenPS, x.Dropped)
	}
	tw.Flush()
	printBACnet(w, r.Runs)
	if len(r.OPCUA) > 0 {
		fmt.Fprintln(w, "\nOPC UA, one server, every variable changing at the rate, read by subscription:")
		tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "variables\tchange every\tserver changes/s\tvalues written/s\tnotifications/s\tCPU % (1 core)\trounds\tCPU ns/value\tpeak RSS MB\tdropped\t")
		for _, x := range r.OPCUA {
			fmt.Fprintf(tw, "%d\t%gs\t%.0f\t%.0f\t%.2f\t%.1f\t%s\t%.0f\t%.1f\t%.0f\t\n", x.Variables, x.RateS, x.ChangesPS, x.ValuesPS,
				x.NotificationsPS, x.CPUPercent, rounds(x.CPURounds, nil), x.CPUNsPerValue, x.PeakRSSMB, x.Dropped)
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "\nwrites went to: %s\n", map[string]string{"discard": "an endpoint that reads and discards them (--sink discard)", "influx": "the real InfluxDB (--sink influx)"}[r.Sink])
	fmt.Fprintf(w, "CPU: the cheapest of %d rounds, each a fresh facilityd (then a fresh bare poller) measured for the whole duration; rounds: every round's CPU %%, facilityd / bare\n", len(r.Runs[0].CPURounds))
	fmt.Fprintln(w, "ratio: facilityd's CPU per point over the bare poller's (the same transport, requests and schedule, replies thrown away), measured one after the other against the same simulators")
	if rp := r.Replay; rp != nil {
		fmt.Fprintf(w, "\nspool replay into InfluxDB: %d points (%d lines) in %.2f s = %.0f points/s (target >= %.0f); %d counted in InfluxDB\n",
			rp.Points, rp.Lines, rp.Seconds, rp.PointsPS, rp.TargetPS, rp.InfluxCount)
	}
	if l := r.Latency; l != nil {
		fmt.Fprintf(w, "\nfault to patrol alert on MQTT, %d injections at %gs polling: p50 %.0f ms, p90 %.0f ms, p99 %.0f ms, max %.0f ms (target p99 <= %.0f ms), missed %d\n",
			l.Injections, l.IntervalS, l.P50MS, l.P90MS, l.P99MS, l.MaxMS, l.TargetMS, l.Missed)
	}
}
