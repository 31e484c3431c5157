package alarms

import (
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/facilityd/facilityd/locale"
)

// Text is a rule's message in each language the site may speak. In YAML it is either one
// string (English, and what any language without its own shows) or a map by locale:
//
//	message: {en: "passengers trapped", zh-CN: "电梯困人"}
//
// Built-in rules give both languages (a test fails on one that does not); a site's own rules
// may give one or both.
type Text map[locale.Locale]string

// UnmarshalYAML reads a plain string or a map whose keys are supported locales.
func (t *Text) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*t = Text{locale.EN: n.Value}
		return nil
	}
	var m map[string]string
	if err := n.Decode(&m); err != nil {
		return fmt.Errorf("line %d: message is a string or a map by locale (en, zh-CN): %w", n.Line, err)
	}
	out := Text{}
	for k, v := range m {
		l, err := locale.Parse(k)
		if err != nil || k == "" {
			return fmt.Errorf("line %d: message in %q: %v", n.Line, k, err)
		}
		out[l] = v
	}
	*t = out
	return nil
}

// In is the message in l, else in English, else in any language given.
func (t Text) In(l locale.Locale) string {
	if s, ok := t[l]; ok {
		return s
	}
	if s, ok := t[locale.EN]; ok {
		return s
	}
	for _, s := range t {
		return s
	}
	return ""
}
