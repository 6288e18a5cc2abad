package provision

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/api/v1alpha1"
	"github.com/drawbridge-dev/drawbridge/internal/kong"
	"github.com/drawbridge-dev/drawbridge/internal/kong/luaplugins"
)

// DefaultAllowedPlugins is the allow-list when no GatewayConfiguration sets
// one: every bundled plugin but the unsafe ones (internal/kong), plus the
// custom plugins.
func DefaultAllowedPlugins(custom []string) []string {
	out := kong.DefaultAllowedPlugins()
	for _, c := range custom {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// Plugins is the merged plugin policy of one Gateway.
type Plugins struct {
	// Allowed is nil for the default allow-list (DefaultAllowedPlugins);
	// a non-nil empty list allows nothing.
	Allowed []string
	// Gateway and Custom come from the GatewayClass's configuration only.
	Gateway []v1alpha1.GatewayPlugin
	Custom  []v1alpha1.CustomPlugin
	// Ignored says what of the Gateway's own configuration was not used,
	// for an event on the Gateway.
	Ignored []string
}

// CustomNames are the names of the custom plugins, in configuration order.
func (p Plugins) CustomNames() []string {
	out := make([]string, 0, len(p.Custom))
	for _, c := range p.Custom {
		out = append(out, c.Name)
	}
	return out
}

// HasGatewayPlugin reports whether a Gateway-wide plugin of that name runs.
func (p Plugins) HasGatewayPlugin(name string) bool {
	for _, g := range p.Gateway {
		if g.Plugin == name {
			return true
		}
	}
	return false
}

// mergePlugins: the class layer sets everything; the Gateway layer can only
// narrow the allow-list (intersection with the class's list, or with the
// default list when the class sets none).
func mergePlugins(class, gateway *v1alpha1.PluginsConfig) Plugins {
	var out Plugins
	if class != nil {
		c := class.DeepCopy()
		out.Allowed, out.Gateway, out.Custom = c.Allowed, c.Gateway, c.Custom
	}
	if gateway == nil {
		return out
	}
	if gateway.Allowed != nil {
		base := out.Allowed
		if base == nil {
			base = DefaultAllowedPlugins(out.CustomNames())
		}
		narrowed := []string{}
		for _, p := range base {
			if slices.Contains(gateway.Allowed, p) {
				narrowed = append(narrowed, p)
			}
		}
		out.Allowed = narrowed
	}
	if len(gateway.Gateway) > 0 {
		out.Ignored = append(out.Ignored, "plugins.gateway of the Gateway's own GatewayConfiguration is ignored: only the GatewayClass's configuration may add Gateway-wide plugins")
	}
	if len(gateway.Custom) > 0 {
		out.Ignored = append(out.Ignored, "plugins.custom of the Gateway's own GatewayConfiguration is ignored: only the GatewayClass's configuration may add custom plugins")
	}
	return out
}

// Paths and names of custom plugins in the data plane.
const (
	// CustomPluginsDir is the root of the Lua tree the custom plugins are
	// mounted in: plugin <name> lives in kong/plugins/<name>/.
	CustomPluginsDir = "/opt/drawbridge/plugins"
	// AnnotationCustomPlugins on the pod template carries a hash of the
	// custom plugins' files: Kong loads Lua at start, so new files roll the
	// pods.
	AnnotationCustomPlugins = "gateway.drawbridge.dev/custom-plugins"
	// LabelCustomPlugin on a ConfigMap copy names the plugin it carries.
	LabelCustomPlugin = "gateway.drawbridge.dev/custom-plugin"
	// LabelMetrics marks the Service that exposes a data plane's
	// Prometheus metrics (select it from a ServiceMonitor).
	LabelMetrics = "gateway.drawbridge.dev/metrics"
	// MetricsPortName is the Service port with Kong's /metrics.
	MetricsPortName = "metrics"
)

// CustomPluginSource is the content of one custom plugin's ConfigMap, as
// the controller read it from the GatewayConfiguration's namespace.
type CustomPluginSource struct {
	Name       string            `json:"name"`
	Data       map[string]string `json:"data,omitempty"`
	BinaryData map[string][]byte `json:"binaryData,omitempty"`
}

// CustomPluginConfigMapName is the name of the copy of a custom plugin's
// ConfigMap in the Gateway's namespace. Plugin names may hold "_", which
// object names may not: such names get a hash so a_b and a-b stay apart.
func CustomPluginConfigMapName(names Names, plugin string) string {
	name := names.DataPlane + "-plugin-" + strings.ReplaceAll(plugin, "_", "-")
	if strings.Contains(plugin, "_") {
		name += "-" + shortHash(plugin)
	}
	return name
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:hashLength]
}

// customPlugins renders the ConfigMap copies, volumes, mounts and env of
// the custom plugins, and a hash of their content.
func customPlugins(in Input, names Names) (cms []*corev1.ConfigMap, vols []corev1.Volume, mounts []corev1.VolumeMount, hash string, err error) {
	custom := in.Config.Plugins.Custom
	if len(custom) == 0 {
		return nil, nil, nil, "", nil
	}
	sources := map[string]CustomPluginSource{}
	for _, s := range in.CustomPlugins {
		sources[s.Name] = s
	}
	h := sha256.New()
	for _, c := range custom {
		if kong.IsBundledPlugin(c.Name) {
			return nil, nil, nil, "", fmt.Errorf("plugins.custom %s: a plugin bundled with Kong has that name; choose another", c.Name)
		}
		if strings.HasPrefix(c.Name, luaplugins.Prefix) {
			return nil, nil, nil, "", fmt.Errorf("plugins.custom %s: names starting with %q are reserved for Drawbridge's own plugins; choose another", c.Name, luaplugins.Prefix)
		}
		src, ok := sources[c.Name]
		if !ok {
			return nil, nil, nil, "", fmt.Errorf("plugins.custom %s: ConfigMap %s was not found", c.Name, c.ConfigMapName)
		}
		if len(src.Data)+len(src.BinaryData) == 0 {
			return nil, nil, nil, "", fmt.Errorf("plugins.custom %s: ConfigMap %s holds no files (want handler.lua and schema.lua)", c.Name, c.ConfigMapName)
		}
		cmName := CustomPluginConfigMapName(names, c.Name)
		meta := objectMeta(in.Gateway, cmName, map[string]string{LabelCustomPlugin: labelValue(c.Name)}, nil)
		cm := &corev1.ConfigMap{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
			ObjectMeta: meta,
			Data:       cloneStrings(src.Data),
			BinaryData: cloneBytes(src.BinaryData),
		}
		cms = append(cms, cm)
		vol := "plugin-" + shortHash(c.Name)
		vols = append(vols, corev1.Volume{Name: vol, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: cmName}, DefaultMode: ptr.To(int32(0o444)),
		}}})
		mounts = append(mounts, corev1.VolumeMount{Name: vol, MountPath: CustomPluginsDir + "/kong/plugins/" + c.Name, ReadOnly: true})
		fmt.Fprintf(h, "plugin %s\n", c.Name)
		for _, k := range slices.Sorted(maps.Keys(src.Data)) {
			fmt.Fprintf(h, "%s %d %s\n", k, len(src.Data[k]), src.Data[k])
		}
		for _, k := range slices.Sorted(maps.Keys(src.BinaryData)) {
			fmt.Fprintf(h, "%s %d %s\n", k, len(src.BinaryData[k]), src.BinaryData[k])
		}
	}
	return cms, vols, mounts, hex.EncodeToString(h.Sum(nil))[:16], nil
}

// labelValue keeps a plugin name usable as a label value (at most 63
// characters, which plugin names are).
func labelValue(s string) string {
	if len(s) > 63 {
		return s[:63]
	}
	return s
}

// metricsService exposes Kong's /metrics (served on the status listener
// while the prometheus plugin runs) to Prometheus: headless, so every
// replica is scraped, with a port named "metrics".
func metricsService(gw *gwv1.Gateway, names Names) *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: objectMeta(gw, names.Metrics, map[string]string{LabelMetrics: "prometheus"}, nil),
		Spec: corev1.ServiceSpec{
			Type:      corev1.ServiceTypeClusterIP,
			ClusterIP: corev1.ClusterIPNone,
			Selector:  SelectorLabels(gw),
			Ports: []corev1.ServicePort{{
				Name: MetricsPortName, Protocol: corev1.ProtocolTCP, Port: StatusPort, TargetPort: intstr.FromString(StatusPortName),
			}},
		},
	}
}

func cloneStrings(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func cloneBytes(m map[string][]byte) map[string][]byte {
	if m == nil {
		return nil
	}
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		out[k] = append([]byte(nil), v...)
	}
	return out
}

// renderedPlugins is what Drawbridge's own plugins and the custom plugins
// add to a data plane.
type renderedPlugins struct {
	configMaps []*corev1.ConfigMap
	volumes    []corev1.Volume
	mounts     []corev1.VolumeMount
	env        []corev1.EnvVar
	// hash identifies the custom plugins' files ("" without any);
	// builtinHash Drawbridge's own (luaplugins.Hash).
	hash, builtinHash string
}

// Drawbridge's own plugins in the data plane.
const (
	// BuiltinPluginsDir is the Lua root Drawbridge's own plugins are
	// mounted under (kong/plugins/<name>/ inside it).
	BuiltinPluginsDir = "/opt/drawbridge/builtin"
	// AnnotationBuiltinPlugins on the pod template carries luaplugins.Hash:
	// an operator upgrade that changes the plugins rolls the pods.
	AnnotationBuiltinPlugins = "gateway.drawbridge.dev/drawbridge-plugins"
	// builtinPluginsLabel is the LabelCustomPlugin value of the ConfigMap
	// that carries them (no custom plugin can have this name: the prefix
	// is reserved).
	builtinPluginsLabel = "drawbridge"
)

// BuiltinPluginsConfigMapName is the ConfigMap in the Gateway's namespace
// that carries Drawbridge's own plugins to its pods.
func BuiltinPluginsConfigMapName(names Names) string {
	return names.DataPlane + "-drawbridge-plugins"
}

// builtinPlugins renders the ConfigMap, volume and mount of Drawbridge's
// own plugins: every data plane has them, so every route can use them.
func builtinPlugins(in Input, names Names) (*corev1.ConfigMap, corev1.Volume, corev1.VolumeMount) {
	files := luaplugins.Files()
	data := make(map[string]string, len(files))
	items := make([]corev1.KeyToPath, 0, len(files))
	for _, f := range files {
		key := luaplugins.ConfigMapKey(f)
		data[key] = string(f.Data)
		items = append(items, corev1.KeyToPath{Key: key, Path: luaplugins.InstallPath(f)})
	}
	cmName := BuiltinPluginsConfigMapName(names)
	cm := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: objectMeta(in.Gateway, cmName, map[string]string{LabelCustomPlugin: builtinPluginsLabel}, nil),
		Data:       data,
	}
	vol := corev1.Volume{Name: "drawbridge-plugins", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: cmName}, Items: items, DefaultMode: ptr.To(int32(0o444)),
	}}}
	mount := corev1.VolumeMount{Name: vol.Name, MountPath: BuiltinPluginsDir, ReadOnly: true}
	return cm, vol, mount
}

func renderCustomPlugins(in Input, names Names) (renderedPlugins, error) {
	cms, vols, mounts, hash, err := customPlugins(in, names)
	if err != nil {
		return renderedPlugins{}, err
	}
	cm, vol, mount := builtinPlugins(in, names)
	luaPath := BuiltinPluginsDir + "/?.lua;" + BuiltinPluginsDir + "/?/init.lua;"
	if len(cms) > 0 {
		luaPath += CustomPluginsDir + "/?.lua;" + CustomPluginsDir + "/?/init.lua;"
	}
	loaded := append(append([]string{"bundled"}, luaplugins.Names()...), in.Config.Plugins.CustomNames()...)
	env := []corev1.EnvVar{
		{Name: "KONG_PLUGINS", Value: strings.Join(loaded, ",")},
		// ";;" stands for Kong's own path.
		{Name: "KONG_LUA_PACKAGE_PATH", Value: luaPath + ";"},
	}
	return renderedPlugins{
		configMaps:  append([]*corev1.ConfigMap{cm}, cms...),
		volumes:     append([]corev1.Volume{vol}, vols...),
		mounts:      append([]corev1.VolumeMount{mount}, mounts...),
		env:         env,
		hash:        hash,
		builtinHash: luaplugins.Hash(),
	}, nil
}
