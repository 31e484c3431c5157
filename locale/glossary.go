package locale

import (
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Term is one entry of the glossary: the Chinese term the trade writes, the English phrases
// it stands for, and phrases that make an English match not count (a fire panel's numbered
// "zone {n}" is a 防区, not a 片区).
type Term struct {
	Zh     string   `yaml:"zh"`
	En     []string `yaml:"en"`
	Unless []string `yaml:"unless"`
	Note   string   `yaml:"note"`
}

// Glossary returns the repository's glossary (glossary.yaml).
func Glossary() ([]Term, error) {
	data, err := files.ReadFile("glossary.yaml")
	if err != nil {
		return nil, err
	}
	var terms []Term
	if err := yaml.Unmarshal(data, &terms); err != nil {
		return nil, fmt.Errorf("locale/glossary.yaml: %w", err)
	}
	return terms, nil
}

// Misses names the glossary terms a Chinese message leaves out although its English
// counterpart uses the English phrase: what a reviewer who reads Chinese would flag. Tests
// of every catalogue (Go, the alarm rules, the console's) call it.
func Misses(terms []Term, en, zh string) []string {
	var out []string
	words := placeholders.ReplaceAllString(en, "")
	for _, t := range terms {
		if strings.Contains(zh, t.Zh) || !mentions(words, t.En) || mentionsAny(en, t.Unless) {
			continue
		}
		out = append(out, fmt.Sprintf("%s (for %q)", t.Zh, strings.Join(t.En, "/")))
	}
	return out
}

// placeholders are left out of the English: "{zone}" is an argument, not the word.
var placeholders = regexp.MustCompile(`\{[a-z_]+\}`)

func mentions(text string, phrases []string) bool {
	for _, p := range phrases {
		re := regexp.MustCompile(`(?i)(^|[^\pL\pN_])` + regexp.QuoteMeta(p) + `($|[^\pL\pN_])`)
		if re.MatchString(text) {
			return true
		}
	}
	return false
}

func mentionsAny(text string, phrases []string) bool {
	for _, p := range phrases {
		if strings.Contains(strings.ToLower(text), strings.ToLower(p)) {
			return true
		}
	}
	return false
}
