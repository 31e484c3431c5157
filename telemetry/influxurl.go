package telemetry

import (
	"errors"
	"net/url"
)

// errCredentialsTwice is the config mistake of giving InfluxDB credentials in both places.
var errCredentialsTwice = errors.New("influx.url: holds user:password and influx.token is set too: keep one of them")

// RedactURL returns raw with its userinfo (RFC 3986, 3.2.1: "user:password@") replaced by
// "xxxxx", so that a URL can be logged or printed without the password an operator put in it.
// A string that does not parse is returned as "<unparsable URL>", since it may still hold one.
func RedactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable URL>"
	}
	if u.User == nil {
		return raw
	}
	u.User = url.User("xxxxx")
	return u.String()
}

// splitCredentials moves the userinfo of c.URL into c.Token in the "user:password" form that
// InfluxDB 1.8 accepts as a token, so the password is sent only as the connection's credentials
// and the URL kept (and logged) is the bare one.
func (c Config) splitCredentials() (Config, error) {
	u, err := url.Parse(c.URL)
	if err != nil || u.User == nil {
		return c, err
	}
	if c.Token != "" {
		return c, errCredentialsTwice
	}
	c.Token = u.User.String()
	if p, ok := u.User.Password(); ok {
		c.Token = u.User.Username() + ":" + p
	}
	u.User = nil
	c.URL = u.String()
	return c, nil
}
