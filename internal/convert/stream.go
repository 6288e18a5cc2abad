package convert

import (
	"fmt"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// convertStreamIngresses converts KIC's TCPIngress and UDPIngress: a rule
// without host becomes a TCP (or UDP) listener on its port and a route; a
// TCPIngress rule with a host is TLS that Kong terminated, matched by SNI,
// which becomes a TLS listener in Terminate mode and a TLSRoute.
func (c *converter) convertStreamIngresses() {
	for _, kind := range []string{"TCPIngress", "UDPIngress"} {
		list := c.in.TCPIngresses
		if kind == "UDPIngress" {
			list = c.in.UDPIngresses
		}
		idx := make([]int, len(list))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool {
			return key(list[idx[a]].Namespace, list[idx[a]].Name) < key(list[idx[b]].Namespace, list[idx[b]].Name)
		})
		for _, i := range idx {
			c.convertStream(kind, &list[i])
		}
	}
}

func (c *converter) convertStream(kind string, si *KICStreamIngress) {
	obj := objName(kind, si.Namespace, si.Name)
	name := c.opts.GatewayName
	if name == "" {
		name = c.className(si.ObjectMeta, nil)
		if name == "" {
			name = "kong"
		}
	}
	gw := c.gateway(name)
	tlsFor := map[string]string{}
	for _, t := range si.Spec.TLS {
		for _, h := range t.Hosts {
			tlsFor[h] = t.SecretName
		}
	}
	for ri, r := range si.Spec.Rules {
		field := fmt.Sprintf("spec.rules[%d]", ri)
		if r.Port < 1 || r.Port > 65535 || r.Backend.ServiceName == "" || r.Backend.ServicePort < 1 || r.Backend.ServicePort > 65535 {
			c.rep.add(obj, field, "the rule needs a port and a backend serviceName and servicePort", "fix the rule")
			continue
		}
		meta := metav1.ObjectMeta{Name: objectName(si.Name, fmt.Sprint(r.Port)), Namespace: si.Namespace}
		ref := backendRef(r.Backend.ServiceName, r.Backend.ServicePort)
		gw.routeNamespaces[si.Namespace] = true
		switch {
		case kind == "UDPIngress":
			l := c.streamListener(gw, "udp", r.Port, gwv1.UDPProtocolType, obj, field)
			if l == "" {
				continue
			}
			c.out.UDPRoutes = append(c.out.UDPRoutes, gwv1.UDPRoute{
				TypeMeta: metav1.TypeMeta{APIVersion: gwv1.GroupVersion.String(), Kind: "UDPRoute"}, ObjectMeta: meta,
				Spec: gwv1.UDPRouteSpec{CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: []gwv1.ParentReference{gw.ref(l)}}, Rules: []gwv1.UDPRouteRule{{BackendRefs: []gwv1.BackendRef{ref}}}},
			})
		case r.Host == "":
			l := c.streamListener(gw, "tcp", r.Port, gwv1.TCPProtocolType, obj, field)
			if l == "" {
				continue
			}
			c.out.TCPRoutes = append(c.out.TCPRoutes, gwv1.TCPRoute{
				TypeMeta: metav1.TypeMeta{APIVersion: gwv1.GroupVersion.String(), Kind: "TCPRoute"}, ObjectMeta: meta,
				Spec: gwv1.TCPRouteSpec{CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: []gwv1.ParentReference{gw.ref(l)}}, Rules: []gwv1.TCPRouteRule{{BackendRefs: []gwv1.BackendRef{ref}}}},
			})
		default:
			secret := tlsFor[r.Host]
			if secret == "" {
				c.rep.add(obj, field+".host "+r.Host, "Kong terminated TLS for this SNI with its default certificate; a Gateway TLS listener needs a certificate Secret", "add a spec.tls entry with the host's Secret and convert again")
				continue
			}
			if !validHost(r.Host) {
				c.rep.add(obj, field+".host "+r.Host, "not a hostname a listener can hold", "fix the host")
				continue
			}
			lname := dnsLabel(fmt.Sprintf("tls-%d-%s", r.Port, r.Host))
			if gw.listeners[lname] == nil {
				if other := c.portTaken(gw, r.Port, gwv1.TLSProtocolType); other != "" {
					c.rep.add(obj, field, fmt.Sprintf("port %d is already a %s listener", r.Port, other), "use another port")
					continue
				}
				mode := gwv1.TLSModeTerminate
				certRef := gwv1.SecretObjectReference{Name: gwv1.ObjectName(secret)}
				if si.Namespace != gw.namespace {
					ns := gwv1.Namespace(si.Namespace)
					certRef.Namespace = &ns
				}
				h := gwv1.Hostname(r.Host)
				gw.listeners[lname] = &gwv1.Listener{Name: gwv1.SectionName(lname), Port: gwv1.PortNumber(r.Port), Protocol: gwv1.TLSProtocolType, Hostname: &h,
					TLS: &gwv1.ListenerTLSConfig{Mode: &mode, CertificateRefs: []gwv1.SecretObjectReference{certRef}}}
			}
			meta.Name = objectName(si.Name, fmt.Sprint(r.Port), dnsLabel(r.Host))
			c.out.TLSRoutes = append(c.out.TLSRoutes, gwv1.TLSRoute{
				TypeMeta: metav1.TypeMeta{APIVersion: gwv1.GroupVersion.String(), Kind: "TLSRoute"}, ObjectMeta: meta,
				Spec: gwv1.TLSRouteSpec{CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: []gwv1.ParentReference{gw.ref(lname)}}, Hostnames: []gwv1.Hostname{gwv1.Hostname(r.Host)}, Rules: []gwv1.TLSRouteRule{{BackendRefs: []gwv1.BackendRef{ref}}}},
			})
		}
	}
}

// portTaken returns the protocol of another kind of listener on a port.
func (c *converter) portTaken(gw *gatewayBuilder, port int32, want gwv1.ProtocolType) string {
	for _, l := range gw.listeners {
		if int32(l.Port) == port && l.Protocol != want {
			return string(l.Protocol)
		}
	}
	return ""
}

// streamListener returns the name of the TCP or UDP listener for a port,
// adding it; "" when the port is taken by another protocol (reported).
func (c *converter) streamListener(gw *gatewayBuilder, prefix string, port int32, proto gwv1.ProtocolType, obj, field string) string {
	name := fmt.Sprintf("%s-%d", prefix, port)
	if gw.listeners[name] != nil {
		c.rep.add(obj, field, fmt.Sprintf("port %d already has a %s route; a listener takes one", port, prefix), "use one route per port")
		return ""
	}
	if other := c.portTaken(gw, port, proto); other != "" {
		c.rep.add(obj, field, fmt.Sprintf("port %d is already a %s listener", port, other), "use another port")
		return ""
	}
	gw.listeners[name] = &gwv1.Listener{Name: gwv1.SectionName(name), Port: gwv1.PortNumber(port), Protocol: proto}
	return name
}
