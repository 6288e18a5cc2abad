package translate

import (
	"time"

	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
	"github.com/drawbridge-dev/drawbridge/internal/kong"
)

// serviceBuild is a Kong service under construction; routes are pointers
// so priorities can be assigned after every route is known.
type serviceBuild struct {
	svc    kong.Service
	routes []*kong.Route
	// upstream is the rule's own upstream when the service may share it
	// (and itself) with other rules that send to the same backends; see
	// shareBackends. Nil for services that keep their upstream in
	// t.upstreams.
	upstream *kong.Upstream
	// backends names the resolved backends for the shared upstream's name
	// and tags.
	backends []resolvedBackend
}

// ruleService creates the Kong service and upstream for one route rule,
// named after the route and rule index. When the rule sends to at least one
// endpoint, shareBackends later merges them with every other rule's that
// sends to the same endpoints with the same settings.
func (t *translator) ruleService(meta *routeMeta, ruleIdx int, backends ruleBackends, proto backendProtocol, extraTags []string) *serviceBuild {
	name := entityName(meta.key.Kind, meta.key.Namespace, meta.key.Name, ruleIdx)
	tags := routeTags(meta, extraTags...)
	port := 80
	for _, b := range backends.resolved {
		port = int(b.port)
		break
	}
	up := kong.Upstream{Name: name, Tags: tags, Targets: backends.targets()}
	var own *kong.Upstream
	if len(up.Targets) > 0 {
		own = &up
	} else {
		t.upstreams = append(t.upstreams, up)
	}
	sb := &serviceBuild{upstream: own, backends: backends.resolved, svc: kong.Service{
		Name: name, Protocol: proto.kongProtocol, Host: name, Port: port, Tags: tags,
	}}
	if backends.tls != nil && proto.tlsProtocol != "" {
		sb.svc.Protocol = proto.tlsProtocol
		var protocols []string
		if proto.tlsProtocol == "tls" {
			protocols = []string{"tls"} // the schema default runs on HTTP only
		}
		sb.svc.Plugins = append(sb.svc.Plugins, t.backendTLSPlugin(backends.tls, protocols, tags))
		if t.clientCertID != "" {
			t.clientCertUsed = true
		}
	}
	t.kongServices = append(t.kongServices, sb)
	return sb
}

// finishRoute records the route-level outcome on every parentRef result of
// a route and counts the attachment when the route is programmed.
func (t *translator) finishRoute(meta *routeMeta, atts []attachment, resIdx []int, u *unsupported, problems []refProblem) {
	cond := resolvedRefsCondition(problems)
	for _, i := range resIdx {
		res := &t.results[i]
		res.ResolvedRefs = cond
		if u != nil && res.Accepted.Status == "True" {
			res.Accepted = gatewayapi.False("Accepted", string(u.reason), u.message)
			res.Listeners = nil
		}
	}
	if u == nil {
		t.countAttached(meta, atts)
	}
}

// parseTimeout converts a Gateway API duration to Kong milliseconds; zero
// means "no timeout", which is Kong's maximum.
func parseTimeout(field string, d string) (int, *unsupported) {
	v, err := time.ParseDuration(d)
	if err != nil || v < 0 {
		return 0, unsupportedf("%s %q is not a valid duration", field, d)
	}
	if v == 0 {
		return kong.MaxTimeoutMs, nil
	}
	ms := v.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	if ms > kong.MaxTimeoutMs {
		ms = kong.MaxTimeoutMs
	}
	return int(ms), nil
}

// setTimeouts applies a timeout to every Kong service timeout. Kong has no
// whole-request deadline, so timeouts.request is applied the same way as
// timeouts.backendRequest, which makes an idle upstream fail with 504 within
// the requested time; the smaller of the two wins.
func setTimeouts(svc *kong.Service, ms int) {
	svc.ConnectTimeout = kong.Int(ms)
	svc.ReadTimeout = kong.Int(ms)
	svc.WriteTimeout = kong.Int(ms)
}

func terminationPlugin(message string, tags []string) kong.Plugin {
	return kong.Plugin{Name: kong.PluginRequestTermination, Config: map[string]any{"status_code": 500, "message": message}, Tags: tags}
}
