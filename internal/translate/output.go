package translate

import (
	"fmt"
	"sort"

	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
	"github.com/drawbridge-dev/drawbridge/internal/kong"
)

// placeholderUpstream keeps an otherwise empty config non-empty: Kong's
// /status/ready stays 503 on an empty configuration, and a Gateway without
// routes must still become ready.
const placeholderUpstream = "drawbridge-empty-config"

// result assembles the config in a canonical order and encodes it.
func (t *translator) result(certs []kong.Certificate) (*Result, error) {
	cfg := &kong.Config{FormatVersion: kong.FormatVersion, Certificates: certs}
	t.shareBackends()
	t.mergeRoutes()
	sort.Slice(t.kongServices, func(i, j int) bool { return t.kongServices[i].svc.Name < t.kongServices[j].svc.Name })
	for _, sb := range t.kongServices {
		svc := sb.svc
		for _, r := range sb.routes {
			svc.Routes = append(svc.Routes, *r)
		}
		cfg.Services = append(cfg.Services, svc)
	}
	sort.Slice(t.upstreams, func(i, j int) bool { return t.upstreams[i].Name < t.upstreams[j].Name })
	cfg.Upstreams = t.upstreams
	cfg.Plugins = append(t.globalPlugins(), t.clientCertPlugins()...)
	taken := map[string]bool{}
	for _, p := range cfg.Plugins {
		taken[p.Name] = true
	}
	cfg.Plugins = append(cfg.Plugins, t.gatewayPlugins(taken)...)
	cfg.Consumers = t.consumers()
	if len(cfg.Services) == 0 && len(cfg.Upstreams) == 0 && len(cfg.Certificates) == 0 {
		cfg.Upstreams = []kong.Upstream{{Name: placeholderUpstream, Tags: []string{"drawbridge-placeholder"}}}
	}
	data, err := cfg.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encode Kong config for Gateway %s/%s: %w", t.gw.Namespace, t.gw.Name, err)
	}
	res := &Result{Config: cfg, JSON: data, Routes: t.results, Warnings: t.warnings,
		KongPlugins: t.pluginResults(), KongConsumers: t.consumerResults,
		BackendTLSPolicies: t.backendTLSResults(), BackendClientCertificate: t.clientCertCond}
	if c, ok := gatewayapi.InsecureFrontendValidation(t.gw); ok {
		res.GatewayConditions = append(res.GatewayConditions, c)
	}
	sets := map[*gatewayapi.ListenerSetResult]*ListenerSetStatus{}
	res.ListenerSets = make([]ListenerSetStatus, len(t.sets))
	for i := range t.sets {
		res.ListenerSets[i].Verdict = t.sets[i]
		sets[&t.sets[i]] = &res.ListenerSets[i]
	}
	for i, l := range t.listeners {
		st := ListenerStatus{Name: l.spec.Name, AttachedRoutes: int32(len(t.attached[i])), Verdict: l.verdict}
		if l.set != nil {
			sets[l.set].Listeners = append(sets[l.set].Listeners, st)
			continue
		}
		res.Listeners = append(res.Listeners, st)
	}
	return res, nil
}
