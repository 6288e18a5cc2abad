package dataplane

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/types"
)

// Redacted replaces a secret value wherever the configuration is shown.
const Redacted = "<redacted>"

// SecretField is a plugin configuration field whose value came from a
// Secret (KongPlugin spec.configFrom): the plugin entity is the one Kong's
// tags attribute to the object Kind Namespace/Name, and Path is the
// dot-separated field under the plugin's config.
type SecretField struct {
	Kind, Namespace, Name string
	Path                  string
}

// credentialSecrets are the secret fields of Kong's credential entities,
// by their key in the declarative configuration (top level or nested under
// a consumer).
var credentialSecrets = map[string][]string{
	"keyauth_credentials":   {"key"},
	"basicauth_credentials": {"password"},
	"jwt_secrets":           {"secret", "rsa_public_key"},
	"hmacauth_credentials":  {"secret"},
	"certificates":          {"key", "key_alt"},
}

// SetSecretFields records which plugin configuration fields of a
// Gateway's configuration came from Secrets, so the configuration endpoint
// hides them.
func (s *Store) SetSecretFields(gw types.NamespacedName, fields []SecretField) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.secretFields == nil {
		s.secretFields = map[types.NamespacedName][]SecretField{}
	}
	if len(fields) == 0 {
		delete(s.secretFields, gw)
		return
	}
	s.secretFields[gw] = append([]SecretField(nil), fields...)
}

func (s *Store) secretFieldsOf(gw types.NamespacedName) []SecretField {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.secretFields[gw]
}

// redactTree walks a decoded configuration and replaces secret values:
// private keys of certificates, credential secrets (key-auth keys,
// basic-auth passwords, jwt secrets and RSA keys, hmac-auth secrets) and
// the plugin configuration fields listed in fields.
func redactTree(node any, parentKey string, fields []SecretField) {
	switch n := node.(type) {
	case []any:
		for _, item := range n {
			redactTree(item, parentKey, fields)
		}
	case map[string]any:
		if secrets, ok := credentialSecrets[parentKey]; ok {
			for _, f := range secrets {
				if _, has := n[f]; has {
					n[f] = Redacted
				}
			}
		}
		if parentKey == "plugins" {
			redactPlugin(n, fields)
		}
		for k, v := range n {
			redactTree(v, k, fields)
		}
	}
}

func redactPlugin(plugin map[string]any, fields []SecretField) {
	if len(fields) == 0 {
		return
	}
	tags := map[string]string{}
	if list, ok := plugin["tags"].([]any); ok {
		for _, t := range list {
			if s, ok := t.(string); ok {
				if k, v, ok := strings.Cut(s, ":"); ok {
					tags[k] = v
				}
			}
		}
	}
	config, _ := plugin["config"].(map[string]any)
	if config == nil {
		return
	}
	for _, f := range fields {
		if tags["k8s-kind"] != f.Kind || tags["k8s-namespace"] != f.Namespace || tags["k8s-name"] != f.Name {
			continue
		}
		parts := strings.Split(f.Path, ".")
		m := config
		for i, p := range parts {
			if i == len(parts)-1 {
				if _, has := m[p]; has {
					m[p] = Redacted
				}
				break
			}
			next, ok := m[p].(map[string]any)
			if !ok {
				break
			}
			m = next
		}
	}
}

// minRedactedLen is the shortest secret value that is searched for in
// Kong's error texts: shorter ones would blank out ordinary words of the
// message, and a secret that short protects nothing.
const minRedactedLen = 4

// SecretValues returns the secret values a configuration carries: the ones
// Redact would hide (credential secrets, certificate keys and the plugin
// fields that came from Secrets), for taking them out of Kong's error texts.
func SecretValues(configJSON []byte, fields []SecretField) []string {
	var doc map[string]any
	if err := json.Unmarshal(configJSON, &doc); err != nil {
		return nil
	}
	redactTree(doc, "", fields)
	var orig map[string]any
	_ = json.Unmarshal(configJSON, &orig)
	seen := map[string]bool{}
	var out []string
	collectReplaced(orig, doc, seen, &out)
	// Longest first, so a value that contains another is replaced whole.
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// SecretValuesOf is SecretValues for a Gateway's stored secret fields.
func (s *Store) SecretValuesOf(gw types.NamespacedName, configJSON []byte) []string {
	return SecretValues(configJSON, s.secretFieldsOf(gw))
}

// collectReplaced walks the original and the redacted trees side by side and
// collects the original strings that redaction replaced.
func collectReplaced(orig, red any, seen map[string]bool, out *[]string) {
	switch o := orig.(type) {
	case map[string]any:
		r, _ := red.(map[string]any)
		for k, v := range o {
			collectReplaced(v, r[k], seen, out)
		}
	case []any:
		r, _ := red.([]any)
		for i, v := range o {
			if i < len(r) {
				collectReplaced(v, r[i], seen, out)
			}
		}
	case string:
		if red == Redacted && o != Redacted && len(o) >= minRedactedLen && !seen[o] {
			seen[o] = true
			*out = append(*out, o)
		}
	}
}

// RedactText replaces every secret value in a text with Redacted.
func RedactText(text string, values []string) string {
	for _, v := range values {
		text = strings.ReplaceAll(text, v, Redacted)
	}
	return text
}

// redact takes secret values out of Kong's verdict before it becomes an
// error text, a status condition or an event: Kong quotes a refused value
// in some messages ("invalid value: ..."), and a value from a Secret must
// never reach them.
func (e *ConfigError) redact(values []string) {
	if len(values) == 0 {
		return
	}
	e.Message = RedactText(e.Message, values)
	if len(e.Fields) > 0 {
		f := string(e.Fields)
		for _, v := range values {
			if enc, err := json.Marshal(v); err == nil {
				f = strings.ReplaceAll(f, strings.Trim(string(enc), `"`), Redacted)
			}
		}
		e.Fields = json.RawMessage(f)
	}
	for i := range e.Entities {
		for j := range e.Entities[i].Errors {
			e.Entities[i].Errors[j].Message = RedactText(e.Entities[i].Errors[j].Message, values)
		}
	}
	for i := range e.Objects {
		for j := range e.Objects[i].Messages {
			e.Objects[i].Messages[j] = RedactText(e.Objects[i].Messages[j], values)
		}
	}
}

type secretValuesKey struct{}

// WithSecretValues gives Push the secret values of the configuration it
// sends, so that Kong's errors about it are redacted before anything
// records them (see SecretValues).
func WithSecretValues(ctx context.Context, values []string) context.Context {
	return WithSecretValuesFunc(ctx, func() []string { return values })
}

// WithSecretValuesFunc is WithSecretValues for values that are costly to
// find: values is called at most once, and only when Kong refuses the
// configuration. (Finding them decodes the whole configuration twice,
// which at 5,000 routes cost more than translating it, on every push.)
func WithSecretValuesFunc(ctx context.Context, values func() []string) context.Context {
	return context.WithValue(ctx, secretValuesKey{}, sync.OnceValue(values))
}

func secretValuesFrom(ctx context.Context) []string {
	if f, ok := ctx.Value(secretValuesKey{}).(func() []string); ok {
		return f()
	}
	return nil
}
