package daemon

import (
	"fmt"
	"net"
	"sync/atomic"
	"time"
)

// apiListener is the API's TCP listener, which a rebuild (rebuild.go) hands from one pipeline to
// the next when http.addr did not change. The socket then never closes: a client that connects
// while the old pipeline drains and the new one is built waits in the kernel's backlog and is
// served by the new API, instead of being refused. Handing over is all Close does while kept:
// it wakes the old server's Accept (a deadline in the past) and leaves the socket open.
type apiListener struct {
	*net.TCPListener
	// kept: the socket belongs to someone else now (a rebuild under way, or the pipeline
	// before this one while New has not yet succeeded); Close only lets go of it.
	kept atomic.Bool
}

// listen is the API's listener for addr: the one handed over by the pipeline before, or a new
// one bound now.
func (d *Daemon) listen(addr string) (net.Listener, error) {
	tl := d.gen.listener
	if tl == nil {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, err
		}
		tl = ln.(*net.TCPListener)
	} else if err := tl.SetDeadline(time.Time{}); err != nil {
		return nil, fmt.Errorf("taking over the API's listener on %s: %w", tl.Addr(), err)
	}
	d.apiLn = &apiListener{TCPListener: tl}
	d.apiLn.kept.Store(d.gen.listener != nil)
	return d.apiLn, nil
}

// Accept is the socket's, but once the listener is let go of it says closed, so that the
// server stops as it does at a close.
func (l *apiListener) Accept() (net.Conn, error) {
	c, err := l.TCPListener.Accept()
	if err != nil && l.kept.Load() {
		return nil, net.ErrClosed
	}
	return c, err
}

// Close closes the socket, or only lets go of it while kept.
func (l *apiListener) Close() error {
	if l.kept.Load() {
		return l.TCPListener.SetDeadline(time.Now())
	}
	return l.TCPListener.Close()
}

// own makes the socket this pipeline's to close (New succeeded); nil: no API built.
func (l *apiListener) own() {
	if l != nil {
		l.kept.Store(false)
	}
}

// keep makes Close only let go of the socket: a rebuild hands it on.
func (l *apiListener) keep() {
	if l != nil {
		l.kept.Store(true)
	}
}
