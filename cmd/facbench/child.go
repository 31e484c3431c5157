package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/facilityd/facilityd/simulators"
)

// startEstate serves the simulated devices until the returned estate is closed.
func startEstate(specs []simulators.DeviceSpec) (*simulators.Estate, error) {
	estate, err := simulators.New(specs, simulators.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	if err := estate.Start(); err != nil {
		return nil, err
	}
	return estate, nil
}

// child is the facilityd being measured, a process of its own so that its CPU and memory are
// its alone.
type child struct {
	cmd      *exec.Cmd
	base     string        // its API, http://host:port
	log      string        // its log file
	exited   chan struct{} // closed once the process has exited; err is then its status
	err      error
	stopOnce sync.Once
}

// startChild writes config into dir, runs `facilityd run` on it from dir and waits until its
// API at httpAddr answers.
func startChild(ctx context.Context, binary, dir, config, httpAddr string) (*child, error) {
	cfgPath := filepath.Join(dir, "facilityd.yaml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o644); err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "facilityd.log"))
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own descriptor
	c := &child{base: "http://" + httpAddr, log: logFile.Name(), exited: make(chan struct{})}
	c.cmd = exec.Command(binary, "run", "--config", cfgPath)
	c.cmd.Dir, c.cmd.Stdout, c.cmd.Stderr, c.cmd.Env = dir, logFile, logFile, cleanEnv()
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.exited)
	}()
	if err := waitHealthy(ctx, c.base, c.exited, &c.err); err != nil {
		c.stop()
		return nil, c.withLog(err)
	}
	return c, nil
}

// withLog adds the child's log to an error, for a person to see why.
func (c *child) withLog(err error) error {
	tail, _ := os.ReadFile(c.log)
	return fmt.Errorf("%w\nfacilityd log:\n%s", err, tail)
}

// stop sends SIGTERM, and SIGKILL if facilityd has not stopped within 30 s. Stopping twice
// is stopping once.
func (c *child) stop() {
	c.stopOnce.Do(func() {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.exited:
		case <-time.After(30 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.exited
		}
	})
}
