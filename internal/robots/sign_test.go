package robots

import (
	"bytes"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The signatures are checked against values computed apart from this code, with openssl:
//
//	ts=1796178600    # 2026-12-02T02:30:00Z
//	S=SECfacilityd0test0secret
//	printf '%s\n%s' "${ts}000" "$S" | openssl dgst -sha256 -hmac "$S" -binary | base64
//	  -> BoYBwzNZMOW89UlOLPFfKS4z4On7B15qt7FV3Zjiv+s=   (DingTalk, before URL encoding)
//	K="$(printf '%s\n%s' "$ts" feishu-test-secret)"
//	printf '' | openssl dgst -sha256 -hmac "$K" -binary | base64
//	  -> 89hSLiLjeasG/H9nanjgSmbVYTyhqVPNwFWTh1qCAzo=   (Feishu: key and message swapped)
//
// and, where openssl is installed, computed again by running it.
var (
	signAt         = time.Date(2026, 12, 2, 2, 30, 0, 0, time.UTC)
	dingTalkSecret = "SECfacilityd0test0secret"
	feishuSecret   = "feishu-test-secret"
)

const (
	dingTalkSignWant = "BoYBwzNZMOW89UlOLPFfKS4z4On7B15qt7FV3Zjiv%2Bs%3D" // "+" and "=" encoded
	feishuSignWant   = "89hSLiLjeasG/H9nanjgSmbVYTyhqVPNwFWTh1qCAzo="
)

func TestDingTalkSign(t *testing.T) {
	t.Parallel()
	if got := DingTalkSign(dingTalkSecret, signAt); got != dingTalkSignWant {
		t.Errorf("DingTalkSign = %q, want %q", got, dingTalkSignWant)
	}
	msg := strconv.FormatInt(signAt.UnixMilli(), 10) + "\n" + dingTalkSecret
	want := url.QueryEscape(opensslHMAC(t, dingTalkSecret, msg))
	if got := DingTalkSign(dingTalkSecret, signAt); got != want {
		t.Errorf("DingTalkSign = %q, openssl says %q", got, want)
	}
}

func TestFeishuSign(t *testing.T) {
	t.Parallel()
	if got := FeishuSign(feishuSecret, signAt); got != feishuSignWant {
		t.Errorf("FeishuSign = %q, want %q", got, feishuSignWant)
	}
	key := strconv.FormatInt(signAt.Unix(), 10) + "\n" + feishuSecret
	if got, want := FeishuSign(feishuSecret, signAt), opensslHMAC(t, key, ""); got != want {
		t.Errorf("FeishuSign = %q, openssl says %q", got, want)
	}
}

// opensslHMAC runs `openssl dgst -sha256 -hmac KEY -binary | openssl base64 -A` on msg.
func opensslHMAC(t *testing.T, key, msg string) string {
	t.Helper()
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed; the constants above still hold")
	}
	mac, err := run(openssl, []byte(msg), "dgst", "-sha256", "-hmac", key, "-binary")
	if err != nil {
		t.Fatalf("openssl dgst: %v", err)
	}
	b64, err := run(openssl, mac, "base64", "-A")
	if err != nil {
		t.Fatalf("openssl base64: %v", err)
	}
	return strings.TrimSpace(string(b64))
}

func run(name string, stdin []byte, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	return cmd.Output()
}
