package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// maxBody bounds a request body: an operator's note or a claim, never a file.
const maxBody = 16 << 10

var (
	errBodyTooLarge = fmt.Errorf("body larger than %d bytes", maxBody)
	errNoBody       = errors.New("body: a JSON object is required")
)

// decodeBody reads one JSON object, at most maxBody bytes, with no unknown fields.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return errBodyTooLarge
		case errors.Is(err, io.EOF):
			return errNoBody
		}
		return fmt.Errorf("body: %v", err)
	}
	if dec.More() {
		return errors.New("body: one JSON object only")
	}
	return nil
}

// bodyStatus is the status that answers a decodeBody error.
func bodyStatus(err error) int {
	if errors.Is(err, errBodyTooLarge) {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}
