package kongstandin

// Entity schemas of Kong 3.9 (kong/db/schema/entities/*.lua, typedefs.lua) as
// summarised in reference section 2, restricted to what the stand-in can honour.

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Protocols lists every route/service protocol of Kong 3.9 OSS, sorted as in
// Kong's "expected one of" messages.
var allProtocols = []string{"grpc", "grpcs", "http", "https", "tcp", "tls", "tls_passthrough", "udp"}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func checkUUID(v any) string {
	if !uuidRE.MatchString(v.(string)) {
		return "expected a valid UUID"
	}
	return ""
}

// checkName implements typedefs.utf8_name: ASCII restricted to [A-Za-z0-9._~-],
// any valid UTF-8 allowed.
func checkName(v any) string {
	s := v.(string)
	if !utf8.ValidString(s) {
		return fmt.Sprintf("invalid value '%s': must be valid utf-8", s)
	}
	for _, r := range s {
		if r < 128 && !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._~-", r)) {
			return fmt.Sprintf("invalid value '%s': the only accepted ascii characters are alphanumerics or ., -, _, and ~", s)
		}
	}
	return ""
}

// checkTag implements typedefs.tag: printable characters except ',' and '/'.
func checkTag(v any) string {
	s := v.(string)
	bad := !utf8.ValidString(s) || s == ""
	for _, r := range s {
		if r < 0x21 || r == 0x7f || r == ',' || r == '/' {
			bad = true
		}
	}
	if bad {
		return fmt.Sprintf("invalid tag '%s': expected printable ascii (except `,` and `/`) or valid utf-8 sequences", s)
	}
	return ""
}

// hostnameRE is a hostname of labels of letters, digits, '-' and '_'. Kong
// checks the characters of each label, not its length (kong/tools/ip.lua
// check_hostname), so a label may be longer than DNS's 63 characters.
var hostnameRE = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_-]*)(\.[A-Za-z0-9_]([A-Za-z0-9_-]*))*\.?$`)

func isHostname(s string) bool { return len(s) <= 253 && hostnameRE.MatchString(s) }

// checkHost implements typedefs.host: a hostname or IP address without port.
func checkHost(v any) string {
	s := v.(string)
	if _, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return ""
	}
	if h, p, err := net.SplitHostPort(s); err == nil && h != "" && p != "" {
		return "must not have a port"
	}
	if !isHostname(s) {
		return fmt.Sprintf("invalid value: %s", s)
	}
	return ""
}

func checkPEMCert(v any) string {
	if _, err := parseCertsPEM(v.(string)); err != nil {
		return "invalid certificate: " + err.Error()
	}
	return ""
}

func parseCertsPEM(s string) ([]*x509.Certificate, error) {
	rest := []byte(s)
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no PEM certificate found")
	}
	return out, nil
}

func checkPEMKey(v any) string {
	b, _ := pem.Decode([]byte(v.(string)))
	if b == nil || !strings.Contains(b.Type, "PRIVATE KEY") {
		return "invalid key: no PEM private key found"
	}
	return ""
}

func strSpec(name string) *fspec { return &fspec{name: name, kind: kString} }

func tagsSpec() *fspec {
	return &fspec{name: "tags", kind: kSet, elem: &fspec{kind: kString, check: checkTag}}
}

func commonSpecs() []*fspec {
	return []*fspec{
		{name: "id", kind: kString, check: checkUUID},
		{name: "created_at", kind: kInteger},
		{name: "updated_at", kind: kInteger},
		tagsSpec(),
	}
}

func stringArray(name string) *fspec {
	return &fspec{name: name, kind: kArray, elem: &fspec{kind: kString}}
}

func serviceSpecs() []*fspec {
	return append(commonSpecs(),
		&fspec{name: "name", kind: kString, check: checkName},
		&fspec{name: "retries", kind: kInteger, def: 5, between: between(0, 32767)},
		&fspec{name: "protocol", kind: kString, required: true, def: "http", oneOf: allProtocols},
		&fspec{name: "host", kind: kString, required: true, check: checkHost},
		&fspec{name: "port", kind: kInteger, required: true, def: 80, between: between(0, 65535)},
		&fspec{name: "path", kind: kString, check: checkServicePath},
		&fspec{name: "connect_timeout", kind: kInteger, def: 60000, between: between(1, 2147483646)},
		&fspec{name: "write_timeout", kind: kInteger, def: 60000, between: between(1, 2147483646)},
		&fspec{name: "read_timeout", kind: kInteger, def: 60000, between: between(1, 2147483646)},
		&fspec{name: "client_certificate", kind: kForeign},
		&fspec{name: "tls_verify", kind: kBoolean},
		&fspec{name: "tls_verify_depth", kind: kInteger, between: between(0, 64)},
		&fspec{name: "ca_certificates", kind: kArray, elem: &fspec{kind: kString, check: checkUUID}},
		&fspec{name: "enabled", kind: kBoolean, required: true, def: true},
	)
}

func checkServicePath(v any) string {
	s := v.(string)
	if !strings.HasPrefix(s, "/") {
		return "should start with: /"
	}
	if strings.Contains(s, "//") {
		return "must not have empty segments"
	}
	return ""
}

// maxRoutePriority is 2^46-1, the bound of the expressions route priority.
const maxRoutePriority = 70368744177663

func routeSpecs() []*fspec {
	return append(commonSpecs(),
		&fspec{name: "name", kind: kString, check: checkName},
		&fspec{name: "protocols", kind: kSet, required: true, def: []any{"http", "https"}, lenMin: 1, elem: &fspec{kind: kString, oneOf: allProtocols}},
		&fspec{name: "methods", kind: kSet, elem: &fspec{kind: kString}},
		&fspec{name: "hosts", kind: kArray, elem: &fspec{kind: kString}},
		&fspec{name: "paths", kind: kArray, elem: &fspec{kind: kString}},
		&fspec{name: "headers", kind: kMap, elem: &fspec{kind: kArray, elem: &fspec{kind: kString}}},
		&fspec{name: "snis", kind: kSet, elem: &fspec{kind: kString}},
		&fspec{name: "sources", kind: kSet, elem: &fspec{kind: kAny}},
		&fspec{name: "destinations", kind: kSet, elem: &fspec{kind: kAny}},
		&fspec{name: "https_redirect_status_code", kind: kInteger, required: true, def: 426, check: func(v any) string {
			n := strings.TrimSpace(fmt.Sprint(v))
			if !contains([]string{"426", "301", "302", "307", "308"}, n) {
				return "expected one of: 426, 301, 302, 307, 308"
			}
			return ""
		}},
		&fspec{name: "regex_priority", kind: kInteger, def: 0},
		&fspec{name: "strip_path", kind: kBoolean, required: true, def: true},
		&fspec{name: "path_handling", kind: kString, def: "v0", oneOf: []string{"v0", "v1"}},
		&fspec{name: "preserve_host", kind: kBoolean, required: true, def: false},
		&fspec{name: "request_buffering", kind: kBoolean, required: true, def: true},
		&fspec{name: "response_buffering", kind: kBoolean, required: true, def: true},
		&fspec{name: "service", kind: kForeign},
		&fspec{name: "expression", kind: kString},
		&fspec{name: "priority", kind: kInteger, def: 0, between: between(0, maxRoutePriority)},
	)
}

func upstreamSpecs() []*fspec {
	hashOn := []string{"none", "consumer", "ip", "header", "cookie", "path", "query_arg", "uri_capture"}
	return append(commonSpecs(),
		&fspec{name: "name", kind: kString, required: true, check: checkUpstreamName},
		&fspec{name: "algorithm", kind: kString, def: "round-robin", oneOf: []string{"consistent-hashing", "least-connections", "round-robin", "latency"}},
		&fspec{name: "hash_on", kind: kString, def: "none", oneOf: hashOn},
		&fspec{name: "hash_fallback", kind: kString, def: "none", oneOf: hashOn},
		strSpec("hash_on_header"), strSpec("hash_fallback_header"), strSpec("hash_on_cookie"),
		&fspec{name: "hash_on_cookie_path", kind: kString, def: "/"},
		strSpec("hash_on_query_arg"), strSpec("hash_fallback_query_arg"),
		strSpec("hash_on_uri_capture"), strSpec("hash_fallback_uri_capture"),
		&fspec{name: "slots", kind: kInteger, def: 10000, between: between(10, 65536)},
		&fspec{name: "healthchecks", kind: kAny, check: checkHealthchecksOff},
		&fspec{name: "host_header", kind: kString, check: checkHost},
		&fspec{name: "client_certificate", kind: kForeign},
		&fspec{name: "use_srv_name", kind: kBoolean, def: false},
	)
}

func checkUpstreamName(v any) string {
	s := v.(string)
	if _, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return fmt.Sprintf("Invalid name ('%s'); no ip addresses allowed", s)
	}
	if strings.Contains(s, ":") {
		return fmt.Sprintf("Invalid name ('%s'); no port allowed", s)
	}
	if !isHostname(s) {
		return fmt.Sprintf("Invalid name ('%s'); must be a valid hostname", s)
	}
	return ""
}

// checkHealthchecksOff accepts health-check settings only while both active and
// passive checks are effectively disabled: the stand-in does not probe targets,
// so enabling them must fail loudly rather than silently never mark a target down.
func checkHealthchecksOff(v any) string {
	hc, ok := v.(map[string]any)
	if !ok {
		return "expected a record"
	}
	for _, mode := range []string{"active", "passive"} {
		m, _ := hc[mode].(map[string]any)
		for _, state := range []string{"healthy", "unhealthy"} {
			s, _ := m[state].(map[string]any)
			for k, x := range s {
				if (k == "interval" || k == "successes" || k == "http_failures" || k == "tcp_failures" || k == "timeouts") && fmt.Sprint(x) != "0" {
					return fmt.Sprintf("stand-in: %s health checks are outside the stand-in's scope (Drawbridge does not emit them; healthchecks.%s.%s.%s must be 0)", mode, mode, state, k)
				}
			}
		}
	}
	return ""
}

func targetSpecs() []*fspec {
	return append(commonSpecs(),
		&fspec{name: "target", kind: kString, required: true, check: checkTarget},
		&fspec{name: "weight", kind: kInteger, def: 100, between: between(0, 65535)},
		&fspec{name: "upstream", kind: kForeign, required: true},
	)
}

// splitTarget splits "host[:port]" (IPv6 bracketed); the port defaults to 8000
// as in Kong's targets DAO.
func splitTarget(s string) (string, int, error) {
	if h, p, err := net.SplitHostPort(s); err == nil {
		port, perr := strconv.Atoi(p)
		if perr != nil || port < 0 || port > 65535 {
			return "", 0, fmt.Errorf("invalid port")
		}
		return h, port, nil
	}
	return strings.Trim(s, "[]"), 8000, nil
}

func checkTarget(v any) string {
	s := v.(string)
	h, _, err := splitTarget(s)
	if err != nil || h == "" {
		return fmt.Sprintf("Invalid target ('%s'); not a valid hostname or ip address", s)
	}
	if _, err := netip.ParseAddr(h); err != nil && !isHostname(h) {
		return fmt.Sprintf("Invalid target ('%s'); not a valid hostname or ip address", s)
	}
	return ""
}

func certificateSpecs() []*fspec {
	return append(commonSpecs(),
		&fspec{name: "cert", kind: kString, required: true, check: checkPEMCert},
		&fspec{name: "key", kind: kString, required: true, check: checkPEMKey},
		&fspec{name: "cert_alt", kind: kString, check: checkPEMCert},
		&fspec{name: "key_alt", kind: kString, check: checkPEMKey},
		&fspec{name: "snis", kind: kArray, elem: &fspec{kind: kAny}},
	)
}

func sniSpecs() []*fspec {
	return append(commonSpecs(),
		&fspec{name: "name", kind: kString, required: true, check: checkWildcardHost},
		&fspec{name: "certificate", kind: kForeign, required: true},
	)
}

// checkWildcardHost implements typedefs.wildcard_host as used by SNIs: at most
// one '*', and only as the whole leftmost or rightmost label.
func checkWildcardHost(v any) string {
	s := v.(string)
	if s == "*" {
		return ""
	}
	n := strings.Count(s, "*")
	if n > 1 {
		return "only one wildcard must be specified"
	}
	if n == 1 && !strings.HasPrefix(s, "*.") && !strings.HasSuffix(s, ".*") {
		return "wildcard must be leftmost or rightmost character"
	}
	h := strings.TrimSuffix(strings.TrimPrefix(s, "*."), ".*")
	if strings.Contains(h, ":") {
		return "must not have a port"
	}
	if !isHostname(h) {
		return fmt.Sprintf("invalid value: %s", s)
	}
	return ""
}

func caCertificateSpecs() []*fspec {
	return append(commonSpecs(),
		&fspec{name: "cert", kind: kString, required: true, check: checkPEMCert},
		strSpec("cert_digest"),
	)
}

func consumerSpecs() []*fspec {
	return append(commonSpecs(),
		strSpec("username"), strSpec("custom_id"),
	)
}

func pluginSpecs() []*fspec {
	return append(commonSpecs(),
		&fspec{name: "name", kind: kString, required: true},
		strSpec("instance_name"),
		&fspec{name: "config", kind: kAny},
		&fspec{name: "protocols", kind: kSet, elem: &fspec{kind: kString, oneOf: allProtocols}},
		&fspec{name: "enabled", kind: kBoolean, def: true},
		&fspec{name: "route", kind: kForeign},
		&fspec{name: "service", kind: kForeign},
		&fspec{name: "consumer", kind: kForeign},
		&fspec{name: "ordering", kind: kAny, check: func(any) string { return "dynamic plugin ordering is an Enterprise feature and is not available" }},
	)
}

// parseServiceURL expands the "url" shorthand into protocol/host/port/path.
func parseServiceURL(raw string) (map[string]any, string) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, "missing host in url"
	}
	out := map[string]any{"protocol": u.Scheme, "host": u.Hostname()}
	if p := u.Port(); p != "" {
		out["port"] = jsonNum(p)
	} else if u.Scheme == "https" || u.Scheme == "grpcs" {
		out["port"] = jsonNum("443")
	} else {
		out["port"] = jsonNum("80")
	}
	if u.Path != "" {
		out["path"] = u.EscapedPath()
	}
	return out, ""
}
