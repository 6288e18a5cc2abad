package kong

import (
	"crypto/tls"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
)

// Problem is one schema violation, located by a path such as
// "services[2].routes[0].expression" and the entity's name when it has one.
type Problem struct {
	Path    string
	Entity  string
	Message string
}

func (p Problem) String() string {
	if p.Entity != "" {
		return fmt.Sprintf("%s (%s): %s", p.Path, p.Entity, p.Message)
	}
	return fmt.Sprintf("%s: %s", p.Path, p.Message)
}

// ValidationError lists every problem Validate found.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return fmt.Sprintf("invalid Kong declarative config (%d problems): %s", len(e.Problems), strings.Join(lines, "; "))
}

// Limits from Kong 3.9's schema (kong/db/schema/typedefs.lua and entities).
const (
	MaxPriority     = 1<<46 - 1
	MaxTargetWeight = 65535
	MaxRetries      = 32767
	MaxTimeoutMs    = 1<<31 - 2
)

var methodRE = regexp.MustCompile(`^[A-Z]+$`)

// The character classes below run for every name, host and target of
// configs with tens of thousands of entities, where regular expressions
// cost more than the rest of the validation.

// onlyOf reports whether s is non-empty and every byte is an ASCII letter, a
// digit (isAlnum) or one of extra.
func onlyOf(s, extra string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && strings.IndexByte(extra, s[i]) < 0 {
			return false
		}
	}
	return true
}

// validName is Kong's entity name rule: letters, digits and "._~-".
func validName(s string) bool { return onlyOf(s, "._~-") }

// validUpstreamName is the hostname-like rule for upstream names.
func validUpstreamName(s string) bool { return onlyOf(s, "._-") }

// validHostLabel is one DNS label as Kong checks it: letters, digits, '_'
// and inner '-'.
func validHostLabel(l string) bool {
	return onlyOf(l, "_-") && l[0] != '-' && l[len(l)-1] != '-'
}

var protocolGroups = map[string]string{
	"http": "http", "https": "http",
	"grpc": "grpc", "grpcs": "grpc",
	"tcp": "stream", "tls": "stream", "udp": "stream",
	"tls_passthrough": "tls_passthrough",
}

var serviceProtocols = map[string]bool{
	"http": true, "https": true, "grpc": true, "grpcs": true, "tcp": true, "tls": true, "udp": true,
	"tls_passthrough": true, "ws": true, "wss": true,
}

// validator accumulates problems while walking a config.
type validator struct {
	problems []Problem
}

func (v *validator) add(path, entity, format string, args ...any) {
	v.problems = append(v.problems, Problem{Path: path, Entity: entity, Message: fmt.Sprintf(format, args...)})
}

// Validate checks c against the Kong 3.9 rules Drawbridge relies on. It
// returns a *ValidationError listing every problem, or nil.
func Validate(c *Config) error {
	v := &validator{}
	if c.FormatVersion != FormatVersion {
		v.add("_format_version", "", "must be %q, got %q", FormatVersion, c.FormatVersion)
	}
	serviceNames := map[string]bool{}
	routeNames := map[string]bool{}
	for i := range c.Services {
		v.service(fmt.Sprintf("services[%d]", i), &c.Services[i], serviceNames, routeNames)
	}
	upstreamNames := map[string]bool{}
	for i := range c.Upstreams {
		v.upstream(fmt.Sprintf("upstreams[%d]", i), &c.Upstreams[i], upstreamNames)
	}
	sniNames := map[string]bool{}
	certIDs := map[string]bool{}
	for i := range c.Certificates {
		v.certificate(fmt.Sprintf("certificates[%d]", i), &c.Certificates[i], certIDs, sniNames)
	}
	v.plugins("plugins", "", c.Plugins, nil)
	v.consumers(c.Consumers)
	if len(v.problems) == 0 {
		return nil
	}
	return &ValidationError{Problems: v.problems}
}

func (v *validator) tags(path, entity string, tags []string) {
	for i, t := range tags {
		if t == "" {
			v.add(fmt.Sprintf("%s.tags[%d]", path, i), entity, "tag must not be empty")
		}
		for _, r := range t {
			if r == ',' || r == '/' || r < 0x21 || r == 0x7f {
				v.add(fmt.Sprintf("%s.tags[%d]", path, i), entity, "tag %q has a character Kong does not allow (printable, no ',' or '/')", t)
				break
			}
		}
	}
}

func (v *validator) name(path, entity, name string, seen map[string]bool, what string) {
	switch {
	case name == "":
		v.add(path+".name", entity, "%s name is required", what)
	case !validName(name):
		v.add(path+".name", entity, "%s name %q may only contain letters, digits, '.', '_', '~' and '-'", what, name)
	case seen[name]:
		v.add(path+".name", entity, "duplicate %s name %q", what, name)
	}
	seen[name] = true
}

func (v *validator) service(path string, s *Service, names, routeNames map[string]bool) {
	v.name(path, s.Name, s.Name, names, "service")
	v.tags(path, s.Name, s.Tags)
	if !serviceProtocols[s.Protocol] {
		v.add(path+".protocol", s.Name, "unknown protocol %q", s.Protocol)
	}
	if err := checkHostname(s.Host, false); err != nil {
		v.add(path+".host", s.Name, "%v", err)
	}
	if s.Port < 0 || s.Port > 65535 {
		v.add(path+".port", s.Name, "port %d is outside 0..65535", s.Port)
	}
	if s.Path != nil {
		switch s.Protocol {
		case "tcp", "tls", "udp", "grpc", "grpcs", "tls_passthrough":
			v.add(path+".path", s.Name, "path must be null for protocol %s", s.Protocol)
		}
		if !strings.HasPrefix(*s.Path, "/") {
			v.add(path+".path", s.Name, "path must start with /")
		}
	}
	if s.Retries != nil && (*s.Retries < 0 || *s.Retries > MaxRetries) {
		v.add(path+".retries", s.Name, "retries %d is outside 0..%d", *s.Retries, MaxRetries)
	}
	for _, t := range [...]struct {
		field string
		ms    *int
	}{{"connect_timeout", s.ConnectTimeout}, {"read_timeout", s.ReadTimeout}, {"write_timeout", s.WriteTimeout}} {
		if t.ms != nil && (*t.ms < 1 || *t.ms > MaxTimeoutMs) {
			v.add(path+"."+t.field, s.Name, "%d is outside 1..%d", *t.ms, MaxTimeoutMs)
		}
	}
	for i := range s.Routes {
		v.route(fmt.Sprintf("%s.routes[%d]", path, i), &s.Routes[i], s.Protocol, routeNames)
	}
	v.plugins(path+".plugins", s.Name, s.Plugins, nil)
}

func (v *validator) route(path string, r *Route, serviceProtocol string, names map[string]bool) {
	v.name(path, r.Name, r.Name, names, "route")
	v.tags(path, r.Name, r.Tags)
	if len(r.Protocols) == 0 {
		v.add(path+".protocols", r.Name, "at least one protocol is required")
	}
	group := ""
	for i, p := range r.Protocols {
		g, ok := protocolGroups[p]
		if !ok {
			v.add(fmt.Sprintf("%s.protocols[%d]", path, i), r.Name, "unknown route protocol %q", p)
			continue
		}
		if group != "" && g != group {
			v.add(path+".protocols", r.Name, "protocols %v mix groups that cannot be combined", r.Protocols)
			break
		}
		group = g
	}
	router := HTTPRouter
	if group == "stream" || group == "tls_passthrough" {
		router = StreamRouter
	}
	if err := CheckExpression(r.Expression, router); err != nil {
		v.add(path+".expression", r.Name, "%v", err)
	}
	if r.Priority > MaxPriority {
		v.add(path+".priority", r.Name, "priority %d exceeds %d", r.Priority, uint64(MaxPriority))
	}
	if group == "grpc" && (r.StripPath == nil || *r.StripPath) {
		v.add(path+".strip_path", r.Name, "strip_path must be false for grpc routes")
	}
	if router == StreamRouter && (r.StripPath != nil || r.PreserveHost != nil) {
		v.add(path, r.Name, "strip_path and preserve_host do not apply to stream routes")
	}
	switch {
	// An http route may use a grpc service: Kong then proxies it through
	// nginx's grpc module, over HTTP/2 (kong/runloop/handler.lua,
	// access.before), which is how Drawbridge reaches h2c backends.
	case group == "http" && serviceProtocol != "http" && serviceProtocol != "https" && serviceProtocol != "grpc" && serviceProtocol != "grpcs":
		v.add(path+".protocols", r.Name, "http route on a %s service", serviceProtocol)
	case group == "grpc" && serviceProtocol != "grpc" && serviceProtocol != "grpcs":
		v.add(path+".protocols", r.Name, "grpc route on a %s service", serviceProtocol)
	case router == StreamRouter && serviceProtocol != "tcp" && serviceProtocol != "tls" && serviceProtocol != "udp":
		v.add(path+".protocols", r.Name, "stream route on a %s service", serviceProtocol)
	}
	v.plugins(path+".plugins", r.Name, r.Plugins, r.Protocols)
}

func (v *validator) upstream(path string, u *Upstream, names map[string]bool) {
	switch {
	case u.Name == "":
		v.add(path+".name", "", "upstream name is required")
	case !validUpstreamName(u.Name) || net.ParseIP(u.Name) != nil:
		v.add(path+".name", u.Name, "upstream name %q must be a hostname (letters, digits, '.', '_', '-'), not an IP", u.Name)
	case names[u.Name]:
		v.add(path+".name", u.Name, "duplicate upstream name %q", u.Name)
	}
	names[u.Name] = true
	v.tags(path, u.Name, u.Tags)
	switch u.Algorithm {
	case "", "round-robin", "consistent-hashing", "least-connections", "latency":
	default:
		v.add(path+".algorithm", u.Name, "unknown algorithm %q", u.Algorithm)
	}
	seen := map[string]bool{}
	for i, t := range u.Targets {
		tp := fmt.Sprintf("%s.targets[%d]", path, i)
		v.tags(tp, u.Name, t.Tags)
		if err := checkTarget(t.Target); err != nil {
			v.add(tp+".target", u.Name, "%v", err)
		}
		if seen[t.Target] {
			v.add(tp+".target", u.Name, "duplicate target %q in one upstream", t.Target)
		}
		seen[t.Target] = true
		if t.Weight < 0 || t.Weight > MaxTargetWeight {
			v.add(tp+".weight", u.Name, "weight %d is outside 0..%d", t.Weight, MaxTargetWeight)
		}
	}
}

func (v *validator) certificate(path string, c *Certificate, ids, snis map[string]bool) {
	if c.ID == "" {
		v.add(path+".id", "", "certificate id is required for a stable config")
	} else if ids[c.ID] {
		v.add(path+".id", c.ID, "duplicate certificate id")
	}
	ids[c.ID] = true
	v.tags(path, c.ID, c.Tags)
	if _, err := tls.X509KeyPair([]byte(c.Cert), []byte(c.Key)); err != nil {
		v.add(path, c.ID, "cert and key are not a valid matching PEM pair")
	}
	for i, s := range c.SNIs {
		sp := fmt.Sprintf("%s.snis[%d]", path, i)
		v.tags(sp, c.ID, s.Tags)
		if s.Name != "*" {
			if err := checkHostname(s.Name, true); err != nil {
				v.add(sp+".name", c.ID, "%v", err)
			}
		}
		if snis[s.Name] {
			v.add(sp+".name", c.ID, "SNI %q is already bound to another certificate", s.Name)
		}
		snis[s.Name] = true
	}
}

// checkHostname checks a host as Kong's typedefs.host/wildcard_host do: DNS
// labels, with at most one "*" as the leftmost or rightmost label when
// wildcards are allowed. IPs are accepted where a service host may be one.
// Kong checks a label's characters, not its length (kong/tools/ip.lua
// check_hostname), and Drawbridge's entity names keep a Kubernetes name,
// which may be one label of up to 253 characters, as one label; so no
// 63-character limit applies here either.
func checkHostname(h string, wildcard bool) error {
	if h == "" {
		return fmt.Errorf("host is required")
	}
	if strings.Contains(h, ":") && net.ParseIP(h) == nil {
		return fmt.Errorf("host %q must not contain a port", h)
	}
	if net.ParseIP(h) != nil {
		if wildcard {
			return fmt.Errorf("%q: an IP is not a valid SNI", h)
		}
		return nil
	}
	if len(h) > 253 {
		return fmt.Errorf("host %q is longer than 253 characters", h)
	}
	labels := strings.Split(h, ".")
	for i, l := range labels {
		if l == "*" && wildcard && (i == 0 || i == len(labels)-1) && len(labels) > 1 && strings.Count(h, "*") == 1 {
			continue
		}
		if !validHostLabel(l) {
			return fmt.Errorf("invalid hostname %q", h)
		}
	}
	return nil
}

func checkTarget(t string) error {
	host, port, err := net.SplitHostPort(t)
	if err != nil {
		return fmt.Errorf("target %q must be host:port (IPv6 in brackets): %v", t, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("target %q has an invalid port", t)
	}
	if net.ParseIP(host) == nil {
		if err := checkHostname(host, false); err != nil {
			return fmt.Errorf("target %q: %v", t, err)
		}
	}
	return nil
}
