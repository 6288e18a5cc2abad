package translate

import (
	"sort"

	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/kong"
)

// clientCertPlugins returns Drawbridge's drawbridge-client-cert plugin with
// one entry per Gateway port whose served HTTPS listeners must validate client
// certificates (the Gateway's spec.tls.frontend, resolved per listener by
// gatewayapi.ValidateListeners), or nothing when no port does. It is a
// global plugin: the handshake happens before any route is known, so the
// plugin tells ports apart by the port the connection arrived on, read back
// as the Gateway port through Kong's port_maps as the router reads it.
func (t *translator) clientCertPlugins() []kong.Plugin {
	byPort := map[int32]kong.ClientCertPort{}
	owner := map[int32]*listenerInfo{}
	for _, l := range t.listeners {
		cv := l.verdict.ClientValidation
		if l.spec.Protocol != gwv1.HTTPSProtocolType || !l.serves() || cv == nil || cv.CACertificates == "" {
			continue
		}
		port := int32(l.spec.Port)
		entry := kong.ClientCertPort{Port: port, Mode: string(cv.Mode), CACertificates: cv.CACertificates}
		if prev, ok := byPort[port]; ok {
			// Listeners on one Gateway port share spec.tls.frontend's
			// entry for it, so they always agree.
			if prev != entry {
				t.warnf("listener %s: its client certificate validation differs from that of listener %s on the same port, whose validation applies", l.name(), owner[port].name())
			}
			continue
		}
		byPort[port] = entry
		owner[port] = l
	}
	if len(byPort) == 0 {
		return nil
	}
	ports := make([]kong.ClientCertPort, 0, len(byPort))
	for _, p := range byPort {
		ports = append(ports, p)
	}
	sort.Slice(ports, func(i, j int) bool { return ports[i].Port < ports[j].Port })
	tags := objectTags("Gateway", t.gw.Namespace, t.gw.Name, string(t.gw.UID))
	return []kong.Plugin{{
		Name:   kong.PluginClientCert,
		Config: map[string]any{"ports": ports},
		Tags:   append(tags, "drawbridge-client-cert"),
	}}
}
