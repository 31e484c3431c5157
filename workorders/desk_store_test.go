package workorders

import (
	"context"
	"testing"
	"time"
)

// TestStoreDeskRecord: a desk order's channel, resident, 12345 case, answer, visit, charge and
// the parts drawn for it come back as stored, after an update too, on both databases, and a
// change made by another gateway is seen by the first.
func TestStoreDeskRecord(t *testing.T) {
	ctx := context.Background()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			st, other := b.open(t)
			o := &Order{Site: "estate", Category: CategoryHousehold, Priority: "low", State: StateNew, Zone: "north", Team: "north-team",
				Title: "fan", Location: "3-1-1802", CreatedAt: t0, AcceptBy: t0.Add(2 * time.Hour),
				Desk: &Desk{Channel: ChannelHotline, Kind: KindPaid, Resident: "Mrs Zhang", Home: "3-1-1802", Contact: "138", ReceivedAt: t0,
					Hotline: &Hotline{Case: "SZ-42", ReplyBy: t0.Add(24 * time.Hour)},
					Answer:  Answer{Owner: "cs-liu", DueBy: t0.Add(time.Hour)},
					Visit:   &Visit{Window: Window{From: t0.Add(4 * time.Hour), To: t0.Add(6 * time.Hour)}}},
				History: []Change{{At: t0, By: "cs-liu", Action: "create", To: StateNew}}}
			stored, err := st.Insert(ctx, o, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := other.Get(ctx, stored.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !equalJSON(got.Desk, o.Desk) {
				t.Fatalf("desk record read back\n%+v\nwant\n%+v", got.Desk, o.Desk)
			}
			got.Desk.Answer.Owner, got.Desk.Answer.AnsweredAt = "cs-ma", t0.Add(30*time.Minute)
			got.Desk.Visit.NotHome, got.Desk.Visit.Paused = []time.Time{t0.Add(5 * time.Hour)}, true
			got.Desk.Charge = &Charge{Quote: []ChargeLine{{Item: "labour", Unit: "hour", Qty: 1.5, UnitPrice: 3550, Amount: 5325}}, Quoted: 5325, QuotedAt: t0.Add(5 * time.Hour), QuotedBy: "tech-chen"}
			got.Materials = []Requisition{{At: t0.Add(5 * time.Hour), By: "tech-chen", Parts: []Line{{Item: "screw M4", Qty: 4}}}}
			if err := other.Update(ctx, got, nil); err != nil {
				t.Fatal(err)
			}
			list, err := st.List(ctx, Filter{Location: "3-1-1802"})
			if err != nil || len(list) != 1 {
				t.Fatalf("list by home: %v %v", list, err)
			}
			if !equalJSON(list[0].Desk, got.Desk) || !equalJSON(list[0].Materials, got.Materials) {
				t.Fatalf("after update\n%+v %+v\nwant\n%+v %+v", list[0].Desk, list[0].Materials, got.Desk, got.Materials)
			}
		})
	}
}
