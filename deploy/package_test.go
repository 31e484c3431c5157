package deploy

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// needRoot skips the package tests on a developer's machine that is not root, and fails them
// in CI (which runs as root), where installing the package is the point.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "" {
			t.Skip("installing the package needs root; CI runs it")
		}
		t.Fatal("the package test must run as root in CI: it installs the package with dpkg -i")
	}
	for _, tool := range []string{"dpkg", "dpkg-deb", "adduser"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not on PATH: the package test needs Debian's dpkg and adduser: %v", tool, err)
		}
	}
}

// buildPackage builds the package with the script make package runs, at version v.
func buildPackage(t *testing.T, out, v string) string {
	t.Helper()
	cmd := exec.Command("bash", "scripts/package.sh")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "VERSION="+v, "OUT="+out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("scripts/package.sh: %v\n%s", err, stderr.Bytes())
	}
	return strings.TrimSpace(string(b))
}

func sh(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestPackage builds two versions of the package, checks the archive, installs the first into
// this machine's root, edits its conffile, upgrades to the second, runs the installed
// facilityd as the service user from the unit's ExecStart, and purges it all again.
func TestPackage(t *testing.T) {
	needRoot(t)
	if exec.Command("dpkg", "-s", "facilityd").Run() == nil {
		t.Fatal("facilityd is already installed here: the test would replace it; dpkg --purge facilityd first")
	}
	dir := t.TempDir()
	v1 := buildPackage(t, dir, "0.0.1~test1")
	v2 := buildPackage(t, dir, "0.0.1~test2")
	if filepath.Base(v1) != "facilityd_0.0.1~test1_"+debArch(t)+".deb" {
		t.Errorf("package named %s, want facilityd_<version>_<arch>.deb", filepath.Base(v1))
	}
	t.Run("contents", func(t *testing.T) { checkContents(t, v1) })

	t.Cleanup(func() {
		if out, err := exec.Command("dpkg", "--purge", "facilityd").CombinedOutput(); err != nil {
			t.Errorf("dpkg --purge facilityd: %v\n%s", err, out)
		}
		if _, err := user.Lookup("facilityd"); err == nil {
			t.Error("the facilityd user is left after dpkg --purge")
		}
		if _, err := os.Stat("/var/lib/facilityd"); !os.IsNotExist(err) {
			t.Errorf("/var/lib/facilityd is left after dpkg --purge: %v", err)
		}
	})
	sh(t, "dpkg", "-i", v1)
	t.Run("installed", checkInstalled)

	// Point the installed configuration at simulators on free ports: an administrator's edit.
	const conf = "/etc/facilityd/facilityd.yaml"
	api := editConffile(t, conf)
	edited, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	sh(t, "dpkg", "--force-confdef", "--force-confold", "-i", v2)
	t.Run("upgrade keeps the conffile", func(t *testing.T) {
		got, err := os.ReadFile(conf)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, edited) {
			t.Errorf("the upgrade replaced the edited %s", conf)
		}
		if out := sh(t, "/usr/bin/facilityd", "version"); !strings.HasPrefix(out, "facilityd 0.0.1~test2\n") {
			t.Errorf("facilityd version after the upgrade:\n%s", out)
		}
	})
	t.Run("unit verifies", func(t *testing.T) {
		sa := systemdAnalyze(t)
		if out, err := exec.Command(sa, "verify", "/lib/systemd/system/facilityd.service").CombinedOutput(); err != nil || len(out) > 0 {
			t.Errorf("systemd-analyze verify of the installed unit: %v\n%s", err, out)
		}
	})
	t.Run("service", func(t *testing.T) { runService(t, conf, api) })
}

// debArch is the Debian architecture scripts/package.sh names the package for.
func debArch(t *testing.T) string {
	t.Helper()
	return strings.TrimSpace(sh(t, "dpkg", "--print-architecture"))
}

// checkContents reads the archive as dpkg-deb -c lists it: every file, its owner and mode.
func checkContents(t *testing.T, deb string) {
	listing := sh(t, "dpkg-deb", "-c", deb)
	entries := map[string]string{} // path -> "mode owner"
	for _, line := range strings.Split(strings.TrimSpace(listing), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 {
			continue
		}
		entries[strings.TrimPrefix(f[5], ".")] = f[0] + " " + f[1]
	}
	tests := []struct{ path, want string }{
		{"/usr/bin/facilityd", "-rwxr-xr-x root/root"},
		{"/usr/bin/facsim", "-rwxr-xr-x root/root"},
		{"/etc/facilityd/facilityd.yaml", "-rw-r----- root/root"},
		{"/lib/systemd/system/facilityd.service", "-rw-r--r-- root/root"},
		{"/usr/share/doc/facilityd/changelog.gz", "-rw-r--r-- root/root"},
		{"/usr/share/doc/facilityd/copyright", "-rw-r--r-- root/root"},
		{"/usr/share/doc/facilityd/operations.md.gz", "-rw-r--r-- root/root"},
		{"/etc/facilityd/", "drwxr-xr-x root/root"},
	}
	for _, tt := range tests {
		if got, ok := entries[tt.path]; !ok {
			t.Errorf("%s is not in the package", tt.path)
		} else if got != tt.want {
			t.Errorf("%s: %s, want %s", tt.path, got, tt.want)
		}
	}
	if conffiles := sh(t, "dpkg-deb", "--info", deb, "conffiles"); strings.TrimSpace(conffiles) != "/etc/facilityd/facilityd.yaml" {
		t.Errorf("conffiles = %q, want the configuration alone", conffiles)
	}
	cl := sh(t, "sh", "-c", "dpkg-deb --fsys-tarfile "+deb+" | tar -xO ./usr/share/doc/facilityd/changelog.gz | gunzip")
	if !strings.HasPrefix(cl, "facilityd (0.0.1~test1) unstable;") {
		t.Errorf("changelog does not open with this version:\n%s", cl)
	}
}

// checkInstalled checks what postinst made: the user, its groups, its state directory.
func checkInstalled(t *testing.T) {
	u, err := user.Lookup("facilityd")
	if err != nil {
		t.Fatalf("no facilityd user after dpkg -i: %v", err)
	}
	if groups := sh(t, "id", "-nG", "facilityd"); !strings.Contains(" "+groups, " dialout") {
		t.Errorf("facilityd is in groups %q, not dialout: RS-485 lines and the modem are unreadable", strings.TrimSpace(groups))
	}
	tests := []struct {
		path string
		mode os.FileMode
		uid  string
		gid  string
	}{
		{"/var/lib/facilityd", os.ModeDir | 0o700, u.Uid, u.Gid},
		{"/etc/facilityd/facilityd.yaml", 0o640, "0", u.Gid},
	}
	for _, tt := range tests {
		fi, err := os.Stat(tt.path)
		if err != nil {
			t.Errorf("%s: %v", tt.path, err)
			continue
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode() != tt.mode || strconv.Itoa(int(st.Uid)) != tt.uid || strconv.Itoa(int(st.Gid)) != tt.gid {
			t.Errorf("%s: %v %d:%d, want %v %s:%s", tt.path, fi.Mode(), st.Uid, st.Gid, tt.mode, tt.uid, tt.gid)
		}
	}
}

// freeAddr is a loopback address nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// editConffile moves the shipped simulator and API addresses to free ports and returns the
// API's address.
func editConffile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	api := freeAddr(t)
	s := string(b)
	for _, old := range []string{"127.0.0.1:1502", "127.0.0.1:1503", "127.0.0.1:1883", "127.0.0.1:8080"} {
		if !strings.Contains(s, old) {
			t.Fatalf("the shipped %s has no %s to point elsewhere", path, old)
		}
		to := api
		if old != "127.0.0.1:8080" {
			to = freeAddr(t)
		}
		s = strings.ReplaceAll(s, old, to)
	}
	s += "\n# edited by the package test\n"
	if err := os.WriteFile(path, []byte(s), 0o640); err != nil {
		t.Fatal(err)
	}
	return api
}

// execStart is the installed unit's ExecStart, split into arguments.
func execStart(t *testing.T) []string {
	t.Helper()
	v := unitSettings(t, "/lib/systemd/system/facilityd.service")["ExecStart"]
	if len(v) != 1 {
		t.Fatalf("the installed unit has ExecStart %q, want one command", v)
	}
	return strings.Fields(v[0])
}

// runService starts facsim on the configuration's devices, then the installed facilityd as
// the unit would: as user facilityd with group dialout, with NOTIFY_SOCKET and WATCHDOG_USEC.
func runService(t *testing.T, conf, api string) {
	u, err := user.Lookup("facilityd")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	dialout, err := user.LookupGroup("dialout")
	if err != nil {
		t.Fatal(err)
	}
	dgid, _ := strconv.Atoi(dialout.Gid)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	sim := exec.CommandContext(ctx, "/usr/bin/facsim", "--config", conf, "--control", "")
	sim.Stdout, sim.Stderr = io.Discard, io.Discard
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { sim.Process.Signal(syscall.SIGTERM); sim.Wait() }()

	notify := listenNotify(t, uid)
	args := execStart(t)
	var logs bytes.Buffer
	fd := exec.CommandContext(ctx, args[0], args[1:]...)
	fd.Env = []string{"PATH=/usr/bin:/bin", "NOTIFY_SOCKET=" + notify.LocalAddr().String(), "WATCHDOG_USEC=1000000"}
	fd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{uint32(dgid)}}}
	fd.Stdout, fd.Stderr = &logs, &logs
	fd.WaitDelay = 20 * time.Second
	if err := fd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- fd.Wait() }()
	defer func() {
		fd.Process.Signal(syscall.SIGTERM)
		<-exited
		if t.Failed() {
			t.Logf("facilityd's log:\n%s", logs.String())
		}
	}()

	wantNotify(t, notify, "READY=1", 30*time.Second)
	checkHTTP(t, "http://"+api+"/healthz", `"status": "ok"`)
	checkHTTP(t, "http://"+api+"/metrics", `facilityd_build_info{commit=`)
	checkHTTP(t, "http://"+api+"/metrics", `version="0.0.1~test2"} 1`)
	wantNotify(t, notify, "WATCHDOG=1", 5*time.Second)
	wantNotify(t, notify, "WATCHDOG=1", 5*time.Second)

	fd.Process.Signal(syscall.SIGTERM)
	wantNotify(t, notify, "STOPPING=1", 10*time.Second)
	if err := <-exited; err != nil {
		t.Errorf("facilityd exited with %v after SIGTERM, want 0", err)
	}
	exited <- nil
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("facilityd logged errors:\n%s", logs.String())
	}
}

// listenNotify is the socket systemd would listen on for sd_notify, writable by uid.
func listenNotify(t *testing.T, uid int) *net.UnixConn {
	t.Helper()
	dir, err := os.MkdirTemp("", "facilityd-notify")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := os.Chown(path, uid, -1); err != nil {
		t.Fatal(err)
	}
	return c
}

// wantNotify reads notifications until one is want, within d.
func wantNotify(t *testing.T, c *net.UnixConn, want string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	if err := c.SetReadDeadline(deadline); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	var seen []string
	for {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("no %s within %v (saw %q): %v", want, d, seen, err)
		}
		msg := string(buf[:n])
		if msg == want {
			return
		}
		seen = append(seen, msg)
	}
}

func checkHTTP(t *testing.T, url, want string) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), want) {
		t.Errorf("GET %s: %s, want 200 with %s; got:\n%.2000s", url, resp.Status, want, b)
	}
}
