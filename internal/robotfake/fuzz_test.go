package robotfake

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzRequest feeds arbitrary bodies and queries to each fake: whatever a client sends, the
// fake answers and never panics, and only well-formed messages are kept.
func FuzzRequest(f *testing.F) {
	f.Add(wecomText, "")
	f.Add(`{"msgtype":"markdown","markdown":{"content":"<@a> <@"}}`, "")
	f.Add(`{"msgtype":"text","text":{"content":"x"},"at":{"atMobiles":[1],"isAtAll":"yes"}}`, "&timestamp=1&sign=%zz")
	f.Add(`{"timestamp":1e300,"sign":5,"msg_type":"text","content":{"text":"<at user_id=\"all"}}`, "")
	f.Add(`[]`, "&timestamp=-99999999999999999999")
	fakes := []*Server{NewWeCom(f), NewDingTalk(f, "SECs"), NewFeishu(f, "s")}
	for _, s := range fakes {
		s.SetLimit(0) // no quota, so every case reaches the decoder
	}
	f.Fuzz(func(t *testing.T, body, query string) {
		for _, s := range fakes {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
			r.URL = mustParse(t, s.URL()+query)
			r.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			s.serve(w, r)
			if w.Code != http.StatusOK && w.Code != http.StatusNotFound {
				t.Fatalf("%s answered HTTP %d", s.Kind(), w.Code)
			}
		}
	})
}

func mustParse(t *testing.T, raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		t.Skip()
	}
	return u
}
