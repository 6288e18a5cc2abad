package envtest

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
	"github.com/drawbridge-dev/drawbridge/internal/provision"
)

// listenerSetCondition reads one condition of a ListenerSet once it is
// about the ListenerSet's current generation.
func listenerSetCondition(ls *gwv1.ListenerSet, condType string) func() *metav1.Condition {
	return func() *metav1.Condition {
		var live gwv1.ListenerSet
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(ls), &live); err != nil {
			return nil
		}
		c := meta.FindStatusCondition(live.Status.Conditions, condType)
		if c != nil && c.ObservedGeneration != live.Generation {
			return nil
		}
		return c
	}
}

func listenerSetListener(ls *gwv1.ListenerSet, name string) func() *gwv1.ListenerEntryStatus {
	return func() *gwv1.ListenerEntryStatus {
		var live gwv1.ListenerSet
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(ls), &live); err != nil {
			return nil
		}
		for i := range live.Status.Listeners {
			if string(live.Status.Listeners[i].Name) == name {
				return &live.Status.Listeners[i]
			}
		}
		return nil
	}
}

func attachedListenerSetsOf(gw *gwv1.Gateway) func() *int32 {
	return func() *int32 {
		var live gwv1.Gateway
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(gw), &live); err != nil {
			return nil
		}
		return live.Status.AttachedListenerSets
	}
}

func servicePorts(gw *gwv1.Gateway) func() []int32 {
	return func() []int32 {
		var svc corev1.Service
		if err := get(&svc, gw.Namespace, provision.NamesFor(gw).DataPlane)(); err != nil {
			return nil
		}
		var ports []int32
		for _, p := range svc.Spec.Ports {
			ports = append(ports, p.Port)
		}
		return ports
	}
}

var _ = Describe("ListenerSets", func() {
	ctx := context.Background()

	It("attaches a ListenerSet once the Gateway allows it, reports every listener, and lets routes attach to it", func() {
		gwNS, lsNS := newNamespace(), newNamespace()
		class := newClass(nil)
		web := httpListener("web", 80)
		web.Hostname = ptr.To(gwv1.Hostname("gw.example.com"))
		gw := newGateway(gwNS, class.Name, nil, web)

		ls := &gwv1.ListenerSet{
			ObjectMeta: metav1.ObjectMeta{Namespace: lsNS, Name: unique("ls")},
			Spec: gwv1.ListenerSetSpec{
				ParentRef: gwv1.ParentGatewayReference{Name: gwv1.ObjectName(gw.Name), Namespace: ptr.To(gwv1.Namespace(gwNS))},
				Listeners: []gwv1.ListenerEntry{{Name: "extra", Port: 8080, Protocol: gwv1.HTTPProtocolType}},
			},
		}
		Expect(k8s.Create(ctx, ls)).To(Succeed())

		By("the Gateway does not allow ListenerSets by default")
		Eventually(listenerSetCondition(ls, "Accepted")).Should(haveCondition(metav1.ConditionFalse, "NotAllowed"))
		Eventually(listenerSetCondition(ls, "Programmed")).Should(haveCondition(metav1.ConditionFalse, "NotAllowed"))
		Eventually(listenerSetListener(ls, "extra")).Should(HaveField("Conditions", listenerCondition("Accepted", metav1.ConditionFalse, "NotAllowed")))
		Eventually(attachedListenerSetsOf(gw)).Should(HaveValue(Equal(int32(0))))
		Eventually(servicePorts(gw)).Should(ConsistOf(int32(80)))
		Eventually(func() []string {
			var evs eventsv1.EventList
			Expect(k8s.List(ctx, &evs, client.InNamespace(lsNS))).To(Succeed())
			var out []string
			for _, e := range evs.Items {
				if e.Regarding.Kind == "ListenerSet" && e.Regarding.Name == ls.Name && e.Type == corev1.EventTypeWarning {
					out = append(out, e.Reason)
				}
			}
			return out
		}).Should(ContainElement("NotAllowed"))

		By("allowing ListenerSets from all namespaces")
		var live gwv1.Gateway
		Expect(get(&live, gwNS, gw.Name)()).To(Succeed())
		patch := client.MergeFrom(live.DeepCopy())
		live.Spec.AllowedListeners = &gwv1.AllowedListeners{Namespaces: &gwv1.ListenerNamespaces{From: ptr.To(gwv1.NamespacesFromAll)}}
		Expect(k8s.Patch(ctx, &live, patch)).To(Succeed())
		Eventually(listenerSetCondition(ls, "Accepted")).Should(haveCondition(metav1.ConditionTrue, "Accepted"))
		// No Kong replica runs under envtest, so the Gateway is never
		// programmed and neither is the ListenerSet.
		Eventually(listenerSetCondition(ls, "Programmed")).Should(haveCondition(metav1.ConditionFalse, "Pending"))
		Eventually(listenerSetListener(ls, "extra")).Should(And(
			HaveField("Conditions", listenerCondition("Accepted", metav1.ConditionTrue, "Accepted")),
			HaveField("Conditions", listenerCondition("ResolvedRefs", metav1.ConditionTrue, "ResolvedRefs")),
			HaveField("Conditions", listenerCondition("Programmed", metav1.ConditionFalse, "Pending")),
			HaveField("SupportedKinds", ContainElement(HaveField("Kind", gwv1.Kind("HTTPRoute"))))))
		Eventually(attachedListenerSetsOf(gw)).Should(HaveValue(Equal(int32(1))))
		Eventually(servicePorts(gw)).Should(ConsistOf(int32(80), int32(8080)))

		By("a route attaches through a ListenerSet parentRef and is counted on its listener")
		createBackend(lsNS, "web", "10.0.0.5")
		rt := newHTTPRoute(lsNS, []gwv1.ParentReference{{
			Group: ptr.To(gwv1.Group(gwv1.GroupName)), Kind: ptr.To(gwv1.Kind("ListenerSet")), Name: gwv1.ObjectName(ls.Name),
		}}, nil, "web")
		lsParent := func() *gwv1.RouteParentStatus {
			var r gwv1.HTTPRoute
			if err := get(&r, lsNS, rt.Name)(); err != nil {
				return nil
			}
			for i, p := range r.Status.Parents {
				if string(p.ControllerName) == gatewayapi.ControllerName && p.ParentRef.Kind != nil && *p.ParentRef.Kind == "ListenerSet" {
					return &r.Status.Parents[i]
				}
			}
			return nil
		}
		Eventually(lsParent).Should(And(routeCondition("Accepted", metav1.ConditionTrue, "Accepted"), HaveField("ParentRef.Name", gwv1.ObjectName(ls.Name))))
		Eventually(listenerSetListener(ls, "extra")).Should(HaveField("AttachedRoutes", int32(1)))
		Expect(listenerStatus(gw, "web")()).To(HaveField("AttachedRoutes", int32(0)), "a ListenerSet route does not attach to the Gateway's listeners")

		By("a listener that clashes with the Gateway's is conflicted and the rest stays")
		var lsLive gwv1.ListenerSet
		Expect(get(&lsLive, lsNS, ls.Name)()).To(Succeed())
		lsPatch := client.MergeFrom(lsLive.DeepCopy())
		lsLive.Spec.Listeners = append(lsLive.Spec.Listeners, gwv1.ListenerEntry{
			Name: "same-as-gateway", Port: 80, Protocol: gwv1.HTTPProtocolType, Hostname: ptr.To(gwv1.Hostname("gw.example.com")),
		})
		Expect(k8s.Patch(ctx, &lsLive, lsPatch)).To(Succeed())
		Eventually(listenerSetListener(ls, "same-as-gateway")).Should(And(
			HaveField("Conditions", listenerCondition("Conflicted", metav1.ConditionTrue, "HostnameConflict")),
			HaveField("Conditions", listenerCondition("Accepted", metav1.ConditionFalse, "HostnameConflict")),
			HaveField("Conditions", listenerCondition("Programmed", metav1.ConditionFalse, "HostnameConflict"))))
		Eventually(listenerSetCondition(ls, "Accepted")).Should(haveCondition(metav1.ConditionTrue, "ListenersNotValid"))
		Expect(listenerStatus(gw, "web")()).To(HaveField("Conditions", listenerCondition("Conflicted", metav1.ConditionFalse, "NoConflicts")),
			"the Gateway's own listener takes precedence and is untouched")

		By("deleting the ListenerSet takes its port away")
		Expect(k8s.Delete(ctx, ls)).To(Succeed())
		Eventually(attachedListenerSetsOf(gw)).Should(HaveValue(Equal(int32(0))))
		Eventually(servicePorts(gw)).Should(ConsistOf(int32(80)))
		Eventually(lsParent).Should(BeNil(), "the route's entry for the deleted ListenerSet is cleared")
	})
})
