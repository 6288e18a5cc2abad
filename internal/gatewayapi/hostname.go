package gatewayapi

import "strings"

// HostnamesIntersect reports whether two hostnames (each possibly a "*."
// wildcard, or empty meaning "any") can match a common host, and returns the
// more specific one, which is what a route attached to a listener serves.
// A wildcard matches one or more labels: "*.example.com" matches
// "a.b.example.com" but not "example.com".
func HostnamesIntersect(a, b string) (string, bool) {
	switch {
	case a == "":
		return b, true
	case b == "":
		return a, true
	case a == b:
		return a, true
	}
	aWild, bWild := strings.HasPrefix(a, "*."), strings.HasPrefix(b, "*.")
	switch {
	case aWild && bWild:
		// The longer suffix is the narrower set and must sit inside the other.
		if strings.HasSuffix(a, b[1:]) {
			return a, true
		}
		if strings.HasSuffix(b, a[1:]) {
			return b, true
		}
	case aWild:
		if strings.HasSuffix(b, a[1:]) {
			return b, true
		}
	case bWild:
		if strings.HasSuffix(a, b[1:]) {
			return a, true
		}
	}
	return "", false
}
