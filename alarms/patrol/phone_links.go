package patrol

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"
)

// A claim link is the console's page of one alert with a token that names one guard: opened
// on that guard's phone, it claims the alert in the guard's name without a sign-in. The token
// is the credential: an HMAC-SHA256 of alert and guard under a key drawn once and kept in the
// patrol store, so links survive restarts; it is valid while the alert is open.

// linkKeyMeta is the store's meta key of the link key.
const linkKeyMeta = "link_key"

type linkSigner struct{ key []byte }

// linkKey loads the link key from the store, drawing one the first time.
func linkKey(st *Store) (*linkSigner, error) {
	v, err := st.Meta(linkKeyMeta)
	if err != nil {
		return nil, err
	}
	if k, err := hex.DecodeString(v); err == nil && len(k) == 32 {
		return &linkSigner{key: k}, nil
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	if err := st.SetMeta(linkKeyMeta, hex.EncodeToString(k)); err != nil {
		return nil, err
	}
	return &linkSigner{key: k}, nil
}

func (l *linkSigner) mac(alert, guard string) []byte {
	h := hmac.New(sha256.New, l.key)
	h.Write([]byte("claim\x00" + alert + "\x00" + guard))
	return h.Sum(nil)[:16]
}

// token is alert and guard, base64url, a dot, and their MAC.
func (l *linkSigner) token(alert, guard string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(alert+"\x00"+guard)) + "." + enc.EncodeToString(l.mac(alert, guard))
}

// verify returns the alert and guard a token names, if facilityd signed it.
// Decoding is strict: a token has one spelling, so a link with its unused trailing bits
// changed is refused rather than taken as the same claim.
func (l *linkSigner) verify(tok string) (alert, guard string, ok bool) {
	enc := base64.RawURLEncoding.Strict()
	body, sig, found := strings.Cut(tok, ".")
	if !found {
		return "", "", false
	}
	b, err1 := enc.DecodeString(body)
	mac, err2 := enc.DecodeString(sig)
	if err1 != nil || err2 != nil {
		return "", "", false
	}
	alert, guard, found = strings.Cut(string(b), "\x00")
	if !found || !hmac.Equal(mac, l.mac(alert, guard)) {
		return "", "", false
	}
	return alert, guard, true
}

// link is the console address of alert, claiming it as guard when guard is set; "" without
// patrol.phones.link_base.
func (s *Service) link(alert, guard string) string {
	base := strings.TrimSuffix(s.cfg.Phones.LinkBase, "/")
	if base == "" || alert == "" {
		return ""
	}
	u := base + "/#/patrol/" + url.PathEscape(alert)
	if guard != "" && s.links != nil {
		u += "?claim=" + s.links.token(alert, guard)
	}
	return u
}

// LinkAlert is the alert a claim link opens and the guard it names, for the page that asks
// the guard to confirm.
func (s *Service) LinkAlert(tok string) (Alert, Guard, error) {
	if s.links == nil {
		return Alert{}, Guard{}, ErrBadLink
	}
	id, guard, ok := s.links.verify(tok)
	if !ok {
		return Alert{}, Guard{}, ErrBadLink
	}
	a, ok := s.Alert(id)
	if !ok || a.State == StateCleared {
		return Alert{}, Guard{}, fmt.Errorf("%w: alert %s is closed", ErrBadLink, id)
	}
	g, ok := s.roster.Guard(guard)
	if !ok {
		return Alert{}, Guard{}, fmt.Errorf("%w: guard %s is no longer in patrol.guards", ErrBadLink, guard)
	}
	return a, g, nil
}

// ClaimLink claims the alert of a claim link in its guard's name: the token is the
// credential, whatever else the request says.
func (s *Service) ClaimLink(tok string) (Alert, error) {
	a, g, err := s.LinkAlert(tok)
	if err != nil {
		return a, err
	}
	return s.Claim(a.ID, g.ID)
}

// selfTests runs the daily self-test of every phone channel at patrol.phones.self_test local
// time, once a day (a restart does not run it twice), and reports each result.
type selfTests struct {
	mu   sync.Mutex
	last string // local date of the last run
}

const selfTestMeta = "self_test"

// selfTest runs the self-tests if they are due at now.
func (s *Service) selfTest(ctx context.Context, now time.Time) {
	at, err := ParseClock(s.cfg.Phones.SelfTest)
	if s.cfg.Phones.SelfTest == "" || err != nil {
		return
	}
	local := now.In(s.roster.loc)
	if local.Hour()*60+local.Minute() < at {
		return
	}
	date := local.Format(time.DateOnly)
	s.tests.mu.Lock()
	if s.tests.last == "" {
		s.tests.last, _ = s.store.Meta(selfTestMeta)
	}
	if s.tests.last >= date {
		s.tests.mu.Unlock()
		return
	}
	s.tests.last = date
	s.tests.mu.Unlock()
	if err := s.store.SetMeta(selfTestMeta, date); err != nil {
		s.log.Error("patrol.store: self-test date not saved", "err", err)
	}
	s.RunSelfTests(ctx)
}

// RunSelfTests tests every phone channel now and reports each result to Deps.ChannelHealth;
// it returns the failures by channel.
func (s *Service) RunSelfTests(ctx context.Context) map[string]error {
	failed := map[string]error{}
	for _, c := range s.chans {
		t, ok := c.(SelfTester)
		if !ok {
			continue
		}
		tctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		err := t.SelfTest(tctx)
		cancel()
		if err != nil {
			failed[c.Name()] = err
			s.log.Error("patrol channel self-test failed", "channel", c.Name(), "err", err)
		} else {
			s.log.Info("patrol channel self-test passed", "channel", c.Name())
		}
		s.metrics.selfTests.WithLabelValues(c.Name(), result(err)).Inc()
		if s.deps.ChannelHealth != nil {
			s.deps.ChannelHealth(c.Name(), err)
		}
	}
	return failed
}

func result(err error) string {
	if err != nil {
		return "failed"
	}
	return "ok"
}
