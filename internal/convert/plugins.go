package convert

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	"github.com/drawbridge-dev/drawbridge/api/v1alpha1"
)

var pluginNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// configFieldRE is what Drawbridge's configFrom accepts as a field path.
var configFieldRE = regexp.MustCompile(`^[a-z0-9_]+(\.[a-z0-9_]+)*$`)

// offDefaultAllowList are the bundled plugins that Drawbridge's default
// allow-list leaves out, and why.
var offDefaultAllowList = map[string]string{
	"pre-function":  "Drawbridge's default allow-list leaves it out (it runs arbitrary Lua), and on HTTP and gRPC routes it never runs because Drawbridge's own pre-function holds the name",
	"post-function": "Drawbridge's default allow-list leaves it out (it runs arbitrary Lua)",
	"file-log":      "Drawbridge's default allow-list leaves it out (it writes to a path its configuration names)",
}

func newKongPlugin(ns, name, plugin string) *v1alpha1.KongPlugin {
	return &v1alpha1.KongPlugin{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "KongPlugin"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       v1alpha1.KongPluginSpec{Plugin: plugin},
	}
}

func jsonConfig(v any) *apiextensionsv1.JSON {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("marshal plugin config: %v", err)) // maps of plain values always marshal
	}
	return &apiextensionsv1.JSON{Raw: raw}
}

// addPlugin records a KongPlugin that conversion generated.
func (c *converter) addPlugin(kp *v1alpha1.KongPlugin) {
	c.plugins[key(kp.Namespace, kp.Name)] = kp
}

// usePlugin returns the Drawbridge KongPlugin a route in ns reaches by
// name, converting KIC's KongPlugin of that name, or its KongClusterPlugin
// into ns, on first use. nil means there is none to apply (reported).
func (c *converter) usePlugin(ns, name, obj string) *v1alpha1.KongPlugin {
	if kp := c.plugins[key(ns, name)]; kp != nil {
		return kp
	}
	if p := c.kicPlugins[key(ns, name)]; p != nil {
		if p.Disabled {
			c.rep.add(objName("KongPlugin", ns, name), "disabled", "the plugin is disabled, so KIC did not apply it; it is not converted", "nothing to do, or remove it from konghq.com/plugins")
			return nil
		}
		kp := c.convertKICPlugin(p, ns, objName("KongPlugin", ns, name))
		if kp != nil {
			c.addPlugin(kp)
		}
		return kp
	}
	if p := c.clusterPlugins[name]; p != nil {
		cobj := objName("KongClusterPlugin", "", name)
		if p.Disabled {
			c.rep.add(cobj, "disabled", "the plugin is disabled, so KIC did not apply it; it is not converted", "nothing to do")
			return nil
		}
		c.rep.add(cobj, "kind", fmt.Sprintf("Drawbridge has no cluster-scoped plugin; it was converted to a KongPlugin %s/%s for the routes of that namespace", ns, name), "keep the copies in step when you change it, or make the platform's GatewayConfiguration run it on every route (spec.plugins.gateway)")
		kp := c.convertKICPlugin(p, ns, cobj)
		if kp != nil {
			c.addPlugin(kp)
		}
		return kp
	}
	c.rep.add(obj, kongPlugins+" "+name, fmt.Sprintf("no KongPlugin %s/%s or KongClusterPlugin %s in the input; KIC skips a plugin it cannot find, and so does the conversion", ns, name, name), "add the plugin's manifest with -f and convert again")
	return nil
}

// convertKICPlugin converts one KIC plugin into namespace ns.
func (c *converter) convertKICPlugin(p *KICPlugin, ns, obj string) *v1alpha1.KongPlugin {
	if !pluginNameRE.MatchString(p.PluginName) || len(p.PluginName) > 64 {
		c.rep.add(obj, "plugin", fmt.Sprintf("%q is not a plugin name Drawbridge accepts", p.PluginName), "fix the plugin name")
		return nil
	}
	kp := newKongPlugin(ns, p.Name, p.PluginName)
	if p.Config != nil && len(p.Config.Raw) > 0 && string(p.Config.Raw) != "null" {
		kp.Spec.Config = p.Config.DeepCopy()
	}
	if why, ok := offDefaultAllowList[p.PluginName]; ok {
		c.rep.add(obj, "plugin "+p.PluginName, why, "rewrite it as a custom plugin in the GatewayConfiguration's spec.plugins.custom, or allow it in spec.plugins.allowed where that works")
	}
	if p.ConfigFrom != nil {
		c.convertConfigFrom(p, kp, ns, obj)
	}
	if len(p.ConfigPatches) > 0 {
		c.rep.add(obj, "configPatches", "Drawbridge sets configuration fields from Secrets one by one, but takes no JSON patches; the patched fields are not set", "list each secret field in spec.configFrom (field and secretKeyRef) of the converted KongPlugin")
	}
	if len(p.Protocols) > 0 {
		c.rep.add(obj, "protocols", "Drawbridge runs a plugin on the protocols of the routes it is attached to", "attach it only to the routes whose protocols it should serve")
	}
	if len(p.Ordering) > 0 && string(p.Ordering) != "null" {
		c.rep.add(obj, "ordering", "Drawbridge runs plugins in Kong's own priority order; dynamic ordering is an enterprise Kong feature", "rely on Kong's plugin priorities")
	}
	if p.ConsumerRef != "" {
		c.rep.add(obj, "consumerRef", "Drawbridge has no per-consumer plugins", "give the consumer an acl group and split the routes, or drop the per-consumer setting")
	}
	if p.InstanceName != "" {
		c.rep.add(obj, "instance_name", "Drawbridge names Kong plugin instances itself", "nothing to do")
	}
	if p.RunOn != "" {
		c.rep.add(obj, "run_on", "run_on is a Kong mesh setting that open-source Kong 3.x no longer has", "remove it")
	}
	return kp
}

// convertConfigFrom maps KIC's whole-config-from-a-Secret onto Drawbridge's
// per-field configFrom: string fields go to a generated Secret, one key per
// field; other values, which configFrom cannot set (it sets strings), go
// to spec.config.
func (c *converter) convertConfigFrom(p *KICPlugin, kp *v1alpha1.KongPlugin, ns, obj string) {
	ref := p.ConfigFrom.SecretKeyRef
	sns := ns
	if ref.Namespace != "" {
		sns = ref.Namespace
	}
	s := c.secrets[key(sns, ref.Name)]
	field := fmt.Sprintf("configFrom.secretKeyRef %s/%s key %s", sns, ref.Name, ref.Key)
	if s == nil {
		c.rep.add(obj, field, "the whole configuration comes from a Secret that is not in the input, and Drawbridge's configFrom sets single fields from Secret keys; the KongPlugin was written without configuration", "add the Secret with -f and convert again, or list each field in spec.configFrom of the converted KongPlugin")
		return
	}
	raw, ok := secretValue(s, ref.Key)
	if !ok {
		c.rep.add(obj, field, "the Secret has no such key; the KongPlugin was written without configuration", "fix the key and convert again")
		return
	}
	var conf map[string]any
	if err := yaml.Unmarshal([]byte(raw), &conf); err != nil || conf == nil {
		c.rep.add(obj, field, "the Secret value is not a YAML or JSON object; the KongPlugin was written without configuration", "fix the Secret and convert again")
		return
	}
	strs := map[string]string{}
	var plainFields []string
	plain := splitConfig(conf, "", strs, &plainFields)
	if len(strs) > 16 {
		c.rep.add(obj, field, fmt.Sprintf("%d string fields, and configFrom takes at most 16; the KongPlugin was written without configuration", len(strs)), "move fields that are not secret into spec.config and keep at most 16 in configFrom")
		return
	}
	if len(plain) > 0 {
		kp.Spec.Config = jsonConfig(plain)
	}
	if len(strs) > 0 {
		secretName := objectName(kp.Name, "config")
		out := &corev1.Secret{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: metav1.ObjectMeta{Name: secretName, Namespace: ns},
			Type:       corev1.SecretTypeOpaque,
			StringData: strs,
		}
		c.secretsOut[key(ns, secretName)] = out
		for _, f := range slices.Sorted(maps.Keys(strs)) {
			kp.Spec.ConfigFrom = append(kp.Spec.ConfigFrom, v1alpha1.ConfigFieldFromSecret{Field: f, SecretKeyRef: v1alpha1.SecretKeySelector{Name: secretName, Key: f}})
		}
	}
	why := fmt.Sprintf("Drawbridge sets single fields from Secret keys; the string fields were written to a new Secret %s/%s, one key per field, and listed in spec.configFrom", ns, objectName(kp.Name, "config"))
	if len(plainFields) > 0 {
		sort.Strings(plainFields)
		why += fmt.Sprintf("; the other fields (%s), which configFrom cannot set, are now in the KongPlugin's spec.config in plain text", strings.Join(plainFields, ", "))
	}
	c.rep.add(obj, field, why, "review the generated Secret (it holds the values of the original one) and apply it with the KongPlugin")
}

// splitConfig moves string leaves (whose paths configFrom accepts) into
// strs and returns everything else.
func splitConfig(m map[string]any, prefix string, strs map[string]string, plainFields *[]string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		path := k
		if prefix != "" {
			path = prefix + "." + k
		}
		switch t := v.(type) {
		case string:
			if configFieldRE.MatchString(path) && len(path) <= 253 {
				strs[path] = t
				continue
			}
		case map[string]any:
			sub := splitConfig(t, path, strs, plainFields)
			if len(sub) > 0 {
				out[k] = sub
			}
			continue
		}
		*plainFields = append(*plainFields, path)
		out[k] = v
	}
	return out
}

// convertUnreferencedPlugins converts global plugins (label global: "true")
// to KongPlugins that target every Gateway, and reports the KIC plugins no
// route used.
func (c *converter) convertUnreferencedPlugins() {
	gwNames := make([]string, 0, len(c.gateways))
	for n := range c.gateways {
		gwNames = append(gwNames, n)
	}
	sort.Strings(gwNames)
	global := func(p *KICPlugin, obj string) {
		if len(gwNames) == 0 {
			c.rep.add(obj, "labels.global", "a global plugin applies to every route, and the input converts to no Gateway", "attach it to your Gateway with a KongPlugin targetRef, or with the GatewayConfiguration's spec.plugins.gateway")
			return
		}
		if p.Disabled {
			return
		}
		kp := c.convertKICPlugin(p, c.opts.GatewayNamespace, obj)
		if kp == nil {
			return
		}
		kp.Name = objectName("global", p.Name)
		for i, n := range gwNames {
			if i == 16 {
				break
			}
			kp.Spec.TargetRefs = append(kp.Spec.TargetRefs, gwv1.LocalPolicyTargetReferenceWithSectionName{LocalPolicyTargetReference: gwv1.LocalPolicyTargetReference{Group: gwv1.GroupName, Kind: "Gateway", Name: gwv1.ObjectName(n)}})
		}
		c.addPlugin(kp)
		c.rep.add(obj, "labels.global", fmt.Sprintf("converted to KongPlugin %s/%s with targetRefs to every converted Gateway: it reaches the routes of those Gateways, not every Kong route of the cluster, and not consumers", c.opts.GatewayNamespace, kp.Name), "the platform team may prefer the GatewayConfiguration's spec.plugins.gateway")
	}
	for i := range c.in.KongPlugins {
		p := &c.in.KongPlugins[i]
		obj := objName("KongPlugin", p.Namespace, p.Name)
		if p.Labels["global"] == "true" {
			global(p, obj)
			continue
		}
		if c.plugins[key(p.Namespace, p.Name)] == nil && !p.Disabled {
			c.rep.add(obj, "metadata.name", "no converted route or consumer uses it, so it was not converted", "add the objects that use it with -f, or attach it with targetRefs by hand")
			// Still report its fields that would not convert; drop any
			// Secret that configFrom would have generated.
			before := map[string]bool{}
			for k := range c.secretsOut {
				before[k] = true
			}
			c.convertKICPlugin(p, p.Namespace, obj)
			for k := range c.secretsOut {
				if !before[k] {
					delete(c.secretsOut, k)
				}
			}
		}
	}
	for i := range c.in.KongClusterPlugins {
		p := &c.in.KongClusterPlugins[i]
		obj := objName("KongClusterPlugin", "", p.Name)
		if p.Labels["global"] == "true" {
			global(p, obj)
			continue
		}
		used := false
		for _, kp := range c.plugins {
			if kp.Name == p.Name && c.kicPlugins[key(kp.Namespace, kp.Name)] == nil {
				used = true
			}
		}
		if !used && !p.Disabled {
			c.rep.add(obj, "metadata.name", "no converted route uses it, so it was not converted", "add the objects that use it with -f")
		}
	}
}

// credTypes maps KIC credential types (label konghq.com/credential, or
// the older kongCredType key) to Drawbridge's.
var credTypes = map[string]string{
	"key-auth": "key-auth", "keyauth_credential": "key-auth",
	"basic-auth": "basic-auth", "basicauth_credential": "basic-auth",
	"jwt": "jwt", "jwt_secret": "jwt",
	"hmac-auth": "hmac-auth", "hmacauth_credential": "hmac-auth",
	"acl": "acl",
}

// credKeys are the Secret keys Drawbridge reads per credential type.
var credKeys = map[string][]string{
	"key-auth":   {"key"},
	"basic-auth": {"username", "password"},
	"jwt":        {"key"},
	"hmac-auth":  {"username", "secret"},
	"acl":        {"group"},
}

func (c *converter) convertConsumers() {
	cons := make([]*KICConsumer, len(c.in.KongConsumers))
	for i := range c.in.KongConsumers {
		cons[i] = &c.in.KongConsumers[i]
	}
	sort.SliceStable(cons, func(a, b int) bool {
		return key(cons[a].Namespace, cons[a].Name) < key(cons[b].Namespace, cons[b].Name)
	})
	for _, kc := range cons {
		obj := objName("KongConsumer", kc.Namespace, kc.Name)
		if kc.Username == "" && kc.CustomID == "" {
			c.rep.add(obj, "username", "a consumer needs a username or a custom_id", "set one and convert again")
			continue
		}
		out := v1alpha1.KongConsumer{
			TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "KongConsumer"},
			ObjectMeta: metav1.ObjectMeta{Name: kc.Name, Namespace: kc.Namespace},
		}
		if kc.Username != "" {
			u := kc.Username
			out.Spec.Username = &u
		}
		if kc.CustomID != "" {
			id := kc.CustomID
			out.Spec.CustomID = &id
		}
		if v := kc.Annotations[kongPlugins]; v != "" {
			c.rep.add(obj, kongPlugins, fmt.Sprintf("Drawbridge has no per-consumer plugins (%s)", v), "give the consumer an acl group and put the plugins on routes that only that group may use")
		}
		if len(kc.ConsumerGroups) > 0 {
			c.rep.add(obj, "consumerGroups", "Drawbridge has no consumer groups (an enterprise Kong feature in 3.x)", "use acl groups (KongConsumer spec.groups)")
		}
		groups := map[string]bool{}
		for _, sn := range kc.Credentials {
			field := "credentials " + sn
			s := c.secrets[key(kc.Namespace, sn)]
			if s == nil {
				c.rep.add(obj, field, "the credential Secret is not in the input, so its type is unknown", "add the Secret with -f and convert again, or add the credential to the KongConsumer's spec.credentials by hand")
				continue
			}
			t := s.Labels["konghq.com/credential"]
			if t == "" {
				t, _ = secretValue(s, "kongCredType")
			}
			dt, ok := credTypes[strings.TrimSpace(t)]
			if !ok {
				c.rep.add(obj, field, fmt.Sprintf("credential type %q is not one Drawbridge has (key-auth, basic-auth, jwt, hmac-auth, and acl groups)", t), "authenticate these clients with one of those types")
				continue
			}
			missing := []string{}
			for _, k := range credKeys[dt] {
				if _, ok := secretValue(s, k); !ok {
					missing = append(missing, k)
				}
			}
			if dt == "jwt" {
				_, hasSecret := secretValue(s, "secret")
				_, hasRSA := secretValue(s, "rsa_public_key")
				if !hasSecret && !hasRSA {
					missing = append(missing, "secret or rsa_public_key")
				}
			}
			if len(missing) > 0 {
				c.rep.add(obj, field, fmt.Sprintf("the Secret lacks %s, which Drawbridge needs for %s (Kong generated missing values; Drawbridge does not)", strings.Join(missing, ", "), dt), "add the keys to the Secret")
				continue
			}
			if dt == "acl" {
				g, _ := secretValue(s, "group")
				for _, x := range splitList(g) {
					groups[x] = true
				}
				continue
			}
			if len(out.Spec.Credentials) == 16 {
				c.rep.add(obj, field, "a KongConsumer holds at most 16 credentials", "split the consumer")
				continue
			}
			out.Spec.Credentials = append(out.Spec.Credentials, v1alpha1.KongCredential{Type: dt, SecretName: sn})
		}
		for g := range groups {
			out.Spec.Groups = append(out.Spec.Groups, g)
		}
		sort.Strings(out.Spec.Groups)
		if len(out.Spec.Groups) > 32 {
			c.rep.add(obj, "acl credentials", "a KongConsumer holds at most 32 acl groups", "merge groups")
			out.Spec.Groups = out.Spec.Groups[:32]
		}
		c.out.KongConsumers = append(c.out.KongConsumers, out)
	}
	for _, g := range c.in.KongConsumerGroups {
		c.rep.add(objName("KongConsumerGroup", g.Namespace, g.Name), "kind", "Drawbridge has no consumer groups (an enterprise Kong feature in 3.x)", "use acl groups (KongConsumer spec.groups) and per-route plugins")
	}
}
