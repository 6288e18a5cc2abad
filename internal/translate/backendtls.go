package translate

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"sort"
	"strings"

	"github.com/google/uuid"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
	"github.com/drawbridge-dev/drawbridge/internal/kong"
)

// BackendTLSPolicy translation. A policy targets Services (and optionally
// one port of a Service, by name); a backendRef to a targeted port makes
// Kong speak TLS to that backend: the rule's Kong service gets protocol
// https, grpcs or tls and the drawbridge-backend-tls plugin, which verifies
// the backend against the policy's CA certificates (and subjectAltNames)
// and sends the policy's hostname as the TLS server name while the backend
// still receives the client's Host header.

// caCertificateKey is the ConfigMap key BackendTLSPolicy CA references read.
const caCertificateKey = "ca.crt"

// tlsTarget is what a policy targetRef selects: a Service, or one of its
// ports by name.
type tlsTarget struct {
	namespace, service, section string
}

// tlsPolicyState is translation's verdict on one BackendTLSPolicy.
type tlsPolicyState struct {
	obj *gwv1.BackendTLSPolicy
	key types.NamespacedName
	// cas are the usable CA certificates, one PEM block each, in reference
	// order; empty when no reference is usable.
	cas []string
	// invalid says why the policy cannot be applied at all (Accepted
	// False, reason Invalid), e.g. an unsupported wellKnownCACertificates.
	invalid      string
	resolvedRefs gatewayapi.Condition
	// lost lists the targets another policy took precedence on.
	lost []string
	// used is set when a backend of this Gateway is a target of the
	// policy, which is what gives the Gateway an ancestor entry.
	used bool
}

// usable says whether the policy can set up TLS for its targets.
func (p *tlsPolicyState) usable() bool { return p.invalid == "" && len(p.cas) > 0 }

// backendTLSIndex holds every policy and the one that applies to each
// target after conflict resolution.
type backendTLSIndex struct {
	policies []*tlsPolicyState
	// winners maps a target to the policy that applies to it; all lists
	// every policy that names it (winner first), for status.
	winners map[tlsTarget]*tlsPolicyState
	all     map[tlsTarget][]*tlsPolicyState
}

// backendTLS is the TLS a backend needs: everything the plugin is
// configured with except the client certificate, which is the Gateway's.
type backendTLS struct {
	policy   *tlsPolicyState
	hostname string
	cas      []string
	sanHosts []string
	sanURIs  []string
}

// key identifies the settings, so backends of one rule can be checked for
// needing the same TLS.
func (b *backendTLS) key() string {
	return strings.Join([]string{b.hostname, strings.Join(b.cas, "\x00"), strings.Join(b.sanHosts, "\x00"), strings.Join(b.sanURIs, "\x00")}, "\x01")
}

// indexBackendTLS validates every BackendTLSPolicy of the snapshot and
// resolves conflicts: of the policies that select the same Service port
// (or the same whole Service), the oldest applies, then the first by
// namespace/name; the others are Conflicted there. A policy for a named
// port takes precedence over one for the whole Service without conflict.
func (t *translator) indexBackendTLS() {
	idx := &backendTLSIndex{winners: map[tlsTarget]*tlsPolicyState{}, all: map[tlsTarget][]*tlsPolicyState{}}
	t.backendTLS = idx
	cms := map[types.NamespacedName]*corev1.ConfigMap{}
	for i := range t.snap.ConfigMaps {
		cm := &t.snap.ConfigMaps[i]
		cms[types.NamespacedName{Namespace: cm.Namespace, Name: cm.Name}] = cm
	}
	for i := range t.snap.BackendTLSPolicies {
		p := &t.snap.BackendTLSPolicies[i]
		st := &tlsPolicyState{obj: p, key: types.NamespacedName{Namespace: p.Namespace, Name: p.Name}}
		st.cas, st.resolvedRefs = resolveCARefs(p, cms)
		if wk := p.Spec.Validation.WellKnownCACertificates; wk != nil && *wk != "" {
			st.invalid = fmt.Sprintf("validation.wellKnownCACertificates %q is not supported; reference the CA certificates with caCertificateRefs", *wk)
		}
		idx.policies = append(idx.policies, st)
	}
	sort.Slice(idx.policies, func(i, j int) bool {
		a, b := idx.policies[i].obj, idx.policies[j].obj
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
	for _, st := range idx.policies {
		for _, ref := range st.obj.Spec.TargetRefs {
			if ref.Group != "" || ref.Kind != "Service" {
				continue // only Services are backends Drawbridge knows
			}
			tgt := tlsTarget{namespace: st.obj.Namespace, service: string(ref.Name)}
			if ref.SectionName != nil {
				tgt.section = string(*ref.SectionName)
			}
			idx.all[tgt] = append(idx.all[tgt], st)
			if w, taken := idx.winners[tgt]; taken {
				if w != st {
					st.lost = append(st.lost, describeTarget(tgt, w))
				}
				continue
			}
			idx.winners[tgt] = st
		}
	}
}

func describeTarget(tgt tlsTarget, winner *tlsPolicyState) string {
	what := "Service " + tgt.namespace + "/" + tgt.service
	if tgt.section != "" {
		what += " port " + tgt.section
	}
	return fmt.Sprintf("%s is already targeted by BackendTLSPolicy %s, which takes precedence (older, or first by namespace/name)", what, winner.key)
}

// resolveCARefs reads the CA certificates a policy references. Only
// ConfigMaps in the policy's namespace with PEM certificates under ca.crt
// are usable; the condition names every reference that is not.
func resolveCARefs(p *gwv1.BackendTLSPolicy, cms map[types.NamespacedName]*corev1.ConfigMap) ([]string, gatewayapi.Condition) {
	var cas, problems []string
	reason := ""
	for i, ref := range p.Spec.Validation.CACertificateRefs {
		where := fmt.Sprintf("validation.caCertificateRefs[%d]", i)
		if ref.Group != "" || ref.Kind != "ConfigMap" {
			kind := string(ref.Kind)
			if ref.Group != "" {
				kind = string(ref.Group) + "/" + kind
			}
			problems = append(problems, fmt.Sprintf("%s: kind %s is not supported; reference a ConfigMap", where, kind))
			if reason == "" {
				reason = string(gwv1.BackendTLSPolicyReasonInvalidKind)
			}
			continue
		}
		key := types.NamespacedName{Namespace: p.Namespace, Name: string(ref.Name)}
		pems, err := caBundle(cms[key])
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: ConfigMap %s %v", where, key, err))
			if reason == "" {
				reason = string(gwv1.BackendTLSPolicyReasonInvalidCACertificateRef)
			}
			continue
		}
		cas = append(cas, pems...)
	}
	condType := string(gwv1.BackendTLSPolicyConditionResolvedRefs)
	if len(problems) == 0 {
		return cas, gatewayapi.True(condType, string(gwv1.BackendTLSPolicyReasonResolvedRefs), "All CA certificate references resolved")
	}
	return cas, gatewayapi.False(condType, reason, strings.Join(problems, "; "))
}

// caBundle splits a ConfigMap's ca.crt into one PEM block per certificate,
// keeping only CERTIFICATE blocks that parse.
func caBundle(cm *corev1.ConfigMap) ([]string, error) {
	if cm == nil {
		return nil, fmt.Errorf("does not exist")
	}
	data, ok := cm.Data[caCertificateKey]
	if !ok {
		return nil, fmt.Errorf("has no key %q", caCertificateKey)
	}
	var out []string
	rest := []byte(data)
	for n := 1; ; n++ {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return nil, fmt.Errorf("key %q: PEM block %d is not a valid certificate: %v", caCertificateKey, n, err)
		}
		out = append(out, string(pem.EncodeToMemory(block)))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("key %q holds no PEM certificate", caCertificateKey)
	}
	return out, nil
}

// lookup returns the policy that applies to a Service port and marks every
// policy that targets it as used by this Gateway.
func (idx *backendTLSIndex) lookup(svc types.NamespacedName, portName string) *tlsPolicyState {
	if idx == nil {
		return nil
	}
	whole := tlsTarget{namespace: svc.Namespace, service: svc.Name}
	port := whole
	port.section = portName
	var winner *tlsPolicyState
	if portName != "" {
		winner = idx.winners[port]
		for _, st := range idx.all[port] {
			st.used = true
		}
	}
	if winner == nil {
		winner = idx.winners[whole]
	}
	if winner == idx.winners[whole] {
		// The whole-Service policies are only relevant where no port
		// policy overrides them.
		for _, st := range idx.all[whole] {
			st.used = true
		}
	}
	return winner
}

// settings is the TLS a backend governed by the policy needs.
func (p *tlsPolicyState) settings() *backendTLS {
	b := &backendTLS{policy: p, hostname: string(p.obj.Spec.Validation.Hostname), cas: p.cas}
	for _, s := range p.obj.Spec.Validation.SubjectAltNames {
		switch s.Type {
		case gwv1.HostnameSubjectAltNameType:
			b.sanHosts = append(b.sanHosts, string(s.Hostname))
		case gwv1.URISubjectAltNameType:
			b.sanURIs = append(b.sanURIs, string(s.URI))
		}
	}
	return b
}

// settleBackendTLS decides the TLS of a rule from its resolved backends:
// backends whose policy cannot be applied are left out (connections to
// them must fail, so none is made), and the others must all need the same
// TLS, because Kong sends one rule's traffic with one connection setup.
func settleBackendTLS(b *ruleBackends) {
	// Filtered in place: resolveBackends built the slice for this rule
	// alone, and a copy per rule was most of what this step cost.
	kept := b.resolved[:0]
	var first *backendTLS
	firstSet := false
	for _, r := range b.resolved {
		if r.tlsRefused != "" {
			b.tlsRefused = append(b.tlsRefused, r.tlsRefused)
			continue
		}
		kept = append(kept, r)
		if !firstSet {
			first, firstSet = r.tls, true
			continue
		}
		if tlsKey(first) != tlsKey(r.tls) && b.tlsMixed == "" {
			b.tlsMixed = fmt.Sprintf("backends %s and %s need different backend TLS (%s, %s); Kong sends the traffic of one rule with one TLS setup, so put them in separate rules",
				kept[0].service.Namespace+"/"+kept[0].service.Name, r.service.Namespace+"/"+r.service.Name, describeTLS(first), describeTLS(r.tls))
		}
	}
	b.resolved = kept
	b.tls = first
}

func tlsKey(b *backendTLS) string {
	if b == nil {
		return ""
	}
	return "tls\x02" + b.key()
}

func describeTLS(b *backendTLS) string {
	if b == nil {
		return "none"
	}
	return "BackendTLSPolicy " + b.policy.key.String()
}

// refusedMessage is the 500 answer of a rule whose every backend was left
// out because its policy cannot be applied.
func (b ruleBackends) refusedMessage() string {
	return "Backend TLS cannot be set up: " + strings.Join(b.tlsRefused, "; ")
}

// backendTLSPlugin configures drawbridge-backend-tls for a rule's backends.
func (t *translator) backendTLSPlugin(b *backendTLS, protocols []string, tags []string) kong.Plugin {
	cfg := map[string]any{
		"sni":             b.hostname,
		"ca_certificates": append([]string(nil), b.cas...),
	}
	if len(b.sanHosts) > 0 || len(b.sanURIs) > 0 {
		sans := map[string]any{}
		if len(b.sanHosts) > 0 {
			sans["hostnames"] = append([]string(nil), b.sanHosts...)
		}
		if len(b.sanURIs) > 0 {
			sans["uris"] = append([]string(nil), b.sanURIs...)
		}
		cfg["subject_alt_names"] = sans
	}
	if t.clientCertID != "" {
		cfg["client_certificate"] = t.clientCertID
	}
	return kong.Plugin{Name: kong.PluginDrawbridgeBackendTLS, Config: cfg, Protocols: protocols, Tags: tags}
}

// backendClientCertificate resolves the Gateway's backend client
// certificate. The Kong certificate that carries it has the ID a listener
// certificate from the same Secret would have, so one entity serves both.
func (t *translator) backendClientCertificate() {
	if !gatewayapi.HasBackendClientCertificate(t.gw) {
		return
	}
	key, cond, _ := gatewayapi.ValidateBackendClientCertificate(gatewayapi.ListenerInput{
		Gateway: t.gw, Secrets: t.secrets, ReferenceGrants: t.snap.ReferenceGrants,
	})
	t.clientCertCond = &cond
	if key != nil {
		t.clientCertKey = key
		t.clientCertID = uuid.NewSHA1(certificateNamespace, []byte(key.String())).String()
	}
}

// withClientCertificate adds the Gateway's backend client certificate to
// the certificates when a backend TLS plugin presents it and no listener
// certificate from the same Secret already carries it.
func (t *translator) withClientCertificate(certs []kong.Certificate) []kong.Certificate {
	if t.clientCertKey == nil || !t.clientCertUsed {
		return certs
	}
	for _, c := range certs {
		if c.ID == t.clientCertID {
			return certs
		}
	}
	secret := t.secrets[*t.clientCertKey]
	certs = append(certs, kong.Certificate{
		ID:   t.clientCertID,
		Cert: string(secret.Data[corev1.TLSCertKey]),
		Key:  string(secret.Data[corev1.TLSPrivateKeyKey]),
		Tags: append(objectTags("Secret", secret.Namespace, secret.Name, string(secret.UID)), "drawbridge-backend-client-certificate"),
	})
	sort.Slice(certs, func(i, j int) bool { return certs[i].ID < certs[j].ID })
	return certs
}

// BackendTLSPolicyResult is one Gateway's verdict on a BackendTLSPolicy
// whose targets it sends traffic to: the policy's status.ancestors entry
// for the Gateway.
type BackendTLSPolicyResult struct {
	Policy       types.NamespacedName
	Generation   int64
	AncestorRef  gwv1.ParentReference
	Accepted     gatewayapi.Condition
	ResolvedRefs gatewayapi.Condition
}

// backendTLSResults are the verdicts on the policies this Gateway uses.
func (t *translator) backendTLSResults() []BackendTLSPolicyResult {
	if t.backendTLS == nil {
		return nil
	}
	group, kind, ns := gwv1.Group(gwv1.GroupName), gwv1.Kind("Gateway"), gwv1.Namespace(t.gw.Namespace)
	ancestor := gwv1.ParentReference{Group: &group, Kind: &kind, Namespace: &ns, Name: gwv1.ObjectName(t.gw.Name)}
	var out []BackendTLSPolicyResult
	for _, st := range t.backendTLS.policies {
		if !st.used {
			continue
		}
		out = append(out, BackendTLSPolicyResult{Policy: st.key, Generation: st.obj.Generation, AncestorRef: ancestor,
			Accepted: st.accepted(), ResolvedRefs: st.resolvedRefs})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Policy.String() < out[j].Policy.String() })
	return out
}

func (p *tlsPolicyState) accepted() gatewayapi.Condition {
	condType := string(gwv1.PolicyConditionAccepted)
	switch {
	case len(p.lost) > 0:
		return gatewayapi.False(condType, string(gwv1.PolicyReasonConflicted), strings.Join(p.lost, "; "))
	case p.invalid != "":
		return gatewayapi.False(condType, string(gwv1.PolicyReasonInvalid), p.invalid)
	case len(p.cas) == 0:
		msg := "No CA certificate reference is usable, so connections to the targeted backends fail"
		if p.resolvedRefs.Status != "True" {
			msg += ": " + p.resolvedRefs.Message
		}
		return gatewayapi.False(condType, string(gwv1.BackendTLSPolicyReasonNoValidCACertificate), msg)
	}
	return gatewayapi.True(condType, string(gwv1.PolicyReasonAccepted), "Policy is accepted")
}
