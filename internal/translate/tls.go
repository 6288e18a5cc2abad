package translate

import (
	"sort"

	"github.com/google/uuid"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/kong"
)

// certificateNamespace seeds the stable certificate IDs (UUIDv5 of the
// Secret's namespace/name), so the same Secret keeps its Kong ID.
var certificateNamespace = uuid.MustParse("7d4b3c2e-5a0f-4f1e-9c53-6e0c1f2a8b9d")

// terminatesTLS reports whether Kong terminates TLS for a listener.
func terminatesTLS(l gwv1.Listener) bool {
	if l.Protocol == gwv1.HTTPSProtocolType {
		return true
	}
	return l.Protocol == gwv1.TLSProtocolType && (l.TLS == nil || l.TLS.Mode == nil || *l.TLS.Mode == gwv1.TLSModeTerminate)
}

// certificates builds one Kong certificate per listener Secret, bound to the
// listener hostnames as SNIs ("*" for a listener without hostname). Kong
// allows one certificate per SNI: when two listeners want different Secrets
// for the same SNI the first listener in spec order wins and a warning says
// so. Only the first certificateRef of a listener is served.
func (t *translator) certificates() []kong.Certificate {
	certs := map[types.NamespacedName]*kong.Certificate{}
	bound := map[string]types.NamespacedName{}
	for _, l := range t.listeners {
		// Certificates holds only Secrets that resolved, and a listener
		// whose only problem is an invalid caCertificateRef (ResolvedRefs
		// False, still accepted with its other CAs) keeps serving them.
		if !terminatesTLS(l.spec) || !l.serves() || len(l.verdict.Certificates) == 0 {
			continue
		}
		key := l.verdict.Certificates[0]
		secret, ok := t.secrets[key]
		if !ok {
			continue
		}
		if len(l.verdict.Certificates) > 1 {
			t.warnf("listener %s: only the first of %d certificateRefs (Secret %s) is served", l.name(), len(l.verdict.Certificates), key)
		}
		sni := l.hostname
		if sni == "" {
			sni = "*"
		}
		if owner, taken := bound[sni]; taken {
			if owner != key {
				t.warnf("listener %s: SNI %q is already served with Secret %s, so Secret %s is not used for it", l.name(), sni, owner, key)
			}
			continue
		}
		bound[sni] = key
		c, ok := certs[key]
		if !ok {
			c = &kong.Certificate{
				ID:   uuid.NewSHA1(certificateNamespace, []byte(key.String())).String(),
				Cert: string(secret.Data[corev1.TLSCertKey]),
				Key:  string(secret.Data[corev1.TLSPrivateKeyKey]),
				Tags: objectTags("Secret", key.Namespace, key.Name, string(secret.UID)),
			}
			certs[key] = c
		}
		c.SNIs = append(c.SNIs, kong.SNI{Name: sni, Tags: append(append([]string{}, c.Tags...), "drawbridge-listener:"+l.tag())})
	}
	keys := make([]types.NamespacedName, 0, len(certs))
	for k := range certs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	out := make([]kong.Certificate, 0, len(keys))
	for _, k := range keys {
		c := certs[k]
		sort.Slice(c.SNIs, func(i, j int) bool { return c.SNIs[i].Name < c.SNIs[j].Name })
		out = append(out, *c)
	}
	return out
}
