package convert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"

	"sigs.k8s.io/yaml"
)

// finish builds the Gateways and sorts every list.
func (c *converter) finish() {
	names := make([]string, 0, len(c.gateways))
	for n := range c.gateways {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		g := c.gateways[n]
		if len(g.listeners) == 0 {
			continue
		}
		gw, grants := g.build(c.opts.GatewayClass, &c.rep)
		c.out.Gateways = append(c.out.Gateways, gw)
		c.out.ReferenceGrants = append(c.out.ReferenceGrants, grants...)
	}
	for _, k := range sortedPtrKeys(c.plugins) {
		c.out.KongPlugins = append(c.out.KongPlugins, *c.plugins[k])
	}
	sk := make([]string, 0, len(c.secretsOut))
	for k := range c.secretsOut {
		sk = append(sk, k)
	}
	sort.Strings(sk)
	for _, k := range sk {
		c.out.Secrets = append(c.out.Secrets, *c.secretsOut[k])
	}
	o := &c.out
	sort.SliceStable(o.HTTPRoutes, func(a, b int) bool {
		return key(o.HTTPRoutes[a].Namespace, o.HTTPRoutes[a].Name) < key(o.HTTPRoutes[b].Namespace, o.HTTPRoutes[b].Name)
	})
	sort.SliceStable(o.GRPCRoutes, func(a, b int) bool {
		return key(o.GRPCRoutes[a].Namespace, o.GRPCRoutes[a].Name) < key(o.GRPCRoutes[b].Namespace, o.GRPCRoutes[b].Name)
	})
	sort.SliceStable(o.ReferenceGrants, func(a, b int) bool {
		return key(o.ReferenceGrants[a].Namespace, o.ReferenceGrants[a].Name) < key(o.ReferenceGrants[b].Namespace, o.ReferenceGrants[b].Name)
	})
	c.checkNameClashes()
	o.Report = c.rep.sorted()
}

// checkNameClashes reports two generated routes of one kind and name.
func (c *converter) checkNameClashes() {
	seen := map[string]bool{}
	var keep = c.out.HTTPRoutes[:0]
	for _, r := range c.out.HTTPRoutes {
		k := key(r.Namespace, r.Name)
		if seen[k] {
			c.rep.add(objName("HTTPRoute", r.Namespace, r.Name), "metadata.name", "two Ingresses convert to routes of this name; the second was left out", "rename one Ingress and convert again")
			continue
		}
		seen[k] = true
		keep = append(keep, r)
	}
	c.out.HTTPRoutes = keep
}

func sortedPtrKeys[T any](m map[string]*T) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Objects returns every output object in apply order: Gateways and grants,
// Secrets, consumers and plugins, then routes.
func (o *Output) Objects() []any {
	var out []any
	for i := range o.Gateways {
		out = append(out, &o.Gateways[i])
	}
	for i := range o.ReferenceGrants {
		out = append(out, &o.ReferenceGrants[i])
	}
	for i := range o.Secrets {
		out = append(out, &o.Secrets[i])
	}
	for i := range o.KongConsumers {
		out = append(out, &o.KongConsumers[i])
	}
	for i := range o.KongPlugins {
		out = append(out, &o.KongPlugins[i])
	}
	for i := range o.HTTPRoutes {
		out = append(out, &o.HTTPRoutes[i])
	}
	for i := range o.GRPCRoutes {
		out = append(out, &o.GRPCRoutes[i])
	}
	for i := range o.TLSRoutes {
		out = append(out, &o.TLSRoutes[i])
	}
	for i := range o.TCPRoutes {
		out = append(out, &o.TCPRoutes[i])
	}
	for i := range o.UDPRoutes {
		out = append(out, &o.UDPRoutes[i])
	}
	return out
}

// MarshalObject renders one object as YAML without status and without
// the empty creationTimestamp that typed objects carry.
func MarshalObject(obj any) ([]byte, error) {
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	return yaml.Marshal(m)
}

// YAML renders objects as one multi-document stream.
func YAML(objs []any) ([]byte, error) {
	var buf bytes.Buffer
	for i, obj := range objs {
		y, err := MarshalObject(obj)
		if err != nil {
			return nil, fmt.Errorf("render object %d: %w", i+1, err)
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(y)
	}
	return buf.Bytes(), nil
}

// ReportText renders the report, one line per item.
func ReportText(items []Item) []byte {
	var buf bytes.Buffer
	for _, it := range items {
		buf.WriteString(it.String())
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

// Kind returns the kind of an output object.
func Kind(obj any) string {
	raw, _ := json.Marshal(obj)
	var tm struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	_ = json.Unmarshal(raw, &tm)
	return tm.Kind
}
