package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"net"
	"net/http"
	"sync/atomic"
)

// discardSink is an InfluxDB write endpoint that reads every write and throws it away: with
// --sink discard (the default) facilityd's writer does all its work (line protocol, batches,
// HTTP) while no InfluxDB server competes with it for the cores, so CPU per point measures
// facilityd alone. The replay and latency runs always write to the real InfluxDB.
type discardSink struct {
	srv   *http.Server
	url   string
	lines atomic.Int64
}

func startDiscardSink() (*discardSink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &discardSink{url: "http://" + ln.Addr().String()}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v2/write", s.write)
	mux.HandleFunc("POST /write", s.write)
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, `{"status":"pass"}`) })
	s.srv = &http.Server{Handler: mux}
	go s.srv.Serve(ln)
	return s, nil
}

func (s *discardSink) write(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		z, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = z
	}
	b, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.lines.Add(int64(bytes.Count(b, []byte{'\n'})))
	w.WriteHeader(http.StatusNoContent)
}

func (s *discardSink) Close() { s.srv.Close() }
