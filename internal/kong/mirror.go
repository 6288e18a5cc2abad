package kong

import (
	"fmt"
	"net"
	"strconv"
)

// checkMirror checks a drawbridge-mirror config against the rules of its
// schema.lua (internal/kong/luaplugins/plugins/drawbridge-mirror), so a
// translation mistake is caught before Kong refuses the whole config.
func checkMirror(cfg map[string]any) []string {
	problems := unknownKeys(cfg, "mirrors", "max_body_bytes", "max_in_flight", "timeout")
	raw, ok := cfg["mirrors"].([]any)
	if !ok || len(raw) == 0 {
		return append(problems, "mirrors must be a non-empty array")
	}
	for i, r := range raw {
		m, ok := asRecord(r)
		if !ok {
			problems = append(problems, fmt.Sprintf("mirrors[%d] must be a record", i))
			continue
		}
		for _, p := range unknownKeys(m, "name", "endpoints", "numerator", "denominator") {
			problems = append(problems, fmt.Sprintf("mirrors[%d]: %s", i, p))
		}
		if name, _ := m["name"].(string); name == "" {
			problems = append(problems, fmt.Sprintf("mirrors[%d].name must be a non-empty string", i))
		}
		eps, ok := asStrings(m["endpoints"])
		if !ok {
			problems = append(problems, fmt.Sprintf("mirrors[%d].endpoints must be an array of strings", i))
		}
		for _, ep := range eps {
			host, port, err := net.SplitHostPort(ep)
			n, perr := strconv.Atoi(port)
			if err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
				problems = append(problems, fmt.Sprintf("mirrors[%d].endpoints entry %q is not host:port", i, ep))
			}
		}
		num, nok := asInt(m["numerator"])
		den, dok := asInt(m["denominator"])
		if !nok || num < 0 {
			problems = append(problems, fmt.Sprintf("mirrors[%d].numerator must be an integer >= 0", i))
		}
		if !dok || den < 1 {
			problems = append(problems, fmt.Sprintf("mirrors[%d].denominator must be an integer >= 1", i))
		}
		if nok && dok && num > den {
			problems = append(problems, fmt.Sprintf("mirrors[%d]: numerator must be less than or equal to denominator", i))
		}
	}
	for _, b := range []struct {
		key      string
		min, max int
	}{{"max_body_bytes", 0, 16777216}, {"max_in_flight", 1, 4096}, {"timeout", 1, 600000}} {
		v, present := cfg[b.key]
		if !present {
			continue
		}
		if n, ok := asInt(v); !ok || n < b.min || n > b.max {
			problems = append(problems, fmt.Sprintf("%s must be an integer in %d..%d", b.key, b.min, b.max))
		}
	}
	return problems
}
