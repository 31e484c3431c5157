package sms

import (
	"sort"
	"strings"
	"time"
)

// Reassembler joins the parts of concatenated messages by (sender, reference, count), as
// a phone does (TS 23.040, 9.2.3.24.1). It holds no clock: callers pass the time, so a part
// that never comes is given up on by Expire at a time the caller (and a test) chooses.
type Reassembler struct {
	timeout time.Duration
	pending map[partKey]*partial
}

type partKey struct {
	from  string
	ref   uint16
	count int
}

type partial struct {
	first time.Time // when the first part arrived
	parts map[int]*Deliver
}

// NewReassembler waits up to timeout after a message's first part for the rest.
func NewReassembler(timeout time.Duration) *Reassembler {
	return &Reassembler{timeout: timeout, pending: map[partKey]*partial{}}
}

// Add takes a received message. A whole message, or the part that completes one, comes back
// joined (the first part's header fields, every part's text in order) with true; a part that
// leaves its message incomplete gives nil, false. A repeated part replaces the earlier copy.
func (r *Reassembler) Add(d *Deliver, now time.Time) (*Deliver, bool) {
	if d.Concat == nil || d.Concat.Count <= 1 {
		return d, true
	}
	k := partKey{from: d.From, ref: d.Concat.Ref, count: d.Concat.Count}
	p := r.pending[k]
	if p == nil {
		p = &partial{first: now, parts: map[int]*Deliver{}}
		r.pending[k] = p
	}
	p.parts[d.Concat.Seq] = d
	if len(p.parts) < k.count {
		return nil, false
	}
	delete(r.pending, k)
	return join(p), true
}

// Expire gives up on the messages whose first part came more than the timeout before now,
// and returns what arrived of each, joined in order, so a reply is not lost for a missing
// part; their Concat tells how many parts there should have been.
func (r *Reassembler) Expire(now time.Time) []*Deliver {
	var out []*Deliver
	for k, p := range r.pending {
		if now.Sub(p.first) >= r.timeout {
			out = append(out, join(p))
			delete(r.pending, k)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

// Pending counts the messages waiting for parts.
func (r *Reassembler) Pending() int { return len(r.pending) }

func join(p *partial) *Deliver {
	seqs := make([]int, 0, len(p.parts))
	for s := range p.parts {
		seqs = append(seqs, s)
	}
	sort.Ints(seqs)
	var text strings.Builder
	var data []byte
	for _, s := range seqs {
		text.WriteString(p.parts[s].Text)
		data = append(data, p.parts[s].Data...)
	}
	joined := *p.parts[seqs[0]]
	c := *joined.Concat
	joined.Concat = &Concat{Ref: c.Ref, Count: c.Count, Seq: 0}
	joined.Text, joined.Data = text.String(), data
	return &joined
}
