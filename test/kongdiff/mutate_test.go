package kongdiff

// Broken variants of the golden configurations. The translator never emits
// an invalid config, so the goldens alone only compare acceptances; these
// mutations make both data planes reject and show whether they name the
// same entities.

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// mutationsPerKind bounds how many golden configs each mutation is applied to.
const mutationsPerKind = 6

// mutation breaks one thing in a decoded config; it reports false when the
// config has nothing it applies to.
type mutation struct {
	name  string
	apply func(cfg map[string]any) bool
}

var mutations = []mutation{
	{"route-expression-syntax", onFirstRoute(func(r map[string]any) { r["expression"] = fmt.Sprint(r["expression"]) + " &&" })},
	{"route-unknown-field", onFirstRoute(func(r map[string]any) { r["expression"] = `http.nope == "x"` })},
	{"route-bad-regex", onFirstRoute(func(r map[string]any) { r["expression"] = `http.path ~ "(unclosed"` })},
	// Regexes Go's RE2 accepts and Kong's Rust regex refuses
	// (internal/kong/regex.go).
	{"route-regex-quote", onFirstRoute(func(r map[string]any) { r["expression"] = `http.path ~ "^\\Qa.b\\E"` })},
	{"route-regex-named-group", onFirstRoute(func(r map[string]any) { r["expression"] = `http.path ~ "^/(?<n>x)"` })},
	{"route-regex-octal", onFirstRoute(func(r map[string]any) { r["expression"] = `http.path ~ "^/\\0"` })},
	{"route-priority-too-big", onFirstRoute(func(r map[string]any) { r["priority"] = json.Number("70368744177664") })},
	{"route-mixed-protocols", onFirstRoute(func(r map[string]any) { r["protocols"] = []any{"http", "tcp"} })},
	{"route-unknown-plugin", onFirstRoute(func(r map[string]any) {
		r["plugins"] = []any{map[string]any{"name": "no-such-plugin", "config": map[string]any{}}}
	})},
	{"route-duplicate-name", func(cfg map[string]any) bool {
		var routes []map[string]any
		for _, s := range list(cfg["services"]) {
			routes = append(routes, list(s["routes"])...)
		}
		if len(routes) < 2 {
			return false
		}
		routes[1]["name"] = routes[0]["name"]
		return true
	}},
	{"service-bad-protocol", func(cfg map[string]any) bool {
		s := list(cfg["services"])
		if len(s) == 0 {
			return false
		}
		s[0]["protocol"] = "ftp"
		return true
	}},
	{"target-weight-too-big", func(cfg map[string]any) bool {
		for _, u := range list(cfg["upstreams"]) {
			if t := list(u["targets"]); len(t) > 0 {
				t[0]["weight"] = json.Number("65536")
				return true
			}
		}
		return false
	}},
	{"certificate-bad-pem", func(cfg map[string]any) bool {
		c := list(cfg["certificates"])
		if len(c) == 0 {
			return false
		}
		c[0]["cert"] = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"
		return true
	}},
	{"route-error-beside-certificate", func(cfg map[string]any) bool {
		if len(list(cfg["certificates"])) == 0 {
			return false
		}
		return onFirstRoute(func(r map[string]any) { r["priority"] = json.Number("70368744177664") })(cfg)
	}},
	{"unknown-top-level-key", func(cfg map[string]any) bool { cfg["kongdiff_unknown"] = []any{}; return true }},
}

func onFirstRoute(f func(r map[string]any)) func(map[string]any) bool {
	return func(cfg map[string]any) bool {
		for _, s := range list(cfg["services"]) {
			if r := list(s["routes"]); len(r) > 0 {
				f(r[0])
				return true
			}
		}
		return false
	}
}

// mutatedCases applies every mutation to up to mutationsPerKind configs it
// fits, spread evenly over the cases (so features late in the alphabet,
// such as certificates, are reached too).
func mutatedCases(cases []goldenCase) ([]goldenCase, error) {
	var out []goldenCase
	for _, m := range mutations {
		var fits []goldenCase
		for _, c := range cases {
			cfg, err := decodeConfig(c)
			if err != nil {
				return nil, err
			}
			if !m.apply(cfg) {
				continue
			}
			b, err := json.Marshal(cfg)
			if err != nil {
				return nil, fmt.Errorf("%s: encode mutated config: %w", c.id, err)
			}
			fits = append(fits, goldenCase{id: c.id + "+" + m.name, config: b})
		}
		n := min(mutationsPerKind, len(fits))
		for i := 0; i < n; i++ {
			out = append(out, fits[i*len(fits)/n])
		}
	}
	return out, nil
}

func decodeConfig(c goldenCase) (map[string]any, error) {
	var cfg map[string]any
	dec := json.NewDecoder(bytes.NewReader(c.config))
	dec.UseNumber()
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("%s: decode config: %w", c.id, err)
	}
	return cfg, nil
}
