package kong

import (
	"fmt"
	"regexp"
)

// PluginDrawbridgeCORS is Drawbridge's own CORS plugin
// (internal/kong/luaplugins/plugins/drawbridge-cors): the HTTPRoute CORS
// filter as the Gateway API defines it, which Kong's cors plugin cannot
// express (it never echoes a requested method and sends no
// Access-Control-Expose-Headers on preflights).
const PluginDrawbridgeCORS = "drawbridge-cors"

// drawbridgeCORSOriginRE is what the plugin's schema accepts as an origin:
// the Gateway API CORSOrigin pattern.
var drawbridgeCORSOriginRE = regexp.MustCompile(`^(\*|https?://((\*\.)?([a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+|\*)(:[0-9]{1,5})?)$`)

// tokenOrStarRE is an RFC 9110 token ("*" is one of its characters).
var tokenOrStarRE = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

// checkDrawbridgeCORS mirrors drawbridge-cors/schema.lua.
func checkDrawbridgeCORS(cfg map[string]any) []string {
	problems := unknownKeys(cfg, "allow_origins", "allow_credentials", "allow_methods", "allow_headers", "expose_headers", "max_age")
	for _, k := range []string{"allow_origins", "allow_methods", "allow_headers", "expose_headers"} {
		raw, present := cfg[k]
		if !present {
			continue
		}
		items, ok := asStrings(raw)
		if !ok {
			problems = append(problems, k+" must be an array of strings")
			continue
		}
		for _, item := range items {
			re := tokenOrStarRE
			if k == "allow_origins" {
				re = drawbridgeCORSOriginRE
			}
			if !re.MatchString(item) {
				problems = append(problems, fmt.Sprintf("%s: %q is not valid", k, item))
			}
		}
	}
	if raw, present := cfg["allow_credentials"]; present {
		if _, ok := raw.(bool); !ok {
			problems = append(problems, "allow_credentials must be a boolean")
		}
	}
	if raw, present := cfg["max_age"]; present {
		if n, ok := asInt(raw); !ok || n < 1 || n > 1<<31-1 {
			problems = append(problems, "max_age must be an integer in 1..2147483647")
		}
	}
	return problems
}
