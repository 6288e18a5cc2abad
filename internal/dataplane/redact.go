package dataplane

import (
	"strings"

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
