package kongplugins

// Gateway API objects for the backend TLS tests, shaped like the
// conformance suite's manifests, and the translation that turns them into
// the configuration real Kong runs.

import (
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
	"github.com/drawbridge-dev/drawbridge/internal/kong"
	"github.com/drawbridge-dev/drawbridge/internal/testutil/realkong"
	"github.com/drawbridge-dev/drawbridge/internal/translate"
)

const infraNS = "gateway-conformance-infra"

// world is the objects of one Gateway and the Kong that serves it.
type world struct {
	t    *testing.T
	k    *realkong.Kong
	snap translate.Snapshot
	// ports are the Gateway listener ports, which are also Kong's: ports
	// above 1023 are not remapped, so the translated expressions match
	// what Kong sees without KONG_PORT_MAPS.
	httpPort, httpsPort, tlsPort int
	res                          *translate.Result
}

// newWorld starts Kong with an HTTP, an HTTPS (both http2) and a TLS stream
// listener on free loopback ports, and a Gateway with one listener of each
// kind (listener specs are added by the caller).
func newWorld(t *testing.T) *world {
	t.Helper()
	ports := realkong.FreePorts(t, 3)
	w := &world{t: t}
	w.httpPort, _ = strconv.Atoi(ports[0])
	w.httpsPort, _ = strconv.Atoi(ports[1])
	w.tlsPort, _ = strconv.Atoi(ports[2])
	w.k = realkong.Start(t, realkong.Options{Env: map[string]string{
		"KONG_PROXY_LISTEN":  fmt.Sprintf("127.0.0.1:%d http2, 127.0.0.1:%d http2 ssl", w.httpPort, w.httpsPort),
		"KONG_STREAM_LISTEN": fmt.Sprintf("127.0.0.1:%d ssl", w.tlsPort),
	}})
	w.snap.GatewayClass = &gwv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "drawbridge"},
		Spec: gwv1.GatewayClassSpec{ControllerName: gatewayapi.ControllerName}}
	w.snap.Gateway = &gwv1.Gateway{ObjectMeta: metav1.ObjectMeta{Name: "same-namespace", Namespace: infraNS, Generation: 1},
		Spec: gwv1.GatewaySpec{GatewayClassName: "drawbridge"}}
	return w
}

func (w *world) addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// httpListener adds the plain HTTP listener.
func (w *world) httpListener() {
	w.snap.Gateway.Spec.Listeners = append(w.snap.Gateway.Spec.Listeners,
		gwv1.Listener{Name: "http", Port: gwv1.PortNumber(w.httpPort), Protocol: gwv1.HTTPProtocolType})
}

// httpsListener adds an HTTPS listener that serves the Secret's certificate.
func (w *world) httpsListener(secret string) {
	w.snap.Gateway.Spec.Listeners = append(w.snap.Gateway.Spec.Listeners,
		gwv1.Listener{Name: "https", Port: gwv1.PortNumber(w.httpsPort), Protocol: gwv1.HTTPSProtocolType,
			TLS: &gwv1.ListenerTLSConfig{CertificateRefs: []gwv1.SecretObjectReference{{Name: gwv1.ObjectName(secret)}}}})
}

// tlsTerminateListener adds a TLS listener for hostname that terminates
// with the Secret's certificate.
func (w *world) tlsTerminateListener(hostname, secret string) {
	w.tlsTerminateListenerNamed("tls-terminate", hostname, secret)
}

// tlsTerminateListenerNamed adds another terminating TLS listener on the
// same port.
func (w *world) tlsTerminateListenerNamed(name, hostname, secret string) {
	mode := gwv1.TLSModeTerminate
	h := gwv1.Hostname(hostname)
	w.snap.Gateway.Spec.Listeners = append(w.snap.Gateway.Spec.Listeners,
		gwv1.Listener{Name: gwv1.SectionName(name), Port: gwv1.PortNumber(w.tlsPort), Protocol: gwv1.TLSProtocolType, Hostname: &h,
			TLS: &gwv1.ListenerTLSConfig{Mode: &mode, CertificateRefs: []gwv1.SecretObjectReference{{Name: gwv1.ObjectName(secret)}}}})
}

func (w *world) tlsSecret(name string, c issued) {
	w.snap.Secrets = append(w.snap.Secrets, corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: infraNS},
		Type: corev1.SecretTypeTLS, Data: map[string][]byte{corev1.TLSCertKey: []byte(c.CertPEM), corev1.TLSPrivateKeyKey: []byte(c.KeyPEM)}})
}

// caConfigMap adds a ConfigMap; data nil makes one without ca.crt.
func (w *world) caConfigMap(name string, data *string) {
	cm := corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: infraNS}, Data: map[string]string{}}
	if data != nil {
		cm.Data["ca.crt"] = *data
	}
	for i := range w.snap.ConfigMaps {
		if w.snap.ConfigMaps[i].Name == name {
			w.snap.ConfigMaps[i] = cm
			return
		}
	}
	w.snap.ConfigMaps = append(w.snap.ConfigMaps, cm)
}

// svcPort is one port of a Service: its name, port, and the backend that
// serves it.
type svcPort struct {
	name    string
	port    int32
	backend string // host:port
	app     string // appProtocol
}

// service adds a Service and the EndpointSlice that points its ports at
// local backends.
func (w *world) service(name string, ports ...svcPort) {
	svc := corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: infraNS}}
	ready := true
	for _, p := range ports {
		sp := corev1.ServicePort{Name: p.name, Port: p.port, Protocol: corev1.ProtocolTCP}
		if p.app != "" {
			app := p.app
			sp.AppProtocol = &app
		}
		svc.Spec.Ports = append(svc.Spec.Ports, sp)
		host, port, _ := net.SplitHostPort(p.backend)
		pn, _ := strconv.Atoi(port)
		name := p.name
		n32 := int32(pn)
		w.snap.EndpointSlices = append(w.snap.EndpointSlices, discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: svc.Name + "-" + p.name, Namespace: infraNS, Labels: map[string]string{discoveryv1.LabelServiceName: svc.Name}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &n32}},
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{host}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
		})
	}
	w.snap.Services = append(w.snap.Services, svc)
}

// caRef references a CA ConfigMap (or, with group/kind, something else).
type caRef struct{ group, kind, name string }

func configMap(name string) caRef { return caRef{"", "ConfigMap", name} }

// policy adds (or replaces) a BackendTLSPolicy. created orders conflicts.
func (w *world) policy(name, service, section, hostname string, cas []caRef, sans []gwv1.SubjectAltName, created time.Time) *gwv1.BackendTLSPolicy {
	p := gwv1.BackendTLSPolicy{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: infraNS, Generation: 1, CreationTimestamp: metav1.NewTime(created)}}
	ref := gwv1.LocalPolicyTargetReferenceWithSectionName{LocalPolicyTargetReference: gwv1.LocalPolicyTargetReference{Group: "", Kind: "Service", Name: gwv1.ObjectName(service)}}
	if section != "" {
		s := gwv1.SectionName(section)
		ref.SectionName = &s
	}
	p.Spec.TargetRefs = []gwv1.LocalPolicyTargetReferenceWithSectionName{ref}
	for _, c := range cas {
		p.Spec.Validation.CACertificateRefs = append(p.Spec.Validation.CACertificateRefs,
			gwv1.LocalObjectReference{Group: gwv1.Group(c.group), Kind: gwv1.Kind(c.kind), Name: gwv1.ObjectName(c.name)})
	}
	p.Spec.Validation.Hostname = gwv1.PreciseHostname(hostname)
	p.Spec.Validation.SubjectAltNames = sans
	for i := range w.snap.BackendTLSPolicies {
		if w.snap.BackendTLSPolicies[i].Name == name {
			w.snap.BackendTLSPolicies[i] = p
			return &w.snap.BackendTLSPolicies[i]
		}
	}
	w.snap.BackendTLSPolicies = append(w.snap.BackendTLSPolicies, p)
	return &w.snap.BackendTLSPolicies[len(w.snap.BackendTLSPolicies)-1]
}

// rule is one HTTPRoute rule: an Exact path match to one Service port,
// optionally retried on the listed status codes.
type rule struct {
	path    string
	service string
	port    int32
	retry   []int
}

// httpRoute adds an HTTPRoute on a listener of the Gateway.
func (w *world) httpRoute(name, section string, hostnames []string, rules ...rule) {
	r := gwv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: infraNS, Generation: 1}}
	sn := gwv1.SectionName(section)
	r.Spec.ParentRefs = []gwv1.ParentReference{{Name: gwv1.ObjectName(w.snap.Gateway.Name), SectionName: &sn}}
	for _, h := range hostnames {
		r.Spec.Hostnames = append(r.Spec.Hostnames, gwv1.Hostname(h))
	}
	exact := gwv1.PathMatchExact
	for _, ru := range rules {
		port := gwv1.PortNumber(ru.port)
		path := ru.path
		hr := gwv1.HTTPRouteRule{
			Matches:     []gwv1.HTTPRouteMatch{{Path: &gwv1.HTTPPathMatch{Type: &exact, Value: &path}}},
			BackendRefs: []gwv1.HTTPBackendRef{{BackendRef: gwv1.BackendRef{BackendObjectReference: gwv1.BackendObjectReference{Name: gwv1.ObjectName(ru.service), Port: &port}}}},
		}
		if len(ru.retry) > 0 {
			attempts := 2
			hr.Retry = &gwv1.HTTPRouteRetry{Attempts: &attempts}
			for _, c := range ru.retry {
				hr.Retry.Codes = append(hr.Retry.Codes, gwv1.HTTPRouteRetryStatusCode(c))
			}
		}
		r.Spec.Rules = append(r.Spec.Rules, hr)
	}
	w.snap.HTTPRoutes = append(w.snap.HTTPRoutes, r)
}

// apply translates the objects and gives Kong the configuration.
func (w *world) apply() {
	w.t.Helper()
	snap := w.snap
	res, err := translate.Translate(&snap)
	if err != nil {
		w.t.Fatalf("translate: %v", err)
	}
	if err := kong.Validate(res.Config); err != nil {
		w.t.Fatalf("translated config fails validation: %v", err)
	}
	for _, r := range res.Routes {
		if r.Accepted.Status != metav1.ConditionTrue || r.ResolvedRefs.Status != metav1.ConditionTrue {
			w.t.Fatalf("%s: Accepted=%s %s, ResolvedRefs=%s %s", r.Route, r.Accepted.Status, r.Accepted.Message, r.ResolvedRefs.Status, r.ResolvedRefs.Message)
		}
	}
	if err := w.k.PostConfig(res.JSON); err != nil {
		w.t.Fatalf("post config: %v", err)
	}
	w.res = res
}

// policyConditions is the translation's verdict on a policy for the
// Gateway, as "Type=Status/Reason" strings, or nil without an entry.
func (w *world) policyConditions(name string) []string {
	for _, p := range w.res.BackendTLSPolicies {
		if p.Policy == (types.NamespacedName{Namespace: infraNS, Name: name}) {
			if p.AncestorRef.Name != gwv1.ObjectName(w.snap.Gateway.Name) {
				w.t.Errorf("policy %s: ancestorRef %s, want Gateway %s", name, p.AncestorRef.Name, w.snap.Gateway.Name)
			}
			return []string{
				fmt.Sprintf("%s=%s/%s", p.Accepted.Type, p.Accepted.Status, p.Accepted.Reason),
				fmt.Sprintf("%s=%s/%s", p.ResolvedRefs.Type, p.ResolvedRefs.Status, p.ResolvedRefs.Reason),
			}
		}
	}
	return nil
}

// wantPolicy checks a policy's conditions for the Gateway.
func (w *world) wantPolicy(name string, want ...string) {
	w.t.Helper()
	got := w.policyConditions(name)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		w.t.Errorf("BackendTLSPolicy %s: conditions %v, want %v", name, got, want)
	}
}

var (
	acceptedTrue     = "Accepted=True/Accepted"
	resolvedRefsTrue = "ResolvedRefs=True/ResolvedRefs"
)
