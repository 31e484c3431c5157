package main

import (
	"strings"
	"testing"
)

// TestCLIHeadersInChinese: with FACILITYD_LOCALE=zh-CN the client commands' tables are
// headed in Chinese, one heading per column the rows print.
func TestCLIHeadersInChinese(t *testing.T) {
	tables := []string{"alarms", "readings", "devices", "patrol", "workorders"}
	en := map[string]string{}
	for _, tb := range tables {
		en[tb] = header(tb)
	}
	t.Setenv("FACILITYD_LOCALE", "zh-CN")
	for _, tb := range tables {
		zh := header(tb)
		if !strings.HasPrefix(zh, "编号") && !strings.HasPrefix(zh, "测点") {
			t.Errorf("%s: header %q is not Chinese", tb, zh)
		}
		if a, b := strings.Count(en[tb], "\t"), strings.Count(zh, "\t"); a != b {
			t.Errorf("%s: %d columns in English, %d in Chinese", tb, a+1, b+1)
		}
	}
}
