package provision

import (
	"fmt"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Fixed Kong-side ports of the data plane. They are above 1024 because Kong
// runs as a non-root user, and listener ports are mapped around them.
const (
	AdminPort      = 8444
	StatusPort     = 8100
	AdminPortName  = "admin"
	StatusPortName = "status"
)

// ListenerKind is how Kong serves one Gateway listener port.
type ListenerKind string

// The Kong listener kinds a Gateway listener can map to.
const (
	KindHTTP           ListenerKind = "http"  // proxy_listen, plain
	KindHTTPS          ListenerKind = "https" // proxy_listen with ssl and http2
	KindTCP            ListenerKind = "tcp"   // stream_listen, plain
	KindTLS            ListenerKind = "tls"   // stream_listen with ssl (TLS terminated by Kong)
	KindUDP            ListenerKind = "udp"   // stream_listen udp
	KindTLSPassthrough ListenerKind = "tlspt" // stream_listen with ssl; SNI read, bytes passed through
)

// Protocol is the L4 protocol of a listener kind.
func (k ListenerKind) Protocol() corev1.Protocol {
	if k == KindUDP {
		return corev1.ProtocolUDP
	}
	return corev1.ProtocolTCP
}

// KindOf maps a Gateway listener to the Kong listener kind that serves it, or
// false for protocols Drawbridge does not serve.
func KindOf(l gwv1.Listener) (ListenerKind, bool) {
	switch l.Protocol {
	case gwv1.HTTPProtocolType:
		return KindHTTP, true
	case gwv1.HTTPSProtocolType:
		return KindHTTPS, true
	case gwv1.TCPProtocolType:
		return KindTCP, true
	case gwv1.UDPProtocolType:
		return KindUDP, true
	case gwv1.TLSProtocolType:
		if l.TLS != nil && l.TLS.Mode != nil && *l.TLS.Mode == gwv1.TLSModePassthrough {
			return KindTLSPassthrough, true
		}
		return KindTLS, true
	}
	return "", false
}

// PortMapping is one port the data plane serves: the port clients use on the
// Gateway (and the ingress Service) and the port Kong binds in the pod.
type PortMapping struct {
	GatewayPort int32
	KongPort    int32
	Kind        ListenerKind
}

// Name is the port name used on the container and the Service. It is unique
// per mapping and at most 15 characters, as Kubernetes requires.
func (m PortMapping) Name() string {
	return fmt.Sprintf("%s-%d", m.Kind, m.GatewayPort)
}

// MapPorts assigns a Kong-side port to every distinct (port, kind) among the
// given listeners. A Gateway port of 1024 or more is used as is unless Kong's
// own admin or status port is already there; lower ports move to 8000+port,
// and any collision moves to the next free port. Listeners are processed in
// port order so the result is stable.
func MapPorts(listeners []gwv1.Listener) []PortMapping {
	type key struct {
		port int32
		kind ListenerKind
	}
	seen := map[key]bool{}
	var mappings []PortMapping
	for _, l := range listeners {
		kind, ok := KindOf(l)
		if !ok {
			continue
		}
		k := key{int32(l.Port), kind}
		if seen[k] {
			continue
		}
		seen[k] = true
		mappings = append(mappings, PortMapping{GatewayPort: int32(l.Port), Kind: kind})
	}
	// TLS passthrough and termination on one port share one ssl stream
	// listener (Kong decides per connection from the SNI), so the port is
	// mapped once, as tls.
	mappings = slices.DeleteFunc(mappings, func(m PortMapping) bool {
		return m.Kind == KindTLSPassthrough && seen[key{m.GatewayPort, KindTLS}]
	})
	sort.Slice(mappings, func(i, j int) bool {
		if mappings[i].GatewayPort != mappings[j].GatewayPort {
			return mappings[i].GatewayPort < mappings[j].GatewayPort
		}
		return mappings[i].Kind < mappings[j].Kind
	})

	// Each Kong port number carries one Gateway port, whatever the L4
	// protocol: KONG_PORT_MAPS is keyed by number only, so a TCP listener on
	// 53 and a UDP listener on 8053 must not both land on Kong port 8053. The
	// TCP and UDP mappings of one Gateway port do share a number.
	owner := map[int32]int32{AdminPort: -1, StatusPort: -1}
	free := func(kongPort, gatewayPort int32) bool {
		o, taken := owner[kongPort]
		return !taken || o == gatewayPort
	}
	// Gateway ports that Kong can bind unchanged are reserved first so a
	// remapped low port never takes them.
	for _, m := range mappings {
		if m.GatewayPort >= 1024 && free(m.GatewayPort, m.GatewayPort) {
			owner[m.GatewayPort] = m.GatewayPort
		}
	}
	for i := range mappings {
		m := &mappings[i]
		if m.GatewayPort >= 1024 && owner[m.GatewayPort] == m.GatewayPort {
			m.KongPort = m.GatewayPort
			continue
		}
		candidate := m.GatewayPort
		if candidate < 1024 {
			candidate += 8000
		}
		for !free(candidate, m.GatewayPort) {
			candidate++
			if candidate > 65535 {
				candidate = 1024
			}
		}
		owner[candidate] = m.GatewayPort
		m.KongPort = candidate
	}
	return mappings
}

// KongPorts indexes MapPorts by listener kind and Gateway port. A TLS
// passthrough listener that shares its port with a terminating one is served
// by that port's tls listener, so it is found under its own kind too.
func KongPorts(listeners []gwv1.Listener) map[ListenerKind]map[int32]int32 {
	out := map[ListenerKind]map[int32]int32{}
	put := func(kind ListenerKind, gwPort, kongPort int32) {
		if out[kind] == nil {
			out[kind] = map[int32]int32{}
		}
		out[kind][gwPort] = kongPort
	}
	for _, m := range MapPorts(listeners) {
		put(m.Kind, m.GatewayPort, m.KongPort)
		if m.Kind == KindTLS {
			put(KindTLSPassthrough, m.GatewayPort, m.KongPort)
		}
	}
	return out
}
