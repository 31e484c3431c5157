package workorders

import "time"

// Charge is what a paid job costs the resident (有偿服务): quoted before the work, confirmed
// after it.
type Charge struct {
	QuotedAt time.Time `json:"quoted_at,omitzero"`
}
