package workorders

import (
	"context"
	"testing"
	"time"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/locale"
)

// TestWorkOrdersInChinese: what a zh-CN site's teams and residents read is Chinese, in the
// trade's words, with the times in the site's zone.
func TestWorkOrdersInChinese(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 3, 3, 10, 0, 0, 0, shanghai)
	r := newRig(t, start, nil)
	r.m.opts.Locale = locale.ZhCN

	o, err := r.m.HandleAlarm(ctx, raised("P-1", "pump", "north", "pump_trip", alarms.ClassEquipment, start))
	if err != nil || o == nil {
		t.Fatalf("order from alarm: %v %v", o, err)
	}
	want := "新工单 " + o.ID + "，水泵跳闸（高，north片区）：P-1: pump_trip；请于 2026-03-03 10:15 前接单"
	if n := r.notes.ofType("assigned"); len(n) != 1 || n[0].Message != want {
		t.Fatalf("notification %+v, want %q", n, want)
	}

	lit, err := r.m.FailedCircuit(ctx, "L-1", "circuit_05", start)
	if err != nil {
		t.Fatal(err)
	}
	if want := "夜间照明巡查发现 L-1 第 05 回路不亮"; lit.Title != want {
		t.Errorf("lighting order %q, want %q", lit.Title, want)
	}

	n, err := r.m.Announce(ctx, NoticeRequest{Interrupts: "water", Reason: "B1 供水主管爆裂", By: "eng-he", Zone: "north", End: start.Add(3 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if want := "紧急停水通知：因B1 供水主管爆裂，2026-03-03 10:00 至 2026-03-03 13:00 暂停供水，不便之处敬请谅解。"; n.Title != want {
		t.Errorf("notice to residents %q, want %q", n.Title, want)
	}
}
