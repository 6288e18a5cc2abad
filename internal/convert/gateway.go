package convert

import (
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// gatewayBuilder collects one Gateway's listeners and the namespaces whose
// routes attach to it.
type gatewayBuilder struct {
	name, namespace string
	listeners       map[string]*gwv1.Listener
	routeNamespaces map[string]bool
	// certOwners names the object whose certificate each HTTPS listener
	// took, to report a host with two certificates.
	certOwners map[string]string
	// httpsByHost is the HTTPS listener of each TLS host ("" for a TLS
	// section without hosts).
	httpsByHost map[string]string
}

const httpListener = "http"

// maxListeners is the Gateway CRD's limit.
const maxListeners = 64

func (g *gatewayBuilder) ref(section string) gwv1.ParentReference {
	ns := gwv1.Namespace(g.namespace)
	p := gwv1.ParentReference{Name: gwv1.ObjectName(g.name), Namespace: &ns}
	if section != "" {
		s := gwv1.SectionName(section)
		p.SectionName = &s
	}
	return p
}

// attach records a route namespace and makes sure the HTTP listener exists.
func (g *gatewayBuilder) attachHTTP(ns string) {
	g.routeNamespaces[ns] = true
	if g.listeners[httpListener] == nil {
		g.listeners[httpListener] = &gwv1.Listener{Name: httpListener, Port: 80, Protocol: gwv1.HTTPProtocolType}
	}
}

// httpsListenerName names a new HTTPS listener for a host, unique on the
// Gateway (hosts such as a.b and a-b make the same label).
func (g *gatewayBuilder) httpsListenerName(host string) string {
	base := "https"
	if host != "" {
		base = "https-" + dnsLabel(host)
	}
	name := base
	for i := 2; g.listeners[name] != nil; i++ {
		name = fmt.Sprintf("%s-%d", base, i)
	}
	return name
}

// addHTTPS adds an HTTPS listener for a TLS host with its certificate.
func (g *gatewayBuilder) addHTTPS(c *converter, host, secretNS, secretName, owner string) {
	if host != "" && !validHost(host) {
		c.rep.add(owner, "spec.tls.hosts "+host, "not a hostname a Gateway listener can hold", "fix the host")
		return
	}
	if g.httpsByHost == nil {
		g.httpsByHost = map[string]string{}
	}
	if name, ok := g.httpsByHost[host]; ok {
		l := g.listeners[name]
		ref := l.TLS.CertificateRefs[0]
		refNS := g.namespace
		if ref.Namespace != nil {
			refNS = string(*ref.Namespace)
		}
		if string(ref.Name) != secretName || refNS != secretNS {
			c.rep.add(owner, "spec.tls secret "+secretName, fmt.Sprintf("host %q already has the certificate Secret %s/%s from %s; a listener serves one certificate per host", host, refNS, ref.Name, g.certOwners[name]), "use one certificate Secret per host")
		}
		return
	}
	name := g.httpsListenerName(host)
	g.httpsByHost[host] = name
	ref := gwv1.SecretObjectReference{Name: gwv1.ObjectName(secretName)}
	if secretNS != g.namespace {
		ns := gwv1.Namespace(secretNS)
		ref.Namespace = &ns
	}
	mode := gwv1.TLSModeTerminate
	l := &gwv1.Listener{Name: gwv1.SectionName(name), Port: 443, Protocol: gwv1.HTTPSProtocolType,
		TLS: &gwv1.ListenerTLSConfig{Mode: &mode, CertificateRefs: []gwv1.SecretObjectReference{ref}}}
	if host != "" {
		h := gwv1.Hostname(host)
		l.Hostname = &h
	}
	g.listeners[name] = l
	g.certOwners[name] = owner
}

// httpsFor returns the HTTPS listeners that serve a route host: the one of
// the exact host, else one whose wildcard covers it, else the one without
// hostname.
func (g *gatewayBuilder) httpsFor(host string) []string {
	if host != "" {
		if l, ok := g.httpsByHost[host]; ok {
			return []string{l}
		}
		if i := strings.IndexByte(host, '.'); i > 0 && !strings.HasPrefix(host, "*.") {
			if l, ok := g.httpsByHost["*"+host[i:]]; ok {
				return []string{l}
			}
		}
	}
	if l, ok := g.httpsByHost[""]; ok {
		return []string{l}
	}
	return nil
}

// build returns the Gateway, and ReferenceGrants for certificates in other
// namespaces.
func (g *gatewayBuilder) build(class string, rep *report) (gwv1.Gateway, []gwv1.ReferenceGrant) {
	names := make([]string, 0, len(g.listeners))
	for n := range g.listeners {
		names = append(names, n)
	}
	// HTTP first, then the rest by port and name.
	sort.Slice(names, func(a, b int) bool {
		la, lb := g.listeners[names[a]], g.listeners[names[b]]
		if la.Port != lb.Port {
			return la.Port < lb.Port
		}
		return names[a] < names[b]
	})
	if len(names) > maxListeners {
		rep.add(objName("Gateway", g.namespace, g.name), "spec.listeners", fmt.Sprintf("a Gateway holds at most %d listeners and the input needs %d; %s and the rest were left out, and routes that need them do not attach", maxListeners, len(names), names[maxListeners]), "split the hosts over several Gateways (--gateway-name per group of Ingresses), or use a wildcard certificate")
		names = names[:maxListeners]
	}
	allowed := g.allowedRoutes()
	gw := gwv1.Gateway{
		TypeMeta:   metav1.TypeMeta{APIVersion: gwv1.GroupVersion.String(), Kind: "Gateway"},
		ObjectMeta: metav1.ObjectMeta{Name: g.name, Namespace: g.namespace},
		Spec:       gwv1.GatewaySpec{GatewayClassName: gwv1.ObjectName(class)},
	}
	secretsByNS := map[string][]string{}
	for _, n := range names {
		l := *g.listeners[n]
		l.AllowedRoutes = allowed.DeepCopy()
		gw.Spec.Listeners = append(gw.Spec.Listeners, l)
		if l.TLS != nil {
			for _, ref := range l.TLS.CertificateRefs {
				if ref.Namespace != nil && string(*ref.Namespace) != g.namespace {
					secretsByNS[string(*ref.Namespace)] = append(secretsByNS[string(*ref.Namespace)], string(ref.Name))
				}
			}
		}
	}
	var grants []gwv1.ReferenceGrant
	nss := make([]string, 0, len(secretsByNS))
	for ns := range secretsByNS {
		nss = append(nss, ns)
	}
	sort.Strings(nss)
	for _, ns := range nss {
		secrets := secretsByNS[ns]
		sort.Strings(secrets)
		rg := gwv1.ReferenceGrant{
			TypeMeta:   metav1.TypeMeta{APIVersion: gwv1.GroupVersion.String(), Kind: "ReferenceGrant"},
			ObjectMeta: metav1.ObjectMeta{Name: objectName("gateway", g.namespace, g.name, "certificates"), Namespace: ns},
			Spec: gwv1.ReferenceGrantSpec{
				From: []gwv1.ReferenceGrantFrom{{Group: gwv1.GroupName, Kind: "Gateway", Namespace: gwv1.Namespace(g.namespace)}},
			},
		}
		prev := ""
		for _, s := range secrets {
			if s == prev {
				continue
			}
			prev = s
			name := gwv1.ObjectName(s)
			rg.Spec.To = append(rg.Spec.To, gwv1.ReferenceGrantTo{Group: "", Kind: "Secret", Name: &name})
		}
		grants = append(grants, rg)
	}
	return gw, grants
}

// allowedRoutes admits the namespaces of the converted routes: Same when
// they all live with the Gateway, else exactly those namespaces by their
// kubernetes.io/metadata.name label.
func (g *gatewayBuilder) allowedRoutes() *gwv1.AllowedRoutes {
	var nss []string
	for ns := range g.routeNamespaces {
		nss = append(nss, ns)
	}
	sort.Strings(nss)
	if len(nss) == 0 || (len(nss) == 1 && nss[0] == g.namespace) {
		from := gwv1.NamespacesFromSame
		return &gwv1.AllowedRoutes{Namespaces: &gwv1.RouteNamespaces{From: &from}}
	}
	from := gwv1.NamespacesFromSelector
	return &gwv1.AllowedRoutes{Namespaces: &gwv1.RouteNamespaces{From: &from, Selector: &metav1.LabelSelector{
		MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpIn, Values: nss}},
	}}}
}
