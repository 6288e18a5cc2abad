package kongstandin

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
)

// Listener is one entry of a Kong *_listen setting, e.g. "0.0.0.0:8443 http2 ssl".
type Listener struct {
	Listener      string `json:"listener"`
	IP            string `json:"ip"`
	Port          int    `json:"port"`
	SSL           bool   `json:"ssl"`
	HTTP2         bool   `json:"http2"`
	UDP           bool   `json:"udp"`
	ProxyProtocol bool   `json:"proxy_protocol"`
	ReusePort     bool   `json:"reuseport"`
	Deferred      bool   `json:"deferred"`
	Bind          bool   `json:"bind"`
	Backlog       int    `json:"-"`
}

// Addr is the host:port to bind.
func (l Listener) Addr() string { return net.JoinHostPort(l.IP, strconv.Itoa(l.Port)) }

// Config is the subset of kong.conf the stand-in understands, read from KONG_* variables.
type Config struct {
	Database          string
	RouterFlavor      string
	ProxyListen       []string
	StreamListen      []string
	AdminListen       []string
	StatusListen      []string
	ProxyListeners    []Listener
	StreamListeners   []Listener
	AdminListeners    []Listener
	StatusListeners   []Listener
	AdminSSLCert      string
	AdminSSLCertKey   string
	SSLCert           string
	SSLCertKey        string
	AdminClientCA     string
	AdminVerifyClient string // on, off, optional
	AdminVerifyDepth  int
	// AdminMaxBodySize is nginx_admin_client_max_body_size (0: no limit):
	// a larger body is answered 413 by nginx. AdminBodyBufferSize is
	// nginx_admin_client_body_buffer_size: nginx writes a larger body to a
	// temporary file, and Kong's admin API parses JSON only from memory
	// (kong/api/arguments.lua:528-531), so it answers 400 "Cannot parse
	// JSON body".
	AdminMaxBodySize    int64
	AdminBodyBufferSize int64
	PortMaps            []string
	portMap             map[int]int // kong-side port -> published port
	ClusterListen       string
	Plugins             []string
	LogLevel            string
	WorkerProcesses     string
	ProxyAccessLog      string
	ProxyErrorLog       string
	AdminAccessLog      string
	AdminErrorLog       string
	StatusAccessLog     string
	StatusErrorLog      string
	StreamAccessLog     string
	StreamErrorLog      string
	// Prefix is Kong's working directory; the stand-in keeps only the pid
	// file there that `kong quit` reads.
	Prefix string
}

// envSetter applies one KONG_* variable to a Config.
type envSetter func(c *Config, v string) error

// knownEnv lists every KONG_* variable the stand-in accepts. All of them are
// real kong.conf properties (kong_defaults.lua, reference section 5); any other
// KONG_* variable is a startup error because the stand-in cannot promise it
// behaves as configured.
var knownEnv = map[string]envSetter{
	"KONG_DATABASE":                           func(c *Config, v string) error { c.Database = v; return nil },
	"KONG_ROUTER_FLAVOR":                      func(c *Config, v string) error { c.RouterFlavor = v; return nil },
	"KONG_PROXY_LISTEN":                       func(c *Config, v string) error { c.ProxyListen = splitList(v); return nil },
	"KONG_STREAM_LISTEN":                      func(c *Config, v string) error { c.StreamListen = splitList(v); return nil },
	"KONG_ADMIN_LISTEN":                       func(c *Config, v string) error { c.AdminListen = splitList(v); return nil },
	"KONG_STATUS_LISTEN":                      func(c *Config, v string) error { c.StatusListen = splitList(v); return nil },
	"KONG_ADMIN_SSL_CERT":                     func(c *Config, v string) error { c.AdminSSLCert = v; return nil },
	"KONG_ADMIN_SSL_CERT_KEY":                 func(c *Config, v string) error { c.AdminSSLCertKey = v; return nil },
	"KONG_SSL_CERT":                           func(c *Config, v string) error { c.SSLCert = v; return nil },
	"KONG_SSL_CERT_KEY":                       func(c *Config, v string) error { c.SSLCertKey = v; return nil },
	"KONG_NGINX_ADMIN_SSL_CLIENT_CERTIFICATE": func(c *Config, v string) error { c.AdminClientCA = v; return nil },
	"KONG_NGINX_ADMIN_SSL_VERIFY_CLIENT":      func(c *Config, v string) error { c.AdminVerifyClient = v; return nil },
	"KONG_NGINX_ADMIN_SSL_VERIFY_DEPTH": func(c *Config, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			return fmt.Errorf("expected a non-negative integer, got %q", v)
		}
		c.AdminVerifyDepth = n
		return nil
	},
	"KONG_NGINX_ADMIN_CLIENT_MAX_BODY_SIZE": func(c *Config, v string) (err error) {
		c.AdminMaxBodySize, err = parseNginxSize(v)
		return err
	},
	"KONG_NGINX_ADMIN_CLIENT_BODY_BUFFER_SIZE": func(c *Config, v string) (err error) {
		c.AdminBodyBufferSize, err = parseNginxSize(v)
		return err
	},
	"KONG_PORT_MAPS":                 func(c *Config, v string) error { c.PortMaps = splitList(v); return nil },
	"KONG_CLUSTER_LISTEN":            func(c *Config, v string) error { c.ClusterListen = strings.TrimSpace(v); return nil },
	"KONG_PLUGINS":                   func(c *Config, v string) error { c.Plugins = splitList(v); return nil },
	"KONG_LOG_LEVEL":                 func(c *Config, v string) error { c.LogLevel = strings.TrimSpace(v); return nil },
	"KONG_NGINX_WORKER_PROCESSES":    func(c *Config, v string) error { c.WorkerProcesses = strings.TrimSpace(v); return nil },
	"KONG_PROXY_ACCESS_LOG":          func(c *Config, v string) error { c.ProxyAccessLog = v; return nil },
	"KONG_PROXY_ERROR_LOG":           func(c *Config, v string) error { c.ProxyErrorLog = v; return nil },
	"KONG_ADMIN_ACCESS_LOG":          func(c *Config, v string) error { c.AdminAccessLog = v; return nil },
	"KONG_ADMIN_ERROR_LOG":           func(c *Config, v string) error { c.AdminErrorLog = v; return nil },
	"KONG_STATUS_ACCESS_LOG":         func(c *Config, v string) error { c.StatusAccessLog = v; return nil },
	"KONG_STATUS_ERROR_LOG":          func(c *Config, v string) error { c.StatusErrorLog = v; return nil },
	"KONG_PROXY_STREAM_ACCESS_LOG":   func(c *Config, v string) error { c.StreamAccessLog = v; return nil },
	"KONG_PROXY_STREAM_ERROR_LOG":    func(c *Config, v string) error { c.StreamErrorLog = v; return nil },
	"KONG_NGINX_DAEMON":              func(c *Config, v string) error { return expectValue(v, "off") },
	"KONG_PREFIX":                    func(c *Config, v string) error { c.Prefix = strings.TrimSpace(v); return nil },
	"KONG_ADMIN_GUI_LISTEN":          func(c *Config, v string) error { return expectValue(v, "off") },
	"KONG_ANONYMOUS_REPORTS":         func(c *Config, v string) error { return nil }, // never reports anything
	"KONG_ROLE":                      func(c *Config, v string) error { return expectValue(v, "traditional") },
	"KONG_NGINX_ADMIN_SSL_PROTOCOLS": func(c *Config, v string) error { return nil }, // Go negotiates TLS 1.2/1.3 as Kong does by default
	// Where Kong finds Lua: the stand-in loads no Lua from disk. Plugins
	// named in KONG_PLUGINS that it does not implement are accepted in a
	// config and answer 500 at request time (doc.go).
	"KONG_LUA_PACKAGE_PATH": func(c *Config, v string) error { return nil },
}

// parseNginxSize reads an nginx size ("10m", "512k", "1048576").
func parseNginxSize(v string) (int64, error) {
	v = strings.TrimSpace(v)
	unit := int64(1)
	if v != "" {
		switch v[len(v)-1] {
		case 'k', 'K':
			unit, v = 1<<10, v[:len(v)-1]
		case 'm', 'M':
			unit, v = 1<<20, v[:len(v)-1]
		case 'g', 'G':
			unit, v = 1<<30, v[:len(v)-1]
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("expected an nginx size such as 10m, got %q", v)
	}
	return n * unit, nil
}

func expectValue(v, want string) error {
	if strings.TrimSpace(v) != want {
		return fmt.Errorf("the stand-in only supports %q, got %q", want, v)
	}
	return nil
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// ConfigFromEnv builds a Config from environment entries ("KEY=value"), the way
// Kong overrides kong.conf with KONG_<NAME>. Defaults follow kong_defaults.lua
// (reference section 5). Unknown KONG_* names are an error naming them.
func ConfigFromEnv(environ []string) (*Config, error) {
	c := &Config{
		Database:          "postgres",
		RouterFlavor:      "traditional_compatible",
		ProxyListen:       []string{"0.0.0.0:8000 reuseport backlog=16384", "0.0.0.0:8443 http2 ssl reuseport backlog=16384"},
		StreamListen:      []string{"off"},
		AdminListen:       []string{"127.0.0.1:8001 reuseport backlog=16384", "127.0.0.1:8444 http2 ssl reuseport backlog=16384"},
		StatusListen:      []string{"127.0.0.1:8007 reuseport backlog=16384"},
		AdminVerifyClient: "off",
		AdminVerifyDepth:  1,
		// kong_defaults.lua:114-115.
		AdminMaxBodySize:    10 << 20,
		AdminBodyBufferSize: 10 << 20,
		Plugins:             []string{"bundled"},
		LogLevel:            "notice",
		WorkerProcesses:     "auto",
		ProxyAccessLog:      "logs/access.log",
		ProxyErrorLog:       "logs/error.log",
		AdminAccessLog:      "logs/admin_access.log",
		AdminErrorLog:       "logs/error.log",
		StatusAccessLog:     "off",
		StatusErrorLog:      "logs/status_error.log",
		StreamAccessLog:     "logs/access.log basic",
		StreamErrorLog:      "logs/error.log",
		Prefix:              "/usr/local/kong",
	}
	var unknown []string
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, "KONG_") {
			continue
		}
		set, known := knownEnv[k]
		if !known {
			unknown = append(unknown, k)
			continue
		}
		if err := set(c, v); err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("unsupported Kong setting(s) %s: the stand-in does not implement them, so it refuses to start rather than ignore them", strings.Join(unknown, ", "))
	}
	if err := c.finish(); err != nil {
		return nil, err
	}
	return c, nil
}

// finish validates the combined settings and parses listeners and port maps.
func (c *Config) finish() error {
	if c.Database != "off" {
		return fmt.Errorf("KONG_DATABASE=%q: the stand-in only runs DB-less (set KONG_DATABASE=off)", c.Database)
	}
	if c.RouterFlavor != "expressions" {
		return fmt.Errorf("KONG_ROUTER_FLAVOR=%q: the stand-in only implements the expressions router (set KONG_ROUTER_FLAVOR=expressions)", c.RouterFlavor)
	}
	if c.ClusterListen != "" && c.ClusterListen != "off" {
		return fmt.Errorf("KONG_CLUSTER_LISTEN=%q: hybrid mode is outside the stand-in's scope; set it to off", c.ClusterListen)
	}
	switch c.LogLevel {
	case "debug", "info", "notice", "warn", "error", "crit", "alert", "emerg":
	default:
		return fmt.Errorf("KONG_LOG_LEVEL=%q: expected one of debug, info, notice, warn, error, crit, alert, emerg", c.LogLevel)
	}
	if c.WorkerProcesses != "auto" {
		if n, err := strconv.Atoi(c.WorkerProcesses); err != nil || n < 1 {
			return fmt.Errorf("KONG_NGINX_WORKER_PROCESSES=%q: expected auto or a positive integer", c.WorkerProcesses)
		}
	}
	for _, p := range c.Plugins {
		if p == "" {
			return fmt.Errorf("KONG_PLUGINS: empty plugin name")
		}
	}
	var err error
	if c.ProxyListeners, err = parseListeners("KONG_PROXY_LISTEN", c.ProxyListen, false); err != nil {
		return err
	}
	if c.StreamListeners, err = parseListeners("KONG_STREAM_LISTEN", c.StreamListen, true); err != nil {
		return err
	}
	if c.AdminListeners, err = parseListeners("KONG_ADMIN_LISTEN", c.AdminListen, false); err != nil {
		return err
	}
	if c.StatusListeners, err = parseListeners("KONG_STATUS_LISTEN", c.StatusListen, false); err != nil {
		return err
	}
	for _, l := range c.StatusListeners {
		if l.SSL {
			return fmt.Errorf("KONG_STATUS_LISTEN: ssl on the status listener is outside the stand-in's scope (Drawbridge does not emit it)")
		}
	}
	for _, l := range c.AdminListeners {
		if l.SSL && (c.AdminSSLCert == "" || c.AdminSSLCertKey == "") {
			return fmt.Errorf("KONG_ADMIN_LISTEN has an ssl listener but KONG_ADMIN_SSL_CERT and KONG_ADMIN_SSL_CERT_KEY are not both set (the stand-in does not generate admin certificates)")
		}
	}
	if (c.SSLCert == "") != (c.SSLCertKey == "") {
		return fmt.Errorf("KONG_SSL_CERT and KONG_SSL_CERT_KEY must be set together")
	}
	switch c.AdminVerifyClient {
	case "on", "optional":
		if c.AdminClientCA == "" {
			return fmt.Errorf("KONG_NGINX_ADMIN_SSL_VERIFY_CLIENT=%s needs KONG_NGINX_ADMIN_SSL_CLIENT_CERTIFICATE (the CA bundle)", c.AdminVerifyClient)
		}
	case "off":
	default:
		return fmt.Errorf("KONG_NGINX_ADMIN_SSL_VERIFY_CLIENT=%q: expected on, off or optional", c.AdminVerifyClient)
	}
	c.portMap = map[int]int{}
	for _, m := range c.PortMaps {
		// Kong's port_maps entries are "<published port>:<kong port>".
		pub, local, ok := strings.Cut(m, ":")
		p1, err1 := strconv.Atoi(strings.TrimSpace(pub))
		p2, err2 := strconv.Atoi(strings.TrimSpace(local))
		if !ok || err1 != nil || err2 != nil || p1 < 1 || p1 > 65535 || p2 < 1 || p2 > 65535 {
			return fmt.Errorf("KONG_PORT_MAPS: invalid entry %q (expected <published port>:<kong port>)", m)
		}
		c.portMap[p2] = p1
	}
	return nil
}

// parseListeners parses a Kong listen setting; "off" yields none.
func parseListeners(setting string, entries []string, stream bool) ([]Listener, error) {
	if len(entries) == 1 && entries[0] == "off" {
		return nil, nil
	}
	var out []Listener
	for _, e := range entries {
		if e == "off" {
			return nil, fmt.Errorf("%s: 'off' cannot be combined with other listeners", setting)
		}
		fields := strings.Fields(e)
		host, portStr, err := net.SplitHostPort(fields[0])
		if err != nil {
			return nil, fmt.Errorf("%s: invalid listener %q: %w", setting, e, err)
		}
		port, err := strconv.Atoi(portStr)
		if err != nil || port < 0 || port > 65535 {
			return nil, fmt.Errorf("%s: invalid port in %q", setting, e)
		}
		if host == "*" {
			host = "0.0.0.0"
		}
		l := Listener{Listener: e, IP: host, Port: port}
		for _, f := range fields[1:] {
			switch {
			case f == "ssl":
				l.SSL = true
			case f == "http2" && !stream:
				l.HTTP2 = true
			case f == "udp" && stream:
				l.UDP = true
			case f == "proxy_protocol":
				return nil, fmt.Errorf("%s: proxy_protocol is outside the stand-in's scope (Drawbridge does not emit it; %q)", setting, e)
			case f == "reuseport":
				l.ReusePort = true
			case f == "deferred":
				l.Deferred = true
			case f == "bind":
				l.Bind = true
			case strings.HasPrefix(f, "backlog="):
				n, err := strconv.Atoi(strings.TrimPrefix(f, "backlog="))
				if err != nil {
					return nil, fmt.Errorf("%s: invalid backlog in %q", setting, e)
				}
				l.Backlog = n
			case strings.HasPrefix(f, "ipv6only="), strings.HasPrefix(f, "so_keepalive="):
				// Socket tuning with no observable effect in the lab.
			default:
				return nil, fmt.Errorf("%s: unknown listener flag %q in %q", setting, f, e)
			}
		}
		if l.UDP && l.SSL {
			return nil, fmt.Errorf("%s: udp and ssl cannot be combined in %q", setting, e)
		}
		out = append(out, l)
	}
	return out, nil
}

// publishedPort maps a Kong-side port through port_maps (reference 3.3: router
// fields and X-Forwarded-Port see the published port).
func (c *Config) publishedPort(local int) int {
	if p, ok := c.portMap[local]; ok {
		return p
	}
	return local
}
