package alarms

import (
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkJournalAppend is the cost of journalling one transition (one transaction) with the
// journal's synchronous=FULL, beside what it would be with NORMAL, on this machine's disk:
// go test -run - -bench JournalAppend ./alarms
func BenchmarkJournalAppend(b *testing.B) {
	for _, sync := range []string{"FULL", "NORMAL"} {
		b.Run("synchronous="+sync, func(b *testing.B) {
			j, err := OpenJournal(filepath.Join(b.TempDir(), "alarms.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer j.Close()
			if sync != "FULL" {
				if _, err := j.db.Exec("PRAGMA synchronous=" + sync); err != nil {
					b.Fatal(err)
				}
			}
			var mode int
			if err := j.db.QueryRow("PRAGMA synchronous").Scan(&mode); err != nil {
				b.Fatal(err)
			}
			if want := map[string]int{"NORMAL": 1, "FULL": 2}[sync]; mode != want {
				b.Fatalf("synchronous is %d, want %d", mode, want)
			}
			e := Event{Type: EventRaised, Alarm: Alarm{ID: "P-1/pump_trip", Site: "estate", Message: "pump tripped"}, At: time.Unix(0, 0), By: "system", Notify: true}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := j.Append(e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("cursor", func(b *testing.B) {
		j, err := OpenJournal(filepath.Join(b.TempDir(), "alarms.db"))
		if err != nil {
			b.Fatal(err)
		}
		defer j.Close()
		if err := j.Register("c"); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := j.setCursor("c", uint64(i+1)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
