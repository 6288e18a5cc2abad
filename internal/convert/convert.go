package convert

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	netv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/api/v1alpha1"
)

// Options choose where the converted routes attach.
type Options struct {
	// GatewayClass is the GatewayClass of every Gateway written.
	GatewayClass string
	// GatewayNamespace is where the Gateways are written.
	GatewayNamespace string
	// GatewayName, when set, puts every route on one Gateway of that name
	// instead of one Gateway per IngressClass.
	GatewayName string
}

// DefaultOptions are the CLI's defaults.
func DefaultOptions() Options {
	return Options{GatewayClass: "drawbridge", GatewayNamespace: "default"}
}

// Output is the result of a conversion, each list sorted by namespace and
// name.
type Output struct {
	Gateways        []gwv1.Gateway
	ReferenceGrants []gwv1.ReferenceGrant
	Secrets         []corev1.Secret
	KongConsumers   []v1alpha1.KongConsumer
	KongPlugins     []v1alpha1.KongPlugin
	HTTPRoutes      []gwv1.HTTPRoute
	GRPCRoutes      []gwv1.GRPCRoute
	TLSRoutes       []gwv1.TLSRoute
	TCPRoutes       []gwv1.TCPRoute
	UDPRoutes       []gwv1.UDPRoute
	// Report lists what was not converted, sorted.
	Report []Item
}

// flavor is the controller an Ingress was written for.
type flavor int

const (
	flavorKong flavor = iota
	flavorNginx
)

func (f flavor) String() string {
	if f == flavorNginx {
		return "ingress-nginx"
	}
	return "Kong Ingress Controller"
}

const (
	nginxPrefix = "nginx.ingress.kubernetes.io/"
	kongPrefix  = "konghq.com/"
	// legacyClassAnnotation selected the class before spec.ingressClassName.
	legacyClassAnnotation = "kubernetes.io/ingress.class"
	kongController        = "ingress-controllers.konghq.com/kong"
	nginxController       = "k8s.io/ingress-nginx"
)

// converter holds one conversion's indexes and what it has written so far.
type converter struct {
	in   *Input
	opts Options
	rep  report

	services       map[string]*corev1.Service
	secrets        map[string]*corev1.Secret
	kicPlugins     map[string]*KICPlugin
	clusterPlugins map[string]*KICPlugin
	kongIngresses  map[string]*KICKongIngress
	classes        map[string]*netv1.IngressClass

	gateways   map[string]*gatewayBuilder
	plugins    map[string]*v1alpha1.KongPlugin // by namespace/name
	secretsOut map[string]*corev1.Secret
	out        Output
	// canaries are ingress-nginx canary paths by gateway|host|path.
	canaries map[string][]canary
	// regexHosts are the ingress-nginx hosts (by gateway|host) on which some
	// path uses a regular expression or a rewrite, which makes nginx match
	// every path of that host as a case-insensitive regular expression.
	regexHosts map[string]bool
}

func key(ns, name string) string { return ns + "/" + name }

// Convert converts in; it never fails: what cannot be converted is in the
// report.
func Convert(in *Input, opts Options) *Output {
	if opts.GatewayClass == "" {
		opts.GatewayClass = DefaultOptions().GatewayClass
	}
	if opts.GatewayNamespace == "" {
		opts.GatewayNamespace = DefaultOptions().GatewayNamespace
	}
	c := &converter{
		in: in, opts: opts,
		services: map[string]*corev1.Service{}, secrets: map[string]*corev1.Secret{},
		kicPlugins: map[string]*KICPlugin{}, clusterPlugins: map[string]*KICPlugin{},
		kongIngresses: map[string]*KICKongIngress{}, classes: map[string]*netv1.IngressClass{},
		gateways: map[string]*gatewayBuilder{}, plugins: map[string]*v1alpha1.KongPlugin{},
		secretsOut: map[string]*corev1.Secret{},
		canaries:   map[string][]canary{}, regexHosts: map[string]bool{},
	}
	for i := range in.Services {
		c.services[key(in.Services[i].Namespace, in.Services[i].Name)] = &in.Services[i]
	}
	for i := range in.Secrets {
		c.secrets[key(in.Secrets[i].Namespace, in.Secrets[i].Name)] = &in.Secrets[i]
	}
	for i := range in.KongPlugins {
		c.kicPlugins[key(in.KongPlugins[i].Namespace, in.KongPlugins[i].Name)] = &in.KongPlugins[i]
	}
	for i := range in.KongClusterPlugins {
		c.clusterPlugins[in.KongClusterPlugins[i].Name] = &in.KongClusterPlugins[i]
	}
	for i := range in.KongIngresses {
		c.kongIngresses[key(in.KongIngresses[i].Namespace, in.KongIngresses[i].Name)] = &in.KongIngresses[i]
	}
	for i := range in.IngressClasses {
		c.classes[in.IngressClasses[i].Name] = &in.IngressClasses[i]
	}
	for _, where := range in.Ignored {
		c.rep.add("input", where, "not a kind convert reads (it reads Ingresses, IngressClasses, Services, Secrets and KIC's configuration.konghq.com resources)", "leave it as it is or convert it by hand")
	}

	ingresses := sortedIngresses(in.Ingresses)
	// Pass 1: TLS hosts (nginx serves a host's certificate for every
	// Ingress of that host), canaries and regex hosts.
	for _, ing := range ingresses {
		f, gw := c.flavorOf(ing), c.gatewayFor(ing)
		for _, t := range ing.Spec.TLS {
			if t.SecretName == "" {
				c.rep.add(objName("Ingress", ing.Namespace, ing.Name), "spec.tls", "a TLS section without secretName uses the controller's default certificate, which a Gateway listener cannot name", "name a certificate Secret in spec.tls or add it to the Gateway listener by hand")
				continue
			}
			hosts := t.Hosts
			if len(hosts) == 0 {
				hosts = []string{""}
			}
			for _, h := range hosts {
				gw.addHTTPS(c, h, ing.Namespace, t.SecretName, objName("Ingress", ing.Namespace, ing.Name))
			}
		}
		if f == flavorNginx {
			c.collectNginx(ing, gw)
		}
	}
	// Pass 2: routes.
	for _, ing := range ingresses {
		if c.flavorOf(ing) == flavorNginx && isCanary(ing) {
			continue
		}
		c.convertIngress(ing)
	}
	c.reportOrphanCanaries()
	c.convertStreamIngresses()
	c.convertConsumers()
	c.convertUnreferencedPlugins()
	c.finish()
	return &c.out
}

func sortedIngresses(in []netv1.Ingress) []*netv1.Ingress {
	out := make([]*netv1.Ingress, len(in))
	for i := range in {
		out[i] = &in[i]
	}
	sort.SliceStable(out, func(a, b int) bool {
		return key(out[a].Namespace, out[a].Name) < key(out[b].Namespace, out[b].Name)
	})
	return out
}

// className returns the IngressClass an Ingress belongs to: the field,
// else the legacy annotation, else the IngressClass marked default in
// the input.
func (c *converter) className(meta metav1.ObjectMeta, field *string) string {
	if field != nil && *field != "" {
		return *field
	}
	if v := meta.Annotations[legacyClassAnnotation]; v != "" {
		return v
	}
	names := make([]string, 0, len(c.classes))
	for n, ic := range c.classes {
		if ic.Annotations["ingressclass.kubernetes.io/is-default-class"] == "true" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if len(names) > 0 {
		return names[0]
	}
	return ""
}

func (c *converter) flavorOf(ing *netv1.Ingress) flavor {
	for k := range ing.Annotations {
		if strings.HasPrefix(k, nginxPrefix) {
			return flavorNginx
		}
	}
	for k := range ing.Annotations {
		if strings.HasPrefix(k, kongPrefix) {
			return flavorKong
		}
	}
	name := c.className(ing.ObjectMeta, ing.Spec.IngressClassName)
	if ic := c.classes[name]; ic != nil {
		switch ic.Spec.Controller {
		case nginxController:
			return flavorNginx
		case kongController:
			return flavorKong
		}
	}
	if strings.Contains(name, "nginx") {
		return flavorNginx
	}
	return flavorKong
}

// gatewayFor returns the Gateway an Ingress's routes attach to.
func (c *converter) gatewayFor(ing *netv1.Ingress) *gatewayBuilder {
	name := c.opts.GatewayName
	if name == "" {
		name = c.className(ing.ObjectMeta, ing.Spec.IngressClassName)
		if name == "" {
			if c.flavorOf(ing) == flavorNginx {
				name = "nginx"
			} else {
				name = "kong"
			}
		}
	}
	return c.gateway(name)
}

func (c *converter) gateway(name string) *gatewayBuilder {
	name = dnsLabel(name)
	if g := c.gateways[name]; g != nil {
		return g
	}
	g := &gatewayBuilder{name: name, namespace: c.opts.GatewayNamespace, listeners: map[string]*gwv1.Listener{}, routeNamespaces: map[string]bool{}, certOwners: map[string]string{}}
	c.gateways[name] = g
	return g
}

// backend resolves an Ingress backend to a Service name and port number.
func (c *converter) backend(obj, ns string, b *netv1.IngressServiceBackend) (string, int32, *corev1.Service, bool) {
	svc := c.services[key(ns, b.Name)]
	if b.Port.Number != 0 {
		return b.Name, b.Port.Number, svc, true
	}
	if svc == nil {
		c.rep.add(obj, fmt.Sprintf("backend service %s port %q", b.Name, b.Port.Name), "a named port needs its Service to find the number, and the Service is not in the input", "add the Service's manifest with -f, or use port.number in the Ingress")
		return "", 0, nil, false
	}
	for _, p := range svc.Spec.Ports {
		if p.Name == b.Port.Name {
			return b.Name, p.Port, svc, true
		}
	}
	c.rep.add(obj, fmt.Sprintf("backend service %s port %q", b.Name, b.Port.Name), "the Service has no port of that name", "fix the port name in the Ingress")
	return "", 0, nil, false
}

// dnsLabel makes a name usable as an object or listener name.
func dnsLabel(s string) string {
	s = strings.ToLower(s)
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			b.WriteRune(r)
		case r == '*':
			b.WriteString("wildcard")
		default:
			b.WriteRune('-')
		}
	}
	out := strings.Trim(b.String(), "-")
	if out == "" {
		out = "default"
	}
	if len(out) > 63 {
		out = strings.TrimRight(out[:63], "-")
	}
	return out
}

// objectName joins parts into a valid object name of at most 253
// characters.
func objectName(parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p != "" {
			keep = append(keep, p)
		}
	}
	n := strings.Join(keep, "-")
	if errs := validation.IsDNS1123Subdomain(n); len(errs) == 0 {
		return n
	}
	return dnsLabel(n)
}

// validHost reports whether a host is one a route's hostnames may hold.
func validHost(h string) bool {
	if strings.HasPrefix(h, "*.") {
		return len(validation.IsDNS1123Subdomain(h[2:])) == 0
	}
	return len(validation.IsDNS1123Subdomain(h)) == 0
}

var regexMeta = regexp.MustCompile(`[\\.+*?()|\[\]{}^$]`)

// quoteRegex escapes a literal for a regular expression.
func quoteRegex(s string) string { return regexMeta.ReplaceAllString(s, `\$0`) }
