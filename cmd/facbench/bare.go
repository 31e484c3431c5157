package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/facilityd/facilityd/devices/modbus"
)

// The bare poller is facbench run as `facbench bare`: one goroutine per device polling it with
// facilityd's own Modbus transport, framing and schedule (modbus.BarePoll), replies thrown away. Its CPU
// per point is the floor facilityd's is compared with: the ratio is what everything facilityd
// does with a reading (decoding, the live cache, the alarm engine, the console's rings,
// northbound MQTT, the InfluxDB writer) costs on top of polling.

// runBare polls the devices listed in the file (id, address and unit a line) until SIGTERM,
// then prints the polls that answered.
func runBare(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("facbench bare", flag.ContinueOnError)
	file := fs.String("devices-file", "", "id address unit, a line")
	registers := fs.Int("registers", 50, "input registers read per poll")
	interval := fs.Duration("interval", time.Second, "poll interval")
	timeout := fs.Duration("timeout", 500*time.Millisecond, "request timeout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	f, err := os.Open(*file)
	if err != nil {
		return err
	}
	defer f.Close()
	var total atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 3 {
			return fmt.Errorf("devices file: %q: want id, address and unit", sc.Text())
		}
		id, addr := fields[0], fields[1]
		unit, err := strconv.Atoi(fields[2])
		if err != nil {
			return fmt.Errorf("devices file: %q: %w", sc.Text(), err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			total.Add(int64(modbus.BarePoll(ctx, start, id, addr, byte(unit), uint16(*registers), *interval, *timeout)))
		}()
	}
	if err := sc.Err(); err != nil {
		return err
	}
	wg.Wait()
	fmt.Fprintln(stdout, total.Load())
	return nil
}

// measureBare runs the bare poller against the same devices for the same time as facilityd was
// measured, and returns its CPU per point, how many polls answered of those expected, and its
// CPU as a percentage of one core.
func measureBare(ctx context.Context, o options, dir string, lines []string, log *slog.Logger) (nsPerPoint, okShare, cpuPercent float64, err error) {
	self, err := os.Executable()
	if err != nil {
		return 0, 0, 0, err
	}
	list := filepath.Join(dir, "bare-devices")
	if err := os.WriteFile(list, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return 0, 0, 0, err
	}
	var out strings.Builder
	cmd := exec.Command(self, "bare", "--devices-file", list, "--registers", strconv.Itoa(o.registers),
		"--interval", o.interval.String(), "--timeout", o.timeout.String())
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Start(); err != nil {
		return 0, 0, 0, err
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()
	warm := min(o.warmup, 5*time.Second)
	if err := sleep(ctx, warm); err != nil {
		return 0, 0, 0, err
	}
	t0, cpu0 := time.Now(), cpuSeconds(cmd.Process.Pid)
	if err := sleep(ctx, o.duration); err != nil {
		return 0, 0, 0, err
	}
	dt, cpu := time.Since(t0).Seconds(), cpuSeconds(cmd.Process.Pid)-cpu0
	total := dt + warm.Seconds()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	err = cmd.Wait()
	stopped = true
	if err != nil {
		return 0, 0, 0, fmt.Errorf("bare poller: %w", err)
	}
	polls, err := strconv.ParseFloat(strings.TrimSpace(out.String()), 64)
	if err != nil {
		return 0, 0, 0, errors.New("bare poller: no poll count in its output")
	}
	expected := float64(len(lines)) * total / o.interval.Seconds()
	okShare = polls / expected
	points := float64(len(lines)) * dt / o.interval.Seconds() * float64(o.registers) * min(okShare, 1)
	log.Info("bare poller measured", "devices", len(lines), "cpu_percent", fmt.Sprintf("%.1f", 100*cpu/dt), "polls_answered", fmt.Sprintf("%.1f%%", 100*okShare))
	return cpu * 1e9 / points, okShare, 100 * cpu / dt, nil
}
