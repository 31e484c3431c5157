package testenv

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Browser is a headless Chromium driven through chromedriver's W3C WebDriver HTTP API, with
// plain net/http and JSON: enough to open pages, find and click elements, run script and take
// screenshots, without a Selenium library.
type Browser struct {
	t       testing.TB
	base    string // http://127.0.0.1:PORT/session/ID
	client  *http.Client
	shots   string
	Timeout time.Duration
}

// elementKey is the W3C WebDriver element reference's key (WebDriver, 12.1 Elements).
const elementKey = "element-6066-11e4-a52e-4f735466cecf"

// NewBrowser starts chromedriver and a headless Chromium session for the test, and stops both
// when it ends. It needs FACILITYD_TEST_CHROMEDRIVER and FACILITYD_TEST_CHROMIUM (make test
// sets them, installing Debian's chromium and chromium-driver when missing): it skips without
// them on a developer's machine and fails in CI. Screenshots go to Artifacts(t).
func NewBrowser(t testing.TB) *Browser {
	t.Helper()
	return NewBrowserIn(t, "")
}

// NewBrowserIn is NewBrowser with the browser's language set to lang (a BCP 47 tag such as
// zh-CN), as a user's own browser would send it: navigator.language and Accept-Language.
// Empty keeps Chromium's default.
func NewBrowserIn(t testing.TB, lang string) *Browser {
	t.Helper()
	driver := need(t, "FACILITYD_TEST_CHROMEDRIVER", "chromedriver")
	chromium := need(t, "FACILITYD_TEST_CHROMIUM", "chromium")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	var logBuf bytes.Buffer
	cmd := exec.Command(driver, fmt.Sprintf("--port=%d", port), "--allowed-ips=127.0.0.1")
	cmd.Stdout, cmd.Stderr = &logBuf, &logBuf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", driver, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("chromedriver output:\n%s", logBuf.String())
		}
	})
	root := fmt.Sprintf("http://127.0.0.1:%d", port)
	b := &Browser{t: t, client: &http.Client{Timeout: 60 * time.Second}, Timeout: 15 * time.Second, shots: Artifacts(t)}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var st struct {
			Value struct{ Ready bool }
		}
		if err := b.do(http.MethodGet, root+"/status", nil, &st); err == nil && st.Value.Ready {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("chromedriver on port %d not ready after 20s", port)
		}
		time.Sleep(50 * time.Millisecond)
	}
	profile := t.TempDir()
	args := []string{"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
		"--disable-sync", "--user-data-dir=" + profile, "--window-size=1280,900",
		"--autoplay-policy=no-user-gesture-required"}
	opts := map[string]any{"binary": chromium, "args": args}
	if lang != "" {
		opts["args"] = append(args, "--lang="+lang, "--accept-lang="+lang)
		opts["prefs"] = map[string]any{"intl.accept_languages": lang}
	}
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName":        "chrome",
		"goog:chromeOptions": opts,
	}}}
	var sess struct {
		Value struct {
			SessionID string `json:"sessionId"`
		}
	}
	if err := b.do(http.MethodPost, root+"/session", caps, &sess); err != nil {
		t.Fatalf("new WebDriver session: %v", err)
	}
	b.base = root + "/session/" + sess.Value.SessionID
	t.Cleanup(func() { _ = b.do(http.MethodDelete, b.base, nil, nil) })
	return b
}

// Artifacts is the folder a test keeps its output in (screenshots): $FACILITYD_TEST_ARTIFACTS
// or test-output/ at the top of the repository, in a folder named after the test.
func Artifacts(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("FACILITYD_TEST_ARTIFACTS")
	if dir == "" {
		wd, _ := os.Getwd()
		for d := wd; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				dir = filepath.Join(d, "test-output")
				break
			}
			if filepath.Dir(d) == d {
				dir = filepath.Join(wd, "test-output")
				break
			}
		}
	}
	dir = filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_"))
	_ = os.RemoveAll(dir) // screenshots of an earlier run would mislead
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// WebDriverError is an error answer of the WebDriver API.
type WebDriverError struct {
	Status  int
	Code    string `json:"error"`
	Message string `json:"message"`
}

func (e *WebDriverError) Error() string {
	return fmt.Sprintf("webdriver %d %s: %s", e.Status, e.Code, e.Message)
}

func (b *Browser) do(method, url string, body, out any) error {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(data)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct{ Value WebDriverError }
		_ = json.Unmarshal(data, &e)
		e.Value.Status = resp.StatusCode
		if e.Value.Code == "" {
			e.Value.Message = string(data)
		}
		return &e.Value
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

func (b *Browser) cmd(method, path string, body, out any) {
	b.t.Helper()
	if err := b.do(method, b.base+path, body, out); err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
}

// Navigate opens url and waits for the page to load.
func (b *Browser) Navigate(url string) {
	b.t.Helper()
	b.cmd(http.MethodPost, "/url", map[string]string{"url": url}, nil)
}

// Exec runs script (a function body; arguments in `arguments`) in the page and decodes what it
// returns into out, if not nil.
func (b *Browser) Exec(out any, script string, args ...any) {
	b.t.Helper()
	if args == nil {
		args = []any{}
	}
	var res struct{ Value json.RawMessage }
	b.cmd(http.MethodPost, "/execute/sync", map[string]any{"script": script, "args": args}, &res)
	if out != nil {
		if err := json.Unmarshal(res.Value, out); err != nil {
			b.t.Fatalf("script result %s: %v", res.Value, err)
		}
	}
}

// ExecAsync runs script, whose last argument is the callback to call with the result.
func (b *Browser) ExecAsync(out any, script string, args ...any) {
	b.t.Helper()
	if args == nil {
		args = []any{}
	}
	var res struct{ Value json.RawMessage }
	b.cmd(http.MethodPost, "/execute/async", map[string]any{"script": script, "args": args}, &res)
	if out != nil {
		if err := json.Unmarshal(res.Value, out); err != nil {
			b.t.Fatalf("script result %s: %v", res.Value, err)
		}
	}
}

// Click finds the element matching css and clicks it. Live pages redraw themselves: when the
// element found was replaced before the click reached it (a stale element), it finds it again.
func (b *Browser) Click(css string) {
	b.t.Helper()
	b.retryStale("click "+css, func(id string) error {
		return b.do(http.MethodPost, b.base+"/element/"+id+"/click", map[string]any{}, nil)
	}, css)
}

// Type finds the element matching css and types text into it (WebDriver key codes such as
// "\uE004" for Tab included), finding it again if a live redraw replaced it first.
func (b *Browser) Type(css, text string) {
	b.t.Helper()
	b.retryStale("type into "+css, func(id string) error {
		return b.do(http.MethodPost, b.base+"/element/"+id+"/value", map[string]any{"text": text}, nil)
	}, css)
}

func (b *Browser) retryStale(what string, act func(id string) error, css string) {
	b.t.Helper()
	deadline := time.Now().Add(b.Timeout)
	for {
		var res struct{ Value map[string]string }
		err := b.do(http.MethodPost, b.base+"/element", map[string]string{"using": "css selector", "value": css}, &res)
		if err == nil {
			err = act(res.Value[elementKey])
		}
		if err == nil {
			return
		}
		var wd *WebDriverError
		// A redraw between finding and acting shows as a stale element, or as one not
		// interactable while it is being replaced.
		retry := errors.As(err, &wd) && (wd.Code == "stale element reference" || wd.Code == "element not interactable")
		if !retry || time.Now().After(deadline) {
			b.t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitFor polls the page with script (a function body returning true when done) until it
// returns true, or fails the test after b.Timeout, naming what it waited for.
func (b *Browser) WaitFor(what, script string, args ...any) {
	b.t.Helper()
	deadline := time.Now().Add(b.Timeout)
	for {
		var ok bool
		var res struct{ Value json.RawMessage }
		if args == nil {
			args = []any{}
		}
		err := b.do(http.MethodPost, b.base+"/execute/sync", map[string]any{"script": script, "args": args}, &res)
		if err == nil && json.Unmarshal(res.Value, &ok) == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			shot := b.Screenshot("timeout")
			b.t.Fatalf("after %v: %s (last error %v; screenshot %s)", b.Timeout, what, err, shot)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Viewport emulates a screen of width × height CSS pixels (a phone: mobile metrics, touch).
func (b *Browser) Viewport(width, height int, mobile bool) {
	b.t.Helper()
	b.cmd(http.MethodPost, "/goog/cdp/execute", map[string]any{"cmd": "Emulation.setDeviceMetricsOverride", "params": map[string]any{
		"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile,
	}}, nil)
}

// Screenshot saves the page as name.png in the test's artifacts folder and returns the path.
func (b *Browser) Screenshot(name string) string {
	b.t.Helper()
	var res struct{ Value string }
	if err := b.do(http.MethodGet, b.base+"/screenshot", nil, &res); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	png, err := base64.StdEncoding.DecodeString(res.Value)
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	path := filepath.Join(b.shots, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	return path
}

// Dir is where the screenshots go.
func (b *Browser) Dir() string { return b.shots }
