package daemon

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// answerRebuild answers POST /api/v1/reload once the rebuilt pipeline is built (200) or has
// failed (422), within wait. The old API shuts down in between and its server waits for the
// requests in flight, so the connection is first taken from it (hijacked): the shutdown does
// not wait for this answer, and the answer still reaches the caller on the same connection.
// HTTP/2 connections cannot be taken so: they are answered 202 at once, the outcome logged.
func answerRebuild(w http.ResponseWriter, rebuilt <-chan error, wait time.Duration, log *slog.Logger) {
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte("{\"status\": \"rebuilding\"}\n"))
		return
	}
	defer conn.Close()
	var outcome error
	select {
	case outcome = <-rebuilt:
	case <-time.After(wait):
		outcome = errors.New("the rebuilt pipeline did not report within " + wait.String() + "; see the log")
	}
	status, body := http.StatusOK, []byte("{\"status\": \"reloaded\", \"rebuilt\": true}\n")
	if outcome != nil {
		status, body = http.StatusUnprocessableEntity, reloadError(outcome)
	}
	resp := &http.Response{
		StatusCode: status, ProtoMajor: 1, ProtoMinor: 1, Close: true,
		Header:        http.Header{"Content-Type": {"application/json"}},
		ContentLength: int64(len(body)), Body: io.NopCloser(bytes.NewReader(body)),
	}
	// The server's write deadline was for the request as it came in.
	conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := resp.Write(brw); err == nil {
		err = brw.Flush()
	}
	if err != nil {
		log.Warn("could not answer POST /api/v1/reload after the rebuild; the outcome is logged", "error", err.Error())
	}
}
