package translatecli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	"github.com/drawbridge-dev/drawbridge/api/v1alpha1"
	"github.com/drawbridge-dev/drawbridge/internal/translate"
	"github.com/drawbridge-dev/drawbridge/internal/yamlfast"
)

// Objects are the objects read from manifests, by kind.
type Objects struct {
	GatewayClasses []gwv1.GatewayClass
	Gateways       []gwv1.Gateway
	// GatewayConfigurations supply the plugin policy of the classes whose
	// parametersRef names them.
	GatewayConfigurations []v1alpha1.GatewayConfiguration
	Snapshot              translate.Snapshot // everything but Gateway and class
	// Skipped lists documents of kinds translation does not read.
	Skipped []string
}

// source names a document for error messages.
type source struct {
	file string
	doc  int
}

func (s source) String() string { return fmt.Sprintf("%s: document %d", s.file, s.doc) }

type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

// Decode reads a multi-document YAML (or JSON) stream. Unknown fields are
// errors that name the file, the object and the field.
func (o *Objects) Decode(file string, r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	return o.DecodeBytes(file, data)
}

// DecodeBytes is Decode for a stream already in memory.
func (o *Objects) DecodeBytes(file string, data []byte) error {
	return o.decodeStream(file, data, decodeBatch)
}

// decodeBatch is how many documents one goroutine decodes at a time.
const decodeBatch = 64

// decodeStream decodes the documents of a stream in batches, in parallel
// (decoding thousands of routes is most of what reading them costs), and
// then collects the batches in order, so objects, skipped documents and the
// first error come out as if decoded one after another.
func (o *Objects) decodeStream(file string, data []byte, batch int) error {
	// yamlfast splits documents as utilyaml.YAMLReader does, without
	// copying each line.
	reader := yamlfast.NewDocumentReader(data)
	var docs [][]byte
	var splitErr error
	for {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			splitErr = fmt.Errorf("%s: %w", source{file, len(docs) + 1}, err)
			break
		}
		docs = append(docs, raw)
	}
	batches := (len(docs) + batch - 1) / batch
	parts := make([]Objects, batches)
	errs := make([]error, batches)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), batches) {
		wg.Go(func() {
			var conv yamlfast.Converter
			for b := int(next.Add(1)) - 1; b < batches; b = int(next.Add(1)) - 1 {
				for i := b * batch; i < min((b+1)*batch, len(docs)); i++ {
					if errs[b] = parts[b].decodeDocument(source{file, i + 1}, docs[i], &conv); errs[b] != nil {
						break
					}
				}
			}
		})
	}
	wg.Wait()
	for b := range parts {
		o.appendAll(&parts[b])
		if errs[b] != nil {
			return errs[b]
		}
	}
	return splitErr
}

// decodeDocument decodes one document of a stream.
func (o *Objects) decodeDocument(src source, raw []byte, conv *yamlfast.Converter) error {
	if len(bytes.TrimSpace(raw)) == 0 || isOnlyComments(raw) {
		return nil
	}
	// The same JSON as yaml.YAMLToJSON, without its cost for the
	// block-style YAML manifests are written in.
	data, direct, err := conv.Convert(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	if string(data) == "null" {
		return nil
	}
	return o.decodeObject(src, data, direct)
}

// appendAll appends every list of p to the same list of o. Decoding only
// ever appends to the slices of Objects and its Snapshot, so this collects a
// batch completely; a field of another kind that decoding filled in would
// be a change this must learn about, hence the panic.
func (o *Objects) appendAll(p *Objects) {
	appendSlices(reflect.ValueOf(o).Elem(), reflect.ValueOf(p).Elem())
}

func appendSlices(dst, src reflect.Value) {
	for i := range dst.NumField() {
		d, s := dst.Field(i), src.Field(i)
		switch d.Kind() {
		case reflect.Slice:
			d.Set(reflect.AppendSlice(d, s))
		case reflect.Struct:
			appendSlices(d, s)
		default:
			if !s.IsZero() {
				panic(fmt.Sprintf("translatecli: decoding set %s.%s, which appendAll cannot collect", dst.Type(), dst.Type().Field(i).Name))
			}
		}
	}
}

func isOnlyComments(raw []byte) bool {
	for rest := raw; len(rest) > 0; {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		t := bytes.TrimSpace(line)
		if len(t) != 0 && t[0] != '#' && string(t) != "---" {
			return false
		}
	}
	return true
}

// decodeObject decodes one object from its JSON. JSON that yamlfast
// converted directly (see yamlfast.Converter.Convert) is decoded with
// encoding/json alone first: when that succeeds it yields what
// yaml.UnmarshalStrict would, and when it fails yaml.UnmarshalStrict runs as
// always, for its error messages and for the numbers and booleans it turns
// into strings where a field wants one.
func (o *Objects) decodeObject(src source, data []byte, direct bool) error {
	var tm typeMeta
	if err := json.Unmarshal(data, &tm); err != nil {
		return fmt.Errorf("%s: not a Kubernetes object: %w", src, err)
	}
	if tm.Kind == "" || tm.APIVersion == "" {
		return fmt.Errorf("%s: apiVersion and kind are required", src)
	}
	if tm.Kind == "List" {
		var list struct {
			Items []json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(data, &list); err != nil {
			return fmt.Errorf("%s (List): %w", src, err)
		}
		for _, item := range list.Items {
			if err := o.decodeObject(src, item, direct); err != nil {
				return err
			}
		}
		return nil
	}
	group, _, _ := strings.Cut(tm.APIVersion, "/")
	if !strings.Contains(tm.APIVersion, "/") {
		group = ""
	}
	name := fmt.Sprintf("%s %s", tm.Kind, tm.Metadata.Name)
	if tm.Metadata.Namespace != "" {
		name = fmt.Sprintf("%s %s/%s", tm.Kind, tm.Metadata.Namespace, tm.Metadata.Name)
	}
	where := fmt.Sprintf("%s (%s)", src, name)
	if tm.Metadata.Name == "" {
		return fmt.Errorf("%s: metadata.name is required", where)
	}
	strict := func(into any) error {
		if direct && decodeJSONStrict(data, into) == nil {
			return nil
		}
		reflect.ValueOf(into).Elem().SetZero() // forget what the failed attempt filled in
		if err := yaml.UnmarshalStrict(data, into); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		return nil
	}
	s := &o.Snapshot
	var err error
	switch {
	case group == gwv1.GroupName:
		switch tm.Kind {
		case "GatewayClass":
			var v gwv1.GatewayClass
			if err = strict(&v); err == nil {
				o.GatewayClasses = append(o.GatewayClasses, v)
			}
		case "Gateway":
			var v gwv1.Gateway
			if err = strict(&v); err == nil {
				defaultNamespace(&v.ObjectMeta.Namespace)
				err = validateGateway(where, &v)
				o.Gateways = append(o.Gateways, v)
			}
		case "HTTPRoute":
			var v gwv1.HTTPRoute
			if err = strict(&v); err == nil {
				defaultNamespace(&v.Namespace)
				err = validateParentRefs(where, v.Spec.ParentRefs)
				s.HTTPRoutes = append(s.HTTPRoutes, v)
			}
		case "GRPCRoute":
			var v gwv1.GRPCRoute
			if err = strict(&v); err == nil {
				defaultNamespace(&v.Namespace)
				err = validateParentRefs(where, v.Spec.ParentRefs)
				s.GRPCRoutes = append(s.GRPCRoutes, v)
			}
		case "TLSRoute":
			var v gwv1.TLSRoute
			if err = strict(&v); err == nil {
				defaultNamespace(&v.Namespace)
				err = validateParentRefs(where, v.Spec.ParentRefs)
				s.TLSRoutes = append(s.TLSRoutes, v)
			}
		case "TCPRoute":
			var v gwv1.TCPRoute
			if err = strict(&v); err == nil {
				defaultNamespace(&v.Namespace)
				err = validateParentRefs(where, v.Spec.ParentRefs)
				s.TCPRoutes = append(s.TCPRoutes, v)
			}
		case "UDPRoute":
			var v gwv1.UDPRoute
			if err = strict(&v); err == nil {
				defaultNamespace(&v.Namespace)
				err = validateParentRefs(where, v.Spec.ParentRefs)
				s.UDPRoutes = append(s.UDPRoutes, v)
			}
		case "ListenerSet":
			var v gwv1.ListenerSet
			if err = strict(&v); err == nil {
				defaultNamespace(&v.Namespace)
				err = validateListenerSet(where, &v)
				s.ListenerSets = append(s.ListenerSets, v)
			}
		case "ReferenceGrant":
			var v gwv1.ReferenceGrant
			if err = strict(&v); err == nil {
				defaultNamespace(&v.Namespace)
				s.ReferenceGrants = append(s.ReferenceGrants, v)
			}
		case "BackendTLSPolicy":
			var v gwv1.BackendTLSPolicy
			if err = strict(&v); err == nil {
				defaultNamespace(&v.Namespace)
				s.BackendTLSPolicies = append(s.BackendTLSPolicies, v)
			}
		default:
			o.Skipped = append(o.Skipped, where)
		}
	case group == v1alpha1.GroupVersion.Group:
		switch tm.Kind {
		case "KongPlugin":
			var v v1alpha1.KongPlugin
			if err = strict(&v); err == nil {
				defaultNamespace(&v.Namespace)
				s.KongPlugins = append(s.KongPlugins, v)
			}
		case "KongConsumer":
			var v v1alpha1.KongConsumer
			if err = strict(&v); err == nil {
				defaultNamespace(&v.Namespace)
				s.KongConsumers = append(s.KongConsumers, v)
			}
		case "GatewayConfiguration":
			var v v1alpha1.GatewayConfiguration
			if err = strict(&v); err == nil {
				defaultNamespace(&v.Namespace)
				o.GatewayConfigurations = append(o.GatewayConfigurations, v)
			}
		default:
			o.Skipped = append(o.Skipped, where)
		}
	case group == "" && tm.Kind == "Service":
		var v corev1.Service
		if err = strict(&v); err == nil {
			defaultNamespace(&v.Namespace)
			s.Services = append(s.Services, v)
		}
	case group == "" && tm.Kind == "Secret":
		var v corev1.Secret
		if err = strict(&v); err == nil {
			defaultNamespace(&v.Namespace)
			// The API server folds stringData into data; do the same so
			// manifests can carry readable PEM.
			for k, val := range v.StringData {
				if v.Data == nil {
					v.Data = map[string][]byte{}
				}
				v.Data[k] = []byte(val)
			}
			v.StringData = nil
			s.Secrets = append(s.Secrets, v)
		}
	case group == "" && tm.Kind == "ConfigMap":
		// CA bundles of spec.tls.frontend and of BackendTLSPolicies; other
		// ConfigMaps are harmless.
		var v corev1.ConfigMap
		if err = strict(&v); err == nil {
			defaultNamespace(&v.Namespace)
			s.ConfigMaps = append(s.ConfigMaps, v)
		}
	case group == "" && tm.Kind == "Namespace":
		var v corev1.Namespace
		if err = strict(&v); err == nil {
			s.Namespaces = append(s.Namespaces, v)
		}
	case group == "discovery.k8s.io" && tm.Kind == "EndpointSlice":
		var v discoveryv1.EndpointSlice
		if err = strict(&v); err == nil {
			defaultNamespace(&v.Namespace)
			s.EndpointSlices = append(s.EndpointSlices, v)
		}
	default:
		o.Skipped = append(o.Skipped, where)
	}
	return err
}

// decodeJSONStrict decodes like yaml.UnmarshalStrict's last step: unknown
// fields are errors.
func decodeJSONStrict(data []byte, into any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(into)
}

func defaultNamespace(ns *string) {
	if *ns == "" {
		*ns = "default"
	}
}

// validateGateway checks the fields translation cannot do without, which
// the API server's schema would normally enforce.
func validateGateway(where string, gw *gwv1.Gateway) error {
	if gw.Spec.GatewayClassName == "" {
		return fmt.Errorf("%s: spec.gatewayClassName is required", where)
	}
	seen := map[gwv1.SectionName]bool{}
	for i, l := range gw.Spec.Listeners {
		if err := validateListener(where, i, l.Name, l.Port, l.Protocol, seen); err != nil {
			return err
		}
	}
	return nil
}

// validateListener checks one listener of a Gateway or a ListenerSet (the
// two are different types with the same fields): a name unique among seen,
// a port and a protocol.
func validateListener(where string, i int, name gwv1.SectionName, port gwv1.PortNumber, protocol gwv1.ProtocolType, seen map[gwv1.SectionName]bool) error {
	switch {
	case name == "":
		return fmt.Errorf("%s: spec.listeners[%d].name is required", where, i)
	case seen[name]:
		return fmt.Errorf("%s: spec.listeners[%d].name %q is not unique", where, i, name)
	case port < 1 || port > 65535:
		return fmt.Errorf("%s: spec.listeners[%d].port %d must be in 1..65535", where, i, port)
	case protocol == "":
		return fmt.Errorf("%s: spec.listeners[%d].protocol is required", where, i)
	}
	seen[name] = true
	return nil
}

// validateListenerSet checks what the API server's schema would: a parent
// name and unique, complete listeners.
func validateListenerSet(where string, ls *gwv1.ListenerSet) error {
	if ls.Spec.ParentRef.Name == "" {
		return fmt.Errorf("%s: spec.parentRef.name is required", where)
	}
	seen := map[gwv1.SectionName]bool{}
	for i, l := range ls.Spec.Listeners {
		if err := validateListener(where, i, l.Name, l.Port, l.Protocol, seen); err != nil {
			return err
		}
	}
	return nil
}

func validateParentRefs(where string, refs []gwv1.ParentReference) error {
	for i, r := range refs {
		if r.Name == "" {
			return fmt.Errorf("%s: spec.parentRefs[%d].name is required", where, i)
		}
	}
	return nil
}

// GatewaySnapshot is the snapshot of one Gateway.
type GatewaySnapshot struct {
	Name     string // namespace/name
	Snapshot *translate.Snapshot
}

// Snapshots builds one snapshot per Gateway, ordered by namespace/name. A
// Gateway whose class is missing or not ours is reported in skipped.
func (o *Objects) Snapshots() (snaps []GatewaySnapshot, skipped []string) {
	gws := append([]gwv1.Gateway(nil), o.Gateways...)
	sort.Slice(gws, func(i, j int) bool {
		if gws[i].Namespace != gws[j].Namespace {
			return gws[i].Namespace < gws[j].Namespace
		}
		return gws[i].Name < gws[j].Name
	})
	for i := range gws {
		gw := &gws[i]
		name := gw.Namespace + "/" + gw.Name
		var class *gwv1.GatewayClass
		for j := range o.GatewayClasses {
			if o.GatewayClasses[j].Name == string(gw.Spec.GatewayClassName) {
				class = &o.GatewayClasses[j]
			}
		}
		if class == nil {
			skipped = append(skipped, fmt.Sprintf("Gateway %s: GatewayClass %q is not in the input", name, gw.Spec.GatewayClassName))
			continue
		}
		snap := o.Snapshot
		snap.Gateway = gw
		snap.GatewayClass = class
		snap.Plugins = o.pluginPolicy(class)
		snaps = append(snaps, GatewaySnapshot{Name: name, Snapshot: &snap})
	}
	return snaps, skipped
}

// pluginPolicy reads the plugin policy from the GatewayConfiguration a
// class's parametersRef names. Offline translation does not merge a
// Gateway's own configuration (internal/provision does that in the
// controller).
func (o *Objects) pluginPolicy(class *gwv1.GatewayClass) translate.PluginPolicy {
	ref := class.Spec.ParametersRef
	if ref == nil || string(ref.Group) != v1alpha1.GroupVersion.Group || ref.Kind != "GatewayConfiguration" || ref.Namespace == nil {
		return translate.PluginPolicy{}
	}
	for i := range o.GatewayConfigurations {
		c := &o.GatewayConfigurations[i]
		if c.Namespace != string(*ref.Namespace) || c.Name != ref.Name || c.Spec.Plugins == nil {
			continue
		}
		p := translate.PluginPolicy{Allowed: c.Spec.Plugins.Allowed, Gateway: c.Spec.Plugins.Gateway}
		for _, cp := range c.Spec.Plugins.Custom {
			p.Custom = append(p.Custom, cp.Name)
		}
		return p
	}
	return translate.PluginPolicy{}
}
