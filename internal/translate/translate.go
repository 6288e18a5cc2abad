package translate

import (
	"errors"
	"fmt"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
	"github.com/drawbridge-dev/drawbridge/internal/kong"
	"github.com/drawbridge-dev/drawbridge/internal/provision"
)

// ErrNotOurGateway is returned when the snapshot's Gateway does not belong
// to a GatewayClass served by Drawbridge.
var ErrNotOurGateway = errors.New("gateway is not served by " + gatewayapi.ControllerName)

// translator holds the indexes and the output of one translation.
type translator struct {
	snap      *Snapshot
	gw        *gwv1.Gateway
	listeners []*listenerInfo
	// sets are the verdicts on the Gateway's ListenerSets, in merge
	// precedence; listenerInfo.set points into it.
	sets []gatewayapi.ListenerSetResult

	services   map[types.NamespacedName]*corev1.Service
	slices     map[types.NamespacedName][]*discoveryv1.EndpointSlice
	secrets    map[types.NamespacedName]*corev1.Secret
	namespaces map[string]*corev1.Namespace
	// serviceTags and endpoints are computed once per Service
	// (serviceTagsOf) and Service port (resolveBackend).
	serviceTags map[types.NamespacedName][]string
	endpoints   map[endpointsKey][]string

	kongServices []*serviceBuild
	upstreams    []kong.Upstream
	// pending are HTTP and stream Kong routes whose priority is finalised
	// once every route is known, because ties are broken across routes.
	pending  []*pendingRoute
	results  []RouteParentResult
	attached []map[RouteKey]bool // per listener index
	warnings []string
	// policies are the KongPlugins by target (kongplugins.go).
	policies *policyIndex
	// consumerResults are the KongConsumer verdicts (consumers.go).
	consumerResults []KongConsumerResult
	// backendTLS indexes the BackendTLSPolicies (backendtls.go).
	backendTLS *backendTLSIndex
	// The Gateway's backend client certificate: its Secret and Kong
	// certificate ID when usable, the verdict on it, and whether a backend
	// TLS plugin presents it.
	clientCertKey  *types.NamespacedName
	clientCertID   string
	clientCertCond *gatewayapi.Condition
	clientCertUsed bool
}

// Translate converts a snapshot into Kong configuration and statuses.
func Translate(snap *Snapshot) (*Result, error) {
	if snap == nil || snap.Gateway == nil {
		return nil, errors.New("translate: snapshot has no Gateway")
	}
	gw := snap.Gateway
	if snap.GatewayClass == nil || string(snap.GatewayClass.Spec.ControllerName) != gatewayapi.ControllerName ||
		snap.GatewayClass.Name != string(gw.Spec.GatewayClassName) {
		return nil, fmt.Errorf("translate Gateway %s/%s (class %q): %w", gw.Namespace, gw.Name, gw.Spec.GatewayClassName, ErrNotOurGateway)
	}
	t := newTranslator(snap)
	t.indexPlugins()
	t.indexBackendTLS()
	t.backendClientCertificate()
	t.translateHTTPRoutes()
	t.translateGRPCRoutes()
	t.translateTLSRoutes()
	t.translateTCPRoutes()
	t.translateUDPRoutes()
	t.assignPriorities()
	t.misdirectedRoutes()
	t.grpcFallbackRoutes()
	certs := t.withClientCertificate(t.certificates())
	return t.result(certs)
}

func newTranslator(snap *Snapshot) *translator {
	t := &translator{
		snap:       snap,
		gw:         snap.Gateway,
		services:   map[types.NamespacedName]*corev1.Service{},
		slices:     map[types.NamespacedName][]*discoveryv1.EndpointSlice{},
		secrets:    map[types.NamespacedName]*corev1.Secret{},
		namespaces: map[string]*corev1.Namespace{},

		serviceTags: map[types.NamespacedName][]string{},
		endpoints:   map[endpointsKey][]string{},
	}
	for i := range snap.Services {
		s := &snap.Services[i]
		t.services[types.NamespacedName{Namespace: s.Namespace, Name: s.Name}] = s
	}
	for i := range snap.EndpointSlices {
		es := &snap.EndpointSlices[i]
		svc := es.Labels[discoveryv1.LabelServiceName]
		if svc == "" {
			continue
		}
		key := types.NamespacedName{Namespace: es.Namespace, Name: svc}
		t.slices[key] = append(t.slices[key], es)
	}
	for key := range t.slices {
		s := t.slices[key]
		sort.Slice(s, func(i, j int) bool { return s[i].Name < s[j].Name })
	}
	for i := range snap.Secrets {
		s := &snap.Secrets[i]
		t.secrets[types.NamespacedName{Namespace: s.Namespace, Name: s.Name}] = s
	}
	for i := range snap.Namespaces {
		t.namespaces[snap.Namespaces[i].Name] = &snap.Namespaces[i]
	}
	// About one result per route (one per parentRef that names the
	// Gateway), sized up front: growing a slice of thousands of results a
	// quarter at a time allocated about five times its final size, the
	// largest allocation of a translation.
	t.results = slices.Grow(t.results, len(snap.HTTPRoutes)+len(snap.GRPCRoutes)+len(snap.TLSRoutes)+len(snap.TCPRoutes)+len(snap.UDPRoutes))

	configMaps := map[types.NamespacedName]*corev1.ConfigMap{}
	for i := range snap.ConfigMaps {
		cm := &snap.ConfigMaps[i]
		configMaps[types.NamespacedName{Namespace: cm.Namespace, Name: cm.Name}] = cm
	}
	listenerInput := gatewayapi.ListenerInput{
		Gateway: snap.Gateway, Secrets: t.secrets, ConfigMaps: configMaps, ReferenceGrants: snap.ReferenceGrants,
	}
	verdicts := snap.Listeners
	if verdicts == nil {
		verdicts = gatewayapi.ValidateListeners(listenerInput)
	}
	t.sets = snap.ListenerSetResults
	if t.sets == nil {
		t.sets = gatewayapi.ValidateListenerSets(gatewayapi.ListenerSetInput{
			ListenerInput:    listenerInput,
			GatewayListeners: verdicts,
			ListenerSets:     snap.ListenerSets,
			Namespaces:       snap.Namespaces,
		})
	}
	// The data plane maps only the listeners it serves, so the Kong ports
	// must be computed from exactly that set (see provision.Render).
	kongPorts := provision.KongPorts(gatewayapi.ServedListeners(snap.Gateway, verdicts, t.sets))
	add := func(l gwv1.Listener, verdict gatewayapi.ListenerResult, set *gatewayapi.ListenerSetResult) {
		info := &listenerInfo{index: len(t.listeners), spec: l, verdict: verdict, set: set}
		if l.Hostname != nil {
			info.hostname = string(*l.Hostname)
		}
		info.kongPort = int32(l.Port)
		if kind, ok := provision.KindOf(l); ok {
			info.kind = kind
			if p, ok := kongPorts[kind][int32(l.Port)]; ok {
				info.kongPort = p
			}
		}
		t.listeners = append(t.listeners, info)
	}
	for i, l := range snap.Gateway.Spec.Listeners {
		var v gatewayapi.ListenerResult
		if i < len(verdicts) {
			v = verdicts[i]
		}
		add(l, v, nil)
	}
	// ListenerSet listeners follow in merge precedence, so the Gateway's
	// own listeners keep their indexes (and Kong entity names).
	for si := range t.sets {
		set := &t.sets[si]
		for i, l := range set.Specs {
			if i < len(set.Listeners) {
				add(l, set.Listeners[i], set)
			}
		}
	}
	t.attached = make([]map[RouteKey]bool, len(t.listeners))
	return t
}

func (t *translator) warnf(format string, args ...any) {
	t.warnings = append(t.warnings, fmt.Sprintf(format, args...))
}
