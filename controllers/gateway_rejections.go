package controllers

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drawbridge-dev/drawbridge/internal/dataplane"
	"github.com/drawbridge-dev/drawbridge/internal/translate"
)

// objectRef names a Kubernetes object that Kong entities are translated
// from, as Kong's entity tags name it.
type objectRef struct {
	Kind, Namespace, Name string
}

func (o objectRef) String() string { return o.Kind + " " + o.Namespace + "/" + o.Name }

// rejection is Kong's verdict on one object: why it was left out of the
// configuration, and which version of the object Kong saw, so an edit of
// the object gets a fresh chance.
type rejection struct {
	// Version is the route's generation or the Secret's/Service's
	// resourceVersion at the time of the rejection.
	Version string
	// Message carries Kong's own text.
	Message string
}

// rejections remembers, per Gateway, the objects Kong rejected. Without it
// every reconcile would first push the configuration Kong refuses (a full
// validation on every replica) before falling back.
type rejections struct {
	mu sync.Mutex
	m  map[types.NamespacedName]map[objectRef]rejection
}

// current returns the remembered rejections of a Gateway that still apply to
// the objects in the snapshot (same version); the others are forgotten. The
// map is never nil, so callers can add to it.
func (r *rejections) current(gw types.NamespacedName, versions map[objectRef]string) map[objectRef]rejection {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[objectRef]rejection{}
	for ref, rej := range r.m[gw] {
		if versions[ref] == rej.Version {
			out[ref] = rej
		} else {
			delete(r.m[gw], ref)
		}
	}
	return out
}

func (r *rejections) remember(gw types.NamespacedName, ref objectRef, rej rejection) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[types.NamespacedName]map[objectRef]rejection{}
	}
	if r.m[gw] == nil {
		r.m[gw] = map[objectRef]rejection{}
	}
	r.m[gw][ref] = rej
}

func (r *rejections) forget(gw types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m, gw)
}

// translation is what translating one Gateway's routes produced.
type translation struct {
	// routes are every route that names the Gateway, including excluded ones.
	routes []client.Object
	// full is the snapshot before exclusions.
	full   *translate.Snapshot
	result *translate.Result
	// versions of the objects in full that a rejection can name.
	versions map[objectRef]string
	// excluded are the objects left out because Kong rejected them.
	excluded map[objectRef]rejection
	// separateRoutes translates without merging Kong routes, once Kong
	// rejected a merged route, whose error names no single object.
	separateRoutes bool
}

// objectVersions lists the objects of a snapshot that a rejection can name,
// with the version a rejection is remembered against.
func objectVersions(routes []client.Object, snap *translate.Snapshot) map[objectRef]string {
	out := map[objectRef]string{}
	for _, obj := range routes {
		out[objectRef{kindOf(obj), obj.GetNamespace(), obj.GetName()}] = fmt.Sprint(obj.GetGeneration())
	}
	for _, s := range snap.Secrets {
		out[objectRef{"Secret", s.Namespace, s.Name}] = s.ResourceVersion
	}
	for _, s := range snap.Services {
		out[objectRef{"Service", s.Namespace, s.Name}] = s.ResourceVersion
	}
	// A plugin or consumer gets a fresh chance when it is edited; a change
	// of a Secret it reads is a change of that Secret's version.
	for _, p := range snap.KongPlugins {
		out[objectRef{kindKongPlugin, p.Namespace, p.Name}] = fmt.Sprint(p.Generation)
	}
	for _, c := range snap.KongConsumers {
		out[objectRef{kindKongConsumer, c.Namespace, c.Name}] = fmt.Sprint(c.Generation)
	}
	return out
}

// withoutRejected returns a copy of the snapshot without the rejected
// objects. A rejected backend Service takes the routes that use it out with
// it: leaving the route in with that backend missing would turn its traffic
// into errors that say nothing about Kong's verdict.
func withoutRejected(full *translate.Snapshot, routes []client.Object, excluded map[objectRef]rejection) *translate.Snapshot {
	if len(excluded) == 0 {
		return full
	}
	left := leftOut(routes, excluded)
	out := filterRoutes(full, func(ref objectRef) bool { _, gone := left[ref]; return !gone })
	out.Secrets = nil
	for _, s := range full.Secrets {
		if _, ok := excluded[objectRef{"Secret", s.Namespace, s.Name}]; !ok {
			out.Secrets = append(out.Secrets, s)
		}
	}
	// A rejected KongPlugin stays in the snapshot marked with Kong's
	// verdict: translation applies it nowhere, routes that name it in a
	// filter answer 500 and say why, and an access-control plugin attached
	// with targetRefs fails closed. Other routes and teams are untouched.
	out.RejectedKongPlugins = nil
	for _, p := range full.KongPlugins {
		if rej, ok := excluded[objectRef{kindKongPlugin, p.Namespace, p.Name}]; ok {
			if out.RejectedKongPlugins == nil {
				out.RejectedKongPlugins = map[translate.KongPluginKey]string{}
			}
			out.RejectedKongPlugins[translate.KongPluginKey{Namespace: p.Namespace, Name: p.Name}] = rej.Message
		}
	}
	// A rejected KongConsumer is left out: its credentials then open
	// nothing.
	out.KongConsumers = nil
	for _, c := range full.KongConsumers {
		if _, ok := excluded[objectRef{kindKongConsumer, c.Namespace, c.Name}]; !ok {
			out.KongConsumers = append(out.KongConsumers, c)
		}
	}
	return out
}

// leftOut maps every route that is left out of the configuration to the
// reason: Kong's verdict on the route itself or on one of its backends.
func leftOut(routes []client.Object, excluded map[objectRef]rejection) map[objectRef]string {
	out := map[objectRef]string{}
	for _, obj := range routes {
		ref := objectRef{kindOf(obj), obj.GetNamespace(), obj.GetName()}
		if rej, ok := excluded[ref]; ok {
			out[ref] = rej.Message
			continue
		}
		for _, backend := range routeBackendRefs(obj) {
			ns, name, _ := strings.Cut(backend, "/")
			svc := objectRef{"Service", ns, name}
			if rej, ok := excluded[svc]; ok {
				out[ref] = fmt.Sprintf("backend %s: %s", svc, rej.Message)
				break
			}
		}
	}
	return out
}

// filterRoutes returns a copy of the snapshot with only the routes keep
// admits.
func filterRoutes(full *translate.Snapshot, keep func(objectRef) bool) *translate.Snapshot {
	out := *full
	admit := func(kind string, o client.Object) bool { return keep(objectRef{kind, o.GetNamespace(), o.GetName()}) }
	out.HTTPRoutes = filterObjects(full.HTTPRoutes, "HTTPRoute", admit)
	out.GRPCRoutes = filterObjects(full.GRPCRoutes, "GRPCRoute", admit)
	out.TLSRoutes = filterObjects(full.TLSRoutes, "TLSRoute", admit)
	out.TCPRoutes = filterObjects(full.TCPRoutes, "TCPRoute", admit)
	out.UDPRoutes = filterObjects(full.UDPRoutes, "UDPRoute", admit)
	return &out
}

// filterObjects keeps the items of a typed list for which keep is true.
func filterObjects[T any, PT interface {
	*T
	client.Object
}](items []T, kind string, keep func(string, client.Object) bool) []T {
	var out []T
	for i := range items {
		if keep(kind, PT(&items[i])) {
			out = append(out, items[i])
		}
	}
	return out
}

// rejectsMergedRoute reports whether Kong's verdict is about a merged
// route (translate.MergedRouteTag), whose error cannot name one object.
func rejectsMergedRoute(ce *dataplane.ConfigError) bool {
	if ce == nil {
		return false
	}
	for _, e := range ce.Entities {
		if translate.MergedRouteTag(e.EntityTags) {
			return true
		}
	}
	return false
}

// newRejections turns Kong's verdict into rejections of the objects it
// names that are not excluded yet. Entities Kong did not tag with an object
// (or tagged with one the snapshot does not hold) cannot be excluded.
func newRejections(ce *dataplane.ConfigError, versions map[objectRef]string, excluded map[objectRef]rejection) map[objectRef]rejection {
	if ce == nil {
		return nil
	}
	messages := map[objectRef][]string{}
	for _, oe := range ce.Objects {
		ref := objectRef{oe.Kind, oe.Namespace, oe.Name}
		if !oe.Attributed() {
			continue
		}
		if _, known := versions[ref]; !known {
			continue
		}
		if _, done := excluded[ref]; done {
			continue
		}
		messages[ref] = append(messages[ref], oe.Message())
	}
	out := make(map[objectRef]rejection, len(messages))
	for ref, msgs := range messages {
		sort.Strings(msgs)
		out[ref] = rejection{Version: versions[ref], Message: strings.Join(msgs, "; ")}
	}
	return out
}

// rejectedSecretsOf returns, per listener name, Kong's verdict on the
// certificate Secret it serves, for the listener's status.
func rejectedSecretsOf(s *gatewayScope) map[string]string {
	if s.translation == nil {
		return nil
	}
	out := map[string]string{}
	for _, l := range s.listeners {
		for _, key := range l.Certificates {
			if rej, ok := s.translation.excluded[objectRef{"Secret", key.Namespace, key.Name}]; ok {
				out[string(l.Name)] = fmt.Sprintf("certificate Secret %s is not served: %s", key, rej.Message)
			}
		}
	}
	return out
}
