package envtest

import (
	"context"
	"time"

	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/api/v1alpha1"
	"github.com/drawbridge-dev/drawbridge/controllers"
	"github.com/drawbridge-dev/drawbridge/internal/provision"
)

// playLoadBalancer assigns an ingress IP, as a cloud load-balancer controller would.
func playLoadBalancer(ns, name, ip string) {
	Eventually(func() error {
		var svc corev1.Service
		if err := k8s.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &svc); err != nil {
			return err
		}
		svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: ip}}
		return k8s.Status().Update(context.Background(), &svc)
	}).Should(Succeed())
}

// playDeploymentController reports replicas as available, as the Deployment
// controller would once pods are Ready.
func playDeploymentController(ns, name string, available int32) {
	Eventually(func() error {
		var dep appsv1.Deployment
		if err := k8s.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &dep); err != nil {
			return err
		}
		replicas := int32(1)
		if dep.Spec.Replicas != nil {
			replicas = *dep.Spec.Replicas
		}
		dep.Status.ObservedGeneration = dep.Generation
		dep.Status.Replicas, dep.Status.UpdatedReplicas = replicas, replicas
		dep.Status.ReadyReplicas, dep.Status.AvailableReplicas = available, available
		return k8s.Status().Update(context.Background(), &dep)
	}).Should(Succeed())
}

func deployment(ns, name string) func() *appsv1.Deployment {
	return func() *appsv1.Deployment {
		var dep appsv1.Deployment
		if err := k8s.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &dep); err != nil {
			return nil
		}
		return &dep
	}
}

func proxyImage(dep *appsv1.Deployment) string {
	if dep == nil {
		return ""
	}
	for _, c := range dep.Spec.Template.Spec.Containers {
		if c.Name == provision.ProxyContainerName {
			return c.Image
		}
	}
	return ""
}

// touch bumps a Gateway annotation to force a reconcile.
func touch(gw *gwv1.Gateway) {
	Eventually(func() error {
		var live gwv1.Gateway
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(gw), &live); err != nil {
			return err
		}
		if live.Annotations == nil {
			live.Annotations = map[string]string{}
		}
		live.Annotations["test.drawbridge.dev/touched"] = time.Now().Format(time.RFC3339Nano)
		return k8s.Update(context.Background(), &live)
	}).Should(Succeed())
}

var _ = Describe("Gateway provisioning", func() {
	ctx := context.Background()

	It("creates every data-plane object, owned by the Gateway and applied by our field manager", func() {
		ns := newNamespace()
		class := newClass(nil)
		gw := newGateway(ns, class.Name, nil)
		names := provision.NamesFor(gw)

		for _, o := range []struct {
			obj  client.Object
			name string
		}{
			{&corev1.ServiceAccount{}, names.DataPlane},
			{&appsv1.Deployment{}, names.DataPlane},
			{&corev1.Service{}, names.DataPlane},
			{&corev1.Service{}, names.Admin},
			{&networkingv1.NetworkPolicy{}, names.DataPlane},
		} {
			Eventually(get(o.obj, ns, o.name)).Should(Succeed(), "%T %s", o.obj, o.name)
			Expect(o.obj.GetOwnerReferences()).To(ContainElement(And(
				HaveField("Kind", "Gateway"), HaveField("Name", gw.Name), HaveField("Controller", Equal(ptr.To(true))))))
			Expect(o.obj.GetManagedFields()).To(ContainElement(And(
				HaveField("Manager", controllers.FieldManager), HaveField("Operation", metav1.ManagedFieldsOperationApply))))
		}
		var live gwv1.Gateway
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(gw), &live)).To(Succeed())
		Expect(live.Finalizers).To(ContainElement(controllers.CleanupFinalizer))

		var admin corev1.Service
		Expect(k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: names.Admin}, &admin)).To(Succeed())
		Expect(admin.Spec.ClusterIP).To(Equal(corev1.ClusterIPNone))
		var ingress corev1.Service
		Expect(k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: names.DataPlane}, &ingress)).To(Succeed())
		Expect(ingress.Spec.Type).To(Equal(corev1.ServiceTypeLoadBalancer))
		Expect(ingress.Spec.Ports).To(ConsistOf(And(HaveField("Port", int32(80)), HaveField("TargetPort", intstr.FromInt32(8080)))))
		var np networkingv1.NetworkPolicy
		Expect(k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: names.DataPlane}, &np)).To(Succeed())
		Expect(np.Spec.Ingress[0].From[0].NamespaceSelector.MatchLabels).To(HaveKeyWithValue("kubernetes.io/metadata.name", operatorNamespace))
	})

	It("is Programmed only once an address is assigned and a replica is available", func() {
		ns := newNamespace()
		class := newClass(nil)
		gw := newGateway(ns, class.Name, nil)
		names := provision.NamesFor(gw)

		Eventually(gatewayCondition(gw, "Accepted")).Should(haveCondition(metav1.ConditionTrue, "Accepted"))
		Eventually(gatewayCondition(gw, "Programmed")).Should(And(
			haveCondition(metav1.ConditionFalse, "AddressNotAssigned"), HaveField("Message", ContainSubstring("LoadBalancer Service"))))
		Eventually(listenerStatus(gw, "http")).Should(HaveField("Conditions", listenerCondition("Programmed", metav1.ConditionFalse, "Pending")))

		playLoadBalancer(ns, names.DataPlane, "192.0.2.10")
		Eventually(gatewayCondition(gw, "Programmed")).Should(And(
			haveCondition(metav1.ConditionFalse, "Pending"), HaveField("Message", ContainSubstring("replicas to be discovered"))))

		// One replica holds the configuration, a second one cannot be reached:
		// not programmed until every replica holds it.
		ready := startReplica(gw)
		publishReplicas(gw, ready, podAddress(nextLoopback())) // nothing listens on its loopback twin
		Eventually(gatewayCondition(gw, "Programmed")).Should(And(
			haveCondition(metav1.ConditionFalse, "Pending"), HaveField("Message", ContainSubstring("1/2 replicas hold the current configuration")),
			HaveField("Message", MatchRegexp(`; not in sync: \S+ \(`))))
		publishReplicas(gw, ready)
		Eventually(gatewayCondition(gw, "Programmed")).Should(And(
			haveCondition(metav1.ConditionFalse, "Pending"), HaveField("Message", ContainSubstring("0/1 replicas available"))))

		playDeploymentController(ns, names.DataPlane, 1)
		Eventually(gatewayCondition(gw, "Programmed")).Should(And(
			haveCondition(metav1.ConditionTrue, "Programmed"), HaveField("Message", ContainSubstring("1/1 replicas hold the current configuration"))))
		Expect(promtestutil.ToFloat64(pushMetrics.ReplicasInSync.WithLabelValues(ns, gw.Name))).To(Equal(1.0))
		Expect(promtestutil.ToFloat64(pushMetrics.Pushes.WithLabelValues(ns, gw.Name, "unreachable"))).To(BeNumerically(">=", 1),
			"the pushes to the replica nothing listens for are counted as unreachable")
		var live gwv1.Gateway
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(gw), &live)).To(Succeed())
		Expect(live.Status.Addresses).To(ConsistOf(And(
			HaveField("Type", Equal(ptr.To(gwv1.IPAddressType))), HaveField("Value", "192.0.2.10"))))
		Eventually(listenerStatus(gw, "http")).Should(And(
			HaveField("Conditions", listenerCondition("Programmed", metav1.ConditionTrue, "Programmed")),
			HaveField("Conditions", listenerCondition("Accepted", metav1.ConditionTrue, "Accepted")),
			HaveField("Conditions", listenerCondition("ResolvedRefs", metav1.ConditionTrue, "ResolvedRefs")),
			HaveField("Conditions", listenerCondition("Conflicted", metav1.ConditionFalse, "NoConflicts")),
			HaveField("AttachedRoutes", int32(0)),
			HaveField("SupportedKinds", ContainElement(HaveField("Kind", gwv1.Kind("HTTPRoute")))),
		))
		for _, c := range live.Status.Conditions {
			Expect(c.ObservedGeneration).To(Equal(live.Generation), "condition %s", c.Type)
		}
	})

	It("passes the operator's cluster-wide proxy variables to Kong", func() {
		ns := newNamespace()
		gw := newGateway(ns, newClass(nil).Name, nil)
		Eventually(func() []corev1.EnvVar {
			dep := deployment(ns, provision.NamesFor(gw).DataPlane)()
			if dep == nil {
				return nil
			}
			return dep.Spec.Template.Spec.Containers[0].Env
		}).Should(ContainElement(corev1.EnvVar{Name: "HTTPS_PROXY", Value: "http://proxy.example:3128"}))
	})

	It("reports the ClusterIP as the address of a ClusterIP Service", func() {
		ns := newNamespace()
		clusterIP := corev1.ServiceTypeClusterIP
		cfg := newConfig(ns, v1alpha1.GatewayConfigurationSpec{Service: &v1alpha1.ServiceConfig{Type: &clusterIP}})
		class := newClass(configRef(cfg))
		gw := newGateway(ns, class.Name, nil)
		names := provision.NamesFor(gw)
		playDeploymentController(ns, names.DataPlane, 1)
		publishReplicas(gw, startReplica(gw))
		Eventually(gatewayCondition(gw, "Programmed")).Should(haveCondition(metav1.ConditionTrue, "Programmed"))
		var svc corev1.Service
		Expect(k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: names.DataPlane}, &svc)).To(Succeed())
		var live gwv1.Gateway
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(gw), &live)).To(Succeed())
		Expect(live.Status.Addresses).To(ConsistOf(HaveField("Value", svc.Spec.ClusterIP)))
	})

	It("rolls the Deployment when the class configuration changes and lets the Gateway override it", func() {
		ns := newNamespace()
		classCfg := newConfig(ns, v1alpha1.GatewayConfigurationSpec{DataPlane: &v1alpha1.DataPlaneConfig{Image: ptr.To("kong:3.9.0")}})
		class := newClass(configRef(classCfg))
		plain := newGateway(ns, class.Name, nil)
		gwCfg := newConfig(ns, v1alpha1.GatewayConfigurationSpec{DataPlane: &v1alpha1.DataPlaneConfig{Replicas: ptr.To(int32(2))}})
		overridden := newGateway(ns, class.Name, func(gw *gwv1.Gateway) {
			gw.Spec.Infrastructure = &gwv1.GatewayInfrastructure{
				ParametersRef: &gwv1.LocalParametersReference{Group: "gateway.drawbridge.dev", Kind: "GatewayConfiguration", Name: gwCfg.Name},
				Labels:        map[gwv1.LabelKey]gwv1.LabelValue{"cost-center": "42"},
				Annotations:   map[gwv1.AnnotationKey]gwv1.AnnotationValue{"owner": "team-a"},
			}
		})
		plainDep := deployment(ns, provision.NamesFor(plain).DataPlane)
		overDep := deployment(ns, provision.NamesFor(overridden).DataPlane)
		Eventually(func() string { return proxyImage(plainDep()) }).Should(Equal("kong:3.9.0"))
		Eventually(func() string { return proxyImage(overDep()) }).Should(Equal("kong:3.9.0"))
		Expect(*overDep().Spec.Replicas).To(Equal(int32(2)))
		Expect(*plainDep().Spec.Replicas).To(Equal(int32(1)))
		Expect(overDep().Labels).To(HaveKeyWithValue("cost-center", "42"))
		Expect(overDep().Spec.Template.Labels).To(HaveKeyWithValue("cost-center", "42"))
		Expect(overDep().Annotations).To(HaveKeyWithValue("owner", "team-a"))
		var sa corev1.ServiceAccount
		Expect(k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: provision.NamesFor(overridden).DataPlane}, &sa)).To(Succeed())
		Expect(sa.Labels).To(HaveKeyWithValue("cost-center", "42"))

		templateGen := plainDep().Generation
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(classCfg), classCfg)).To(Succeed())
		classCfg.Spec.DataPlane.Image = ptr.To("kong:3.9.1")
		Expect(k8s.Update(ctx, classCfg)).To(Succeed())
		Eventually(func() string { return proxyImage(plainDep()) }).Should(Equal("kong:3.9.1"))
		Eventually(func() string { return proxyImage(overDep()) }).Should(Equal("kong:3.9.1"))
		Expect(plainDep().Generation).To(BeNumerically(">", templateGen))

		// The Gateway's own configuration wins over the class.
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(gwCfg), gwCfg)).To(Succeed())
		gwCfg.Spec.DataPlane.Image = ptr.To("kong:3.10")
		Expect(k8s.Update(ctx, gwCfg)).To(Succeed())
		Eventually(func() string { return proxyImage(overDep()) }).Should(Equal("kong:3.10"))
		Consistently(func() string { return proxyImage(plainDep()) }, "500ms").Should(Equal("kong:3.9.1"))
	})

	It("never fights the HPA over replicas nor reverts kubectl rollout restart", func() {
		ns := newNamespace()
		cfg := newConfig(ns, v1alpha1.GatewayConfigurationSpec{DataPlane: &v1alpha1.DataPlaneConfig{
			Autoscaling:         &v1alpha1.AutoscalingConfig{MinReplicas: ptr.To(int32(2)), MaxReplicas: 6, TargetCPUUtilizationPercentage: ptr.To(int32(70))},
			PodDisruptionBudget: &v1alpha1.PodDisruptionBudgetConfig{MinAvailable: ptr.To(intstr.FromInt32(1))},
		}})
		class := newClass(configRef(cfg))
		gw := newGateway(ns, class.Name, nil)
		name := provision.NamesFor(gw).DataPlane

		var hpa autoscalingv2.HorizontalPodAutoscaler
		Eventually(get(&hpa, ns, name)).Should(Succeed())
		Expect(hpa.Spec.MaxReplicas).To(Equal(int32(6)))
		Expect(hpa.Spec.ScaleTargetRef.Name).To(Equal(name))
		var pdb policyv1.PodDisruptionBudget
		Eventually(get(&pdb, ns, name)).Should(Succeed())
		Eventually(deployment(ns, name)).ShouldNot(BeNil())

		// The HPA controller scales through the scale subresource.
		scale := &autoscalingv1.Scale{Spec: autoscalingv1.ScaleSpec{Replicas: 5}}
		Expect(k8s.SubResource("scale").Update(ctx, deployment(ns, name)(), client.WithSubResourceBody(scale))).To(Succeed())
		// kubectl rollout restart stamps the pod template.
		dep := deployment(ns, name)()
		patch := client.MergeFrom(dep.DeepCopy())
		if dep.Spec.Template.Annotations == nil {
			dep.Spec.Template.Annotations = map[string]string{}
		}
		dep.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] = "2026-11-22T10:00:00Z"
		Expect(k8s.Patch(ctx, dep, patch, client.FieldOwner("kubectl-rollout"))).To(Succeed())

		touch(gw)
		Eventually(gatewayCondition(gw, "Accepted")).Should(Not(BeNil()))
		Consistently(func() int32 { return *deployment(ns, name)().Spec.Replicas }, "1s").Should(Equal(int32(5)))
		Expect(deployment(ns, name)().Spec.Template.Annotations).To(HaveKeyWithValue("kubectl.kubernetes.io/restartedAt", "2026-11-22T10:00:00Z"))

		// Dropping autoscaling and the PDB removes them and returns replicas to the config.
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cfg), cfg)).To(Succeed())
		cfg.Spec.DataPlane = &v1alpha1.DataPlaneConfig{Replicas: ptr.To(int32(3))}
		Expect(k8s.Update(ctx, cfg)).To(Succeed())
		Eventually(func() bool { return apierrors.IsNotFound(get(&autoscalingv2.HorizontalPodAutoscaler{}, ns, name)()) }).Should(BeTrue())
		Eventually(func() bool { return apierrors.IsNotFound(get(&policyv1.PodDisruptionBudget{}, ns, name)()) }).Should(BeTrue())
		Eventually(func() int32 { return *deployment(ns, name)().Spec.Replicas }).Should(Equal(int32(3)))
	})

	It("removes a Service annotation that was removed from the configuration, keeping others' annotations", func() {
		ns := newNamespace()
		cfg := newConfig(ns, v1alpha1.GatewayConfigurationSpec{Service: &v1alpha1.ServiceConfig{
			Annotations: map[string]string{"lb.example.com/scheme": "internal", "keep": "yes"},
		}})
		class := newClass(configRef(cfg))
		gw := newGateway(ns, class.Name, nil)
		name := provision.NamesFor(gw).DataPlane
		var svc corev1.Service
		Eventually(func() map[string]string { _ = get(&svc, ns, name)(); return svc.Annotations }).Should(HaveKey("lb.example.com/scheme"))

		// Another controller's annotation must survive our apply.
		patch := client.MergeFrom(svc.DeepCopy())
		svc.Annotations["cloud.example.com/lb-id"] = "lb-123"
		Expect(k8s.Patch(ctx, &svc, patch, client.FieldOwner("cloud-controller"))).To(Succeed())

		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cfg), cfg)).To(Succeed())
		delete(cfg.Spec.Service.Annotations, "lb.example.com/scheme")
		Expect(k8s.Update(ctx, cfg)).To(Succeed())
		Eventually(func() map[string]string { _ = get(&svc, ns, name)(); return svc.Annotations }).Should(And(
			Not(HaveKey("lb.example.com/scheme")), HaveKeyWithValue("keep", "yes"), HaveKeyWithValue("cloud.example.com/lb-id", "lb-123")))
	})

	It("deletes the whole data plane with the Gateway", func() {
		ns := newNamespace()
		class := newClass(nil)
		gw := newGateway(ns, class.Name, nil)
		names := provision.NamesFor(gw)
		Eventually(get(&appsv1.Deployment{}, ns, names.DataPlane)).Should(Succeed())
		Eventually(get(&corev1.Service{}, ns, names.Admin)).Should(Succeed())
		Eventually(get(&corev1.Secret{}, ns, names.AdminTLS)).Should(Succeed())

		Expect(k8s.Delete(ctx, gw)).To(Succeed())
		for _, o := range []struct {
			obj  client.Object
			name string
		}{
			{&appsv1.Deployment{}, names.DataPlane}, {&corev1.Service{}, names.DataPlane}, {&corev1.Service{}, names.Admin},
			{&corev1.ServiceAccount{}, names.DataPlane}, {&networkingv1.NetworkPolicy{}, names.DataPlane},
			{&corev1.Secret{}, names.AdminTLS},
		} {
			Eventually(func() bool { return apierrors.IsNotFound(get(o.obj, ns, o.name)()) }).Should(BeTrue(), "%T %s", o.obj, o.name)
		}
		Eventually(func() bool { return apierrors.IsNotFound(get(&gwv1.Gateway{}, ns, gw.Name)()) }).Should(BeTrue())
	})

	It("keeps the data plane as it was when the configuration becomes invalid", func() {
		ns := newNamespace()
		class := newClass(nil)
		gwCfg := newConfig(ns, v1alpha1.GatewayConfigurationSpec{DataPlane: &v1alpha1.DataPlaneConfig{Image: ptr.To("kong:3.9.2")}})
		gw := newGateway(ns, class.Name, func(gw *gwv1.Gateway) {
			gw.Spec.Infrastructure = &gwv1.GatewayInfrastructure{ParametersRef: &gwv1.LocalParametersReference{
				Group: "gateway.drawbridge.dev", Kind: "GatewayConfiguration", Name: gwCfg.Name}}
		})
		name := provision.NamesFor(gw).DataPlane
		Eventually(func() string { return proxyImage(deployment(ns, name)()) }).Should(Equal("kong:3.9.2"))

		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(gwCfg), gwCfg)).To(Succeed())
		gwCfg.Spec.DataPlane.Image = ptr.To("kong:3.9.3")
		gwCfg.Spec.DataPlane.PodTemplate = rawJSON(`{"spec":{"containers":[{"name":"proxy","$patch":"delete"}]}}`)
		Expect(k8s.Update(ctx, gwCfg)).To(Succeed())
		Eventually(gatewayCondition(gw, "Accepted")).Should(And(
			haveCondition(metav1.ConditionFalse, "InvalidParameters"), HaveField("Message", ContainSubstring(`removed the "proxy" container`))))
		Consistently(func() string { return proxyImage(deployment(ns, name)()) }, "1s").Should(Equal("kong:3.9.2"))

		// A missing configuration is reported the same way.
		Expect(k8s.Delete(ctx, gwCfg)).To(Succeed())
		Eventually(gatewayCondition(gw, "Accepted")).Should(And(
			haveCondition(metav1.ConditionFalse, "InvalidParameters"), HaveField("Message", ContainSubstring("not found"))))
		Expect(proxyImage(deployment(ns, name)())).To(Equal("kong:3.9.2"))
	})
})
