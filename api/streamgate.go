package api

import (
	"net"
	"net/http"
	"sync"
)

// streamShare is how many of limit event streams one holder (a token, or a remote address in
// open mode) may have at once: a quarter, so that one leaked token or one runaway client cannot
// take every slot and lock the control room's consoles out, but at least 4, so that one person's
// desk console, phone and a couple of tabs work however small http.max_streams is (and never
// more than limit).
func streamShare(limit int) int {
	return min(limit, max(4, limit/4))
}

// streamAdmission is what streamGate.enter decides.
type streamAdmission int

const (
	streamAdmitted streamAdmission = iota
	streamsFull
	streamsShareFull
)

// streamGate counts the stream clients, in all and per holder.
type streamGate struct {
	mu    sync.Mutex
	total int
	byWho map[string]int
}

// enter admits one more stream for who, or says which limit refuses it.
func (g *streamGate) enter(who string, limit int) streamAdmission {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.total >= limit {
		return streamsFull
	}
	if g.byWho[who] >= streamShare(limit) {
		return streamsShareFull
	}
	if g.byWho == nil {
		g.byWho = map[string]int{}
	}
	g.total++
	g.byWho[who]++
	return streamAdmitted
}

func (g *streamGate) leave(who string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.total--
	if g.byWho[who]--; g.byWho[who] <= 0 {
		delete(g.byWho, who)
	}
}

// streamHolder is whom a stream is counted against: the token's name, or in open mode (no
// token) the client's address without its port.
func streamHolder(r *http.Request) string {
	if name := Caller(r.Context()); name != "" {
		return "token " + quote(name)
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "address " + host
}

// open is the number of streams held now.
func (g *streamGate) open() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.total
}
