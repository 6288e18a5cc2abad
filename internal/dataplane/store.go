// Package dataplane holds what the operator knows about each Gateway's Kong
// data plane. Today that is the latest translated configuration per Gateway
// (the hand-off point between translation and pushing it to Kong), which an
// operator can inspect over HTTP.
package dataplane

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// Config is one translated Kong configuration.
type Config struct {
	// JSON is the declarative configuration exactly as it will be sent.
	JSON []byte
	// SHA256 identifies the configuration (hex).
	SHA256 string
	// Generation of the Gateway it was translated from.
	Generation int64
	// Translated is when it was produced.
	Translated time.Time
}

// Store keeps the latest configuration of every Gateway. It is safe for
// concurrent use.
type Store struct {
	mu      sync.RWMutex
	configs map[types.NamespacedName]Config
	// secretFields are the plugin fields of each Gateway's configuration
	// that came from Secrets; see SetSecretFields.
	secretFields map[types.NamespacedName][]SecretField
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{configs: map[types.NamespacedName]Config{}}
}

// Set records the configuration of a Gateway and reports whether it changed.
func (s *Store) Set(gw types.NamespacedName, generation int64, configJSON []byte, now time.Time) (Config, bool) {
	sum := sha256.Sum256(configJSON)
	c := Config{JSON: configJSON, SHA256: hex.EncodeToString(sum[:]), Generation: generation, Translated: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	prev, ok := s.configs[gw]
	if ok && prev.SHA256 == c.SHA256 {
		prev.Generation = generation
		s.configs[gw] = prev
		return prev, false
	}
	s.configs[gw] = c
	return c, true
}

// Get returns the configuration of a Gateway.
func (s *Store) Get(gw types.NamespacedName) (Config, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.configs[gw]
	return c, ok
}

// Delete forgets a Gateway.
func (s *Store) Delete(gw types.NamespacedName) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.configs, gw)
	delete(s.secretFields, gw)
}

// Handler serves the store for inspection:
//
//	GET <prefix>                    lists Gateways with hash, size and time
//	GET <prefix>?gateway=NS/NAME    the configuration, with private keys redacted
//
// Certificate private keys are replaced by "<redacted>" so the endpoint never
// exposes secrets.
func (s *Store) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		name := r.URL.Query().Get("gateway")
		if name == "" {
			s.mu.RLock()
			type entry struct {
				Gateway    string    `json:"gateway"`
				SHA256     string    `json:"sha256"`
				Bytes      int       `json:"bytes"`
				Generation int64     `json:"generation"`
				Translated time.Time `json:"translated"`
			}
			list := make([]entry, 0, len(s.configs))
			for k, c := range s.configs {
				list = append(list, entry{k.String(), c.SHA256, len(c.JSON), c.Generation, c.Translated})
			}
			s.mu.RUnlock()
			sort.Slice(list, func(i, j int) bool { return list[i].Gateway < list[j].Gateway })
			_ = json.NewEncoder(w).Encode(list)
			return
		}
		ns, n, ok := strings.Cut(name, "/")
		if !ok {
			http.Error(w, `{"message":"gateway must be NAMESPACE/NAME"}`, http.StatusBadRequest)
			return
		}
		c, found := s.Get(types.NamespacedName{Namespace: ns, Name: n})
		if !found {
			http.Error(w, fmt.Sprintf(`{"message":"no configuration for Gateway %s"}`, name), http.StatusNotFound)
			return
		}
		redacted, err := Redact(c.JSON, s.secretFieldsOf(types.NamespacedName{Namespace: ns, Name: n}))
		if err != nil {
			http.Error(w, `{"message":"configuration cannot be shown"}`, http.StatusInternalServerError)
			return
		}
		_, _ = w.Write(redacted)
	})
}

// RedactKeys replaces every secret value of a Kong declarative
// configuration that needs no outside knowledge with "<redacted>": the
// private keys of certificates and the secrets of credentials.
func RedactKeys(configJSON []byte) ([]byte, error) { return Redact(configJSON, nil) }

// Redact is RedactKeys that also hides the plugin configuration fields
// that came from Secrets.
func Redact(configJSON []byte, fields []SecretField) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(configJSON, &doc); err != nil {
		return nil, fmt.Errorf("decode configuration: %w", err)
	}
	redactTree(doc, "", fields)
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode configuration: %w", err)
	}
	return out.Bytes(), nil
}
