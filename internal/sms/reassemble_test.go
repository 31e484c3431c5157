package sms_test

import (
	"testing"
	"time"

	"github.com/facilityd/facilityd/internal/sms"
)

func part(from string, ref uint16, count, seq int, text string) *sms.Deliver {
	return &sms.Deliver{From: from, Text: text, Concat: &sms.Concat{Ref: ref, Count: count, Seq: seq}}
}

func TestReassembler(t *testing.T) {
	t0 := time.Date(2025, 6, 1, 22, 0, 0, 0, time.UTC)
	r := sms.NewReassembler(2 * time.Minute)

	// Two guards reply with the same reference at once; parts arrive out of order.
	if _, ok := r.Add(part("+8613800000001", 5, 2, 2, "A17"), t0); ok {
		t.Fatal("one part of two completed a message")
	}
	if _, ok := r.Add(part("+8613800000002", 5, 2, 1, "2 "), t0); ok {
		t.Fatal("another sender's part completed a message")
	}
	d, ok := r.Add(part("+8613800000001", 5, 2, 1, "1 "), t0.Add(time.Second))
	if !ok || d.Text != "1 A17" || d.From != "+8613800000001" {
		t.Fatalf("got %+v %v, want guard 1's \"1 A17\"", d, ok)
	}
	// A repeated part does not complete a message on its own.
	if _, ok := r.Add(part("+8613800000002", 5, 2, 1, "2 "), t0.Add(time.Second)); ok {
		t.Fatal("a duplicate part completed a message")
	}
	if r.Pending() != 1 {
		t.Fatalf("%d pending, want 1", r.Pending())
	}
	// A whole message passes straight through.
	if d, ok := r.Add(&sms.Deliver{From: "x", Text: "1"}, t0); !ok || d.Text != "1" {
		t.Fatalf("single message: %+v %v", d, ok)
	}
	if got := r.Expire(t0.Add(time.Minute)); len(got) != 0 {
		t.Fatalf("expired %d before the timeout", len(got))
	}
	got := r.Expire(t0.Add(2 * time.Minute))
	if len(got) != 1 || got[0].Text != "2 " || got[0].Concat.Count != 2 || r.Pending() != 0 {
		t.Fatalf("expired %+v, want guard 2's first part, nothing left pending", got)
	}
}
