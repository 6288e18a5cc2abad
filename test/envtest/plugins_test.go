package envtest

import (
	"context"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/api/v1alpha1"
	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
	"github.com/drawbridge-dev/drawbridge/internal/kong/luaplugins"
	"github.com/drawbridge-dev/drawbridge/internal/provision"
)

var _ = Describe("KongPlugin and KongConsumer admission (CEL and schema)", func() {
	ctx := context.Background()
	It("refuses a consumer without username or customID", func() {
		err := k8s.Create(ctx, &v1alpha1.KongConsumer{ObjectMeta: metav1.ObjectMeta{Name: unique("kc"), Namespace: "default"},
			Spec: v1alpha1.KongConsumerSpec{Groups: []string{"gold"}}})
		Expect(err).To(MatchError(ContainSubstring("a consumer needs a username or a customID")))
	})
	It("refuses an unknown credential type", func() {
		err := k8s.Create(ctx, &v1alpha1.KongConsumer{ObjectMeta: metav1.ObjectMeta{Name: unique("kc"), Namespace: "default"},
			Spec: v1alpha1.KongConsumerSpec{Username: ptr.To("alice"), Credentials: []v1alpha1.KongCredential{{Type: "oauth2", SecretName: "s"}}}})
		Expect(err).To(MatchError(ContainSubstring("credentials[0].type")))
	})
	It("refuses a plugin name Kong could not have", func() {
		err := k8s.Create(ctx, &v1alpha1.KongPlugin{ObjectMeta: metav1.ObjectMeta{Name: unique("kp"), Namespace: "default"},
			Spec: v1alpha1.KongPluginSpec{Plugin: "Rate Limiting"}})
		Expect(err).To(MatchError(ContainSubstring("spec.plugin")))
	})
	It("accepts a plugin with configuration, configFrom and targetRefs", func() {
		Expect(k8s.Create(ctx, &v1alpha1.KongPlugin{ObjectMeta: metav1.ObjectMeta{Name: unique("kp"), Namespace: "default"},
			Spec: v1alpha1.KongPluginSpec{
				Plugin: "rate-limiting", Config: rawJSON(`{"minute":5,"policy":"redis","redis":{"host":"redis"}}`),
				ConfigFrom: []v1alpha1.ConfigFieldFromSecret{{Field: "redis.password", SecretKeyRef: v1alpha1.SecretKeySelector{Name: "redis", Key: "password"}}},
				TargetRefs: []gwv1.LocalPolicyTargetReferenceWithSectionName{{LocalPolicyTargetReference: gwv1.LocalPolicyTargetReference{
					Group: gwv1.GroupName, Kind: "HTTPRoute", Name: "web"}}},
			}})).To(Succeed())
	})
})

var _ = Describe("KongPlugin status", func() {
	It("drops this Gateway's stale ancestor entry and keeps the others", func() {
		ns, gw := acceptedGatewayForPlugins()
		// Until translation judges plugins, this Gateway has no verdict on
		// it: its old entry must go, another controller's and another
		// Gateway's stay.
		plugin := pluginWithAncestors(ns,
			ancestorEntry{gw.Name, gatewayapi.ControllerName},
			ancestorEntry{gw.Name, "example.com/other"},
			ancestorEntry{"elsewhere", gatewayapi.ControllerName})
		Eventually(pluginAncestors(ns, plugin.Name)).Should(SatisfyAll(HaveLen(2),
			ContainElement(HaveField("ControllerName", gwv1.GatewayController("example.com/other"))),
			ContainElement(HaveField("AncestorRef.Name", gwv1.ObjectName("elsewhere")))))
	})

	It("removes its last ancestor entry, leaving status.ancestors empty (the field is required)", func() {
		ns, gw := acceptedGatewayForPlugins()
		plugin := pluginWithAncestors(ns, ancestorEntry{gw.Name, gatewayapi.ControllerName})
		Eventually(pluginAncestors(ns, plugin.Name)).Should(BeEmpty())
	})
})

// acceptedGatewayForPlugins is a Gateway of a class of its own in a new
// namespace, once it is Accepted.
func acceptedGatewayForPlugins() (string, *gwv1.Gateway) {
	ns := newNamespace()
	class := newClass(nil)
	gw := newGateway(ns, class.Name, nil)
	Eventually(gatewayCondition(gw, "Accepted")).Should(haveCondition(metav1.ConditionTrue, "Accepted"))
	return ns, gw
}

// ancestorEntry is an Accepted entry of a KongPlugin's status.ancestors:
// the Gateway (in the plugin's namespace) and the controller that wrote it.
type ancestorEntry struct {
	gateway    string
	controller gwv1.GatewayController
}

// pluginWithAncestors creates a KongPlugin in ns whose status already holds
// the given ancestor entries.
func pluginWithAncestors(ns string, entries ...ancestorEntry) *v1alpha1.KongPlugin {
	ctx := context.Background()
	plugin := &v1alpha1.KongPlugin{ObjectMeta: metav1.ObjectMeta{Name: unique("kp"), Namespace: ns},
		Spec: v1alpha1.KongPluginSpec{Plugin: "correlation-id"}}
	Expect(k8s.Create(ctx, plugin)).To(Succeed())
	cond := []metav1.Condition{{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted", LastTransitionTime: metav1.Now(), ObservedGeneration: 1}}
	for _, e := range entries {
		plugin.Status.Ancestors = append(plugin.Status.Ancestors, gwv1.PolicyAncestorStatus{
			AncestorRef: gwv1.ParentReference{Group: ptr.To(gwv1.Group(gwv1.GroupName)), Kind: ptr.To(gwv1.Kind("Gateway")),
				Namespace: ptr.To(gwv1.Namespace(ns)), Name: gwv1.ObjectName(e.gateway)},
			ControllerName: e.controller, Conditions: cond})
	}
	Expect(k8s.Status().Update(ctx, plugin)).To(Succeed())
	return plugin
}

// pluginAncestors reads a KongPlugin's status.ancestors.
func pluginAncestors(ns, name string) func() []gwv1.PolicyAncestorStatus {
	return func() []gwv1.PolicyAncestorStatus {
		var p v1alpha1.KongPlugin
		Expect(get(&p, ns, name)()).To(Succeed())
		return p.Status.Ancestors
	}
}

var _ = Describe("Custom plugins", func() {
	ctx := context.Background()
	It("reports a missing ConfigMap on the Gateway, then mounts the plugin once it exists", func() {
		ns := newNamespace()
		cfg := newConfig(ns, v1alpha1.GatewayConfigurationSpec{Plugins: &v1alpha1.PluginsConfig{
			Custom:  []v1alpha1.CustomPlugin{{Name: "my-header", ConfigMapName: "my-header"}},
			Gateway: []v1alpha1.GatewayPlugin{{Plugin: "prometheus"}},
		}})
		class := newClass(configRef(cfg))
		gw := newGateway(ns, class.Name, nil)
		Eventually(gatewayCondition(gw, "Accepted")).Should(haveCondition(metav1.ConditionFalse, "InvalidParameters"))
		c := gatewayCondition(gw, "Accepted")()
		Expect(c.Message).To(ContainSubstring("ConfigMap " + ns + "/my-header not found"))

		Expect(k8s.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "my-header", Namespace: ns},
			Data: map[string]string{"handler.lua": "return { PRIORITY = 1, VERSION = '1' }\n", "schema.lua": "return { name = 'my-header', fields = {} }\n"}})).To(Succeed())
		names := provision.NamesFor(gw)
		copyName := provision.CustomPluginConfigMapName(names, "my-header")
		var copied corev1.ConfigMap
		Eventually(get(&copied, ns, copyName)).Should(Succeed())
		Expect(copied.Data).To(HaveKey("handler.lua"))
		Expect(metav1.IsControlledBy(&copied, gw)).To(BeTrue())
		var dep appsv1.Deployment
		Eventually(get(&dep, ns, names.DataPlane)).Should(Succeed())
		Expect(dep.Spec.Template.Spec.Containers[0].Env).To(ContainElements(
			corev1.EnvVar{Name: "KONG_PLUGINS", Value: strings.Join(append(append([]string{"bundled"}, luaplugins.Names()...), "my-header"), ",")},
			corev1.EnvVar{Name: "KONG_LUA_PACKAGE_PATH", Value: provision.BuiltinPluginsDir + "/?.lua;" + provision.BuiltinPluginsDir + "/?/init.lua;" + provision.CustomPluginsDir + "/?.lua;" + provision.CustomPluginsDir + "/?/init.lua;;"}))
		var metrics corev1.Service
		Eventually(get(&metrics, ns, names.Metrics)).Should(Succeed())
		Expect(metrics.Spec.Ports).To(ContainElement(HaveField("Name", "metrics")))

		// The class stops shipping the plugin: the copy goes.
		Eventually(func() error {
			var latest v1alpha1.GatewayConfiguration
			if err := get(&latest, ns, cfg.Name)(); err != nil {
				return err
			}
			latest.Spec.Plugins = nil
			return k8s.Update(ctx, &latest)
		}).Should(Succeed())
		Eventually(func() bool {
			var cm corev1.ConfigMap
			return get(&cm, ns, copyName)() != nil && get(&metrics, ns, names.Metrics)() != nil
		}).Should(BeTrue())
		Eventually(gatewayCondition(gw, "Accepted")).Should(haveCondition(metav1.ConditionTrue, "Accepted"))
	})
})

var _ = Describe("The manager's RBAC", func() {
	ctx := context.Background()
	It("allows what the plugin and consumer work needs", func() {
		user := unique("rbac-check")
		for _, role := range readClusterRoles(filepath.Join(repoRoot(), "config", "rbac", "role.yaml")) {
			role.Name = unique(role.Name)
			Expect(k8s.Create(ctx, role)).To(Succeed())
			Expect(k8s.Create(ctx, &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: role.Name},
				Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
			})).To(Succeed())
		}
		allowed := func(group, resource, sub, verb string) bool {
			sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: user,
				ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: "apps", Group: group, Resource: resource, Subresource: sub, Verb: verb}}}
			Expect(k8s.Create(ctx, sar)).To(Succeed())
			return sar.Status.Allowed
		}
		g := v1alpha1.GroupVersion.Group
		// The apiserver's RBAC authorizer learns of new roles and bindings
		// through its informers, a moment after they are created; every
		// binding above is in place once the first grant is visible.
		Eventually(func() bool { return allowed(g, "kongplugins", "", "get") }).Should(BeTrue(), "the roles are never seen by the authorizer")
		for _, verb := range []string{"get", "list", "watch"} {
			Expect(allowed(g, "kongplugins", "", verb)).To(BeTrue(), "kongplugins %s", verb)
			Expect(allowed(g, "kongconsumers", "", verb)).To(BeTrue(), "kongconsumers %s", verb)
			Expect(allowed("", "configmaps", "", verb)).To(BeTrue(), "configmaps %s", verb)
		}
		for _, verb := range []string{"patch", "update"} {
			Expect(allowed(g, "kongplugins", "status", verb)).To(BeTrue(), "kongplugins/status %s", verb)
			Expect(allowed(g, "kongconsumers", "status", verb)).To(BeTrue(), "kongconsumers/status %s", verb)
		}
		for _, verb := range []string{"create", "patch", "delete"} {
			Expect(allowed("", "configmaps", "", verb)).To(BeTrue(), "configmaps %s", verb)
		}
		// Least privilege: the operator never edits users' plugins or consumers.
		for _, verb := range []string{"create", "update", "patch", "delete"} {
			Expect(allowed(g, "kongplugins", "", verb)).To(BeFalse(), "kongplugins %s", verb)
			Expect(allowed(g, "kongconsumers", "", verb)).To(BeFalse(), "kongconsumers %s", verb)
		}
	})
})
