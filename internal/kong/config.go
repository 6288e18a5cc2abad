package kong

import (
	"bytes"
	"encoding/json"
)

// FormatVersion is the declarative format Drawbridge emits. Older versions
// make Kong rewrite regex paths, which expressions routes never need.
const FormatVersion = "3.0"

// Config is a Kong declarative configuration. Child entities are nested under
// their parents (routes and plugins under services, targets under upstreams,
// SNIs under certificates), which is how Kong's declarative loader expects
// them and keeps references implicit.
type Config struct {
	FormatVersion string        `json:"_format_version"`
	Services      []Service     `json:"services,omitempty"`
	Upstreams     []Upstream    `json:"upstreams,omitempty"`
	Certificates  []Certificate `json:"certificates,omitempty"`
	// Plugins are global plugins. Drawbridge scopes every plugin it emits to
	// a route, except the pre-function that normalises the Host Kong's
	// router sees (internal/translate hostnorm.go).
	Plugins []Plugin `json:"plugins,omitempty"`
	// Consumers are API clients with their credentials nested under them.
	Consumers []Consumer `json:"consumers,omitempty"`
}

// Consumer is a Kong consumer. Its credentials and acl groups are nested
// under it with Kong 3.9's declarative entity names (the DAO names in
// kong/plugins/<plugin>/daos.lua).
type Consumer struct {
	Username   string                `json:"username,omitempty"`
	CustomID   string                `json:"custom_id,omitempty"`
	Tags       []string              `json:"tags,omitempty"`
	ACLs       []ACL                 `json:"acls,omitempty"`
	KeyAuth    []KeyAuthCredential   `json:"keyauth_credentials,omitempty"`
	BasicAuth  []BasicAuthCredential `json:"basicauth_credentials,omitempty"`
	JWTSecrets []JWTSecret           `json:"jwt_secrets,omitempty"`
	HMACAuth   []HMACAuthCredential  `json:"hmacauth_credentials,omitempty"`
}

// ACL is one acl group of a consumer.
type ACL struct {
	Group string   `json:"group"`
	Tags  []string `json:"tags,omitempty"`
}

// KeyAuthCredential is a key-auth key.
type KeyAuthCredential struct {
	Key  string   `json:"key"`
	Tags []string `json:"tags,omitempty"`
}

// BasicAuthCredential is a basic-auth username and password.
type BasicAuthCredential struct {
	Username string   `json:"username"`
	Password string   `json:"password"`
	Tags     []string `json:"tags,omitempty"`
}

// JWTSecret is a jwt credential.
type JWTSecret struct {
	Key          string   `json:"key"`
	Secret       string   `json:"secret,omitempty"`
	Algorithm    string   `json:"algorithm,omitempty"`
	RSAPublicKey string   `json:"rsa_public_key,omitempty"`
	Tags         []string `json:"tags,omitempty"`
}

// HMACAuthCredential is an hmac-auth username and secret.
type HMACAuthCredential struct {
	Username string   `json:"username"`
	Secret   string   `json:"secret"`
	Tags     []string `json:"tags,omitempty"`
}

// Service is a Kong service: where matched traffic is proxied to.
type Service struct {
	Name           string   `json:"name"`
	Protocol       string   `json:"protocol"`
	Host           string   `json:"host"`
	Port           int      `json:"port"`
	Path           *string  `json:"path,omitempty"`
	Retries        *int     `json:"retries,omitempty"`
	ConnectTimeout *int     `json:"connect_timeout,omitempty"`
	ReadTimeout    *int     `json:"read_timeout,omitempty"`
	WriteTimeout   *int     `json:"write_timeout,omitempty"`
	Tags           []string `json:"tags,omitempty"`
	Routes         []Route  `json:"routes,omitempty"`
	Plugins        []Plugin `json:"plugins,omitempty"`
}

// Route is a Kong route under the expressions router: what it matches is
// entirely in Expression, ordered by Priority (higher is tried first).
type Route struct {
	Name         string   `json:"name"`
	Protocols    []string `json:"protocols"`
	Expression   string   `json:"expression"`
	Priority     uint64   `json:"priority"`
	PreserveHost *bool    `json:"preserve_host,omitempty"`
	StripPath    *bool    `json:"strip_path,omitempty"`
	Tags         []string `json:"tags,omitempty"`
	Plugins      []Plugin `json:"plugins,omitempty"`
}

// Upstream is a load-balanced set of targets; a service whose host equals
// the upstream name sends traffic to it.
type Upstream struct {
	Name      string   `json:"name"`
	Algorithm string   `json:"algorithm,omitempty"`
	Tags      []string `json:"tags,omitempty"`
	Targets   []Target `json:"targets,omitempty"`
}

// Target is one endpoint of an upstream, always with an explicit port.
type Target struct {
	Target string   `json:"target"`
	Weight int      `json:"weight"`
	Tags   []string `json:"tags,omitempty"`
}

// Certificate is a TLS certificate served for the SNIs listed under it.
type Certificate struct {
	ID   string   `json:"id"`
	Cert string   `json:"cert"`
	Key  string   `json:"key"`
	Tags []string `json:"tags,omitempty"`
	SNIs []SNI    `json:"snis,omitempty"`
}

// SNI is a server name (exact, wildcard or "*") bound to a certificate.
type SNI struct {
	Name string   `json:"name"`
	Tags []string `json:"tags,omitempty"`
}

// Plugin is a plugin instance. Config is kept generic because each plugin
// has its own schema; Validate checks the ones Drawbridge emits.
type Plugin struct {
	Name      string         `json:"name"`
	Config    map[string]any `json:"config,omitempty"`
	Protocols []string       `json:"protocols,omitempty"`
	Tags      []string       `json:"tags,omitempty"`
}

// Marshal renders the config as compact JSON. encoding/json writes struct
// fields in declaration order and map keys sorted, so equal configs always
// produce identical bytes.
func (c *Config) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// Bool and Int return pointers for optional fields.
func Bool(v bool) *bool { return &v }

// Int returns a pointer to v.
func Int(v int) *int { return &v }

// String returns a pointer to v.
func String(v string) *string { return &v }
