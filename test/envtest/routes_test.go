package envtest

import (
	"context"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
)

func newHTTPRoute(ns string, parents []gwv1.ParentReference, backendNS *string, backend string) *gwv1.HTTPRoute {
	rt := &gwv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: unique("route"), Namespace: ns},
		Spec: gwv1.HTTPRouteSpec{
			CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: parents},
			Hostnames:       []gwv1.Hostname{"app.example.com"},
			Rules: []gwv1.HTTPRouteRule{{BackendRefs: []gwv1.HTTPBackendRef{{BackendRef: gwv1.BackendRef{BackendObjectReference: gwv1.BackendObjectReference{
				Name: gwv1.ObjectName(backend), Namespace: (*gwv1.Namespace)(backendNS), Port: ptr.To(gwv1.PortNumber(8080)),
			}}}}}},
		},
	}
	Expect(k8s.Create(context.Background(), rt)).To(Succeed())
	return rt
}

func parentRef(gw *gwv1.Gateway) gwv1.ParentReference {
	return gwv1.ParentReference{Name: gwv1.ObjectName(gw.Name), Namespace: ptr.To(gwv1.Namespace(gw.Namespace))}
}

// createBackend creates a Service with one ready endpoint, as the
// EndpointSlice controller would publish it.
func createBackend(ns, name, ip string) {
	ctx := context.Background()
	Expect(k8s.Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 8080}}, Selector: map[string]string{"app": name}},
	})).To(Succeed())
	Expect(k8s.Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name + "-1", Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(int32(8080))}},
	})).To(Succeed())
}

// ourParent returns our status entry for the given Gateway on a route.
func ourParent(rt *gwv1.HTTPRoute, gw *gwv1.Gateway) func() *gwv1.RouteParentStatus {
	return func() *gwv1.RouteParentStatus {
		var live gwv1.HTTPRoute
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(rt), &live); err != nil {
			return nil
		}
		for i, p := range live.Status.Parents {
			if string(p.ControllerName) == gatewayapi.ControllerName && string(p.ParentRef.Name) == gw.Name {
				for _, c := range p.Conditions {
					if c.ObservedGeneration != live.Generation {
						return nil
					}
				}
				return &live.Status.Parents[i]
			}
		}
		return nil
	}
}

func routeCondition(condType string, status metav1.ConditionStatus, reason string) OmegaMatcherAlias {
	return And(Not(BeNil()), WithTransform(func(p *gwv1.RouteParentStatus) *metav1.Condition {
		return meta.FindStatusCondition(p.Conditions, condType)
	}, haveCondition(status, reason)))
}

var _ = Describe("Routes", func() {
	ctx := context.Background()

	It("writes route status per parent, counts attached routes and keeps the translated configuration", func() {
		ns := newNamespace()
		class := newClass(nil)
		gw := newGateway(ns, class.Name, nil)
		rt := newHTTPRoute(ns, []gwv1.ParentReference{parentRef(gw)}, nil, "echo")

		Eventually(ourParent(rt, gw)).Should(And(
			routeCondition("Accepted", metav1.ConditionTrue, "Accepted"),
			routeCondition("ResolvedRefs", metav1.ConditionFalse, "BackendNotFound")))
		Eventually(listenerStatus(gw, "http")).Should(HaveField("AttachedRoutes", int32(1)))

		createBackend(ns, "echo", "10.1.2.3")
		Eventually(ourParent(rt, gw)).Should(routeCondition("ResolvedRefs", metav1.ConditionTrue, "ResolvedRefs"))
		Eventually(func() string {
			c, _ := configs.Get(client.ObjectKeyFromObject(gw))
			return string(c.JSON)
		}).Should(And(ContainSubstring("10.1.2.3:8080"), ContainSubstring(`app.example.com`)))

		// A new endpoint reaches the configuration through the EndpointSlice watch.
		var slice discoveryv1.EndpointSlice
		Expect(k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "echo-1"}, &slice)).To(Succeed())
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{Addresses: []string{"10.1.2.4"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}})
		Expect(k8s.Update(ctx, &slice)).To(Succeed())
		Eventually(func() string {
			c, _ := configs.Get(client.ObjectKeyFromObject(gw))
			return string(c.JSON)
		}).Should(ContainSubstring("10.1.2.4:8080"))
	})

	It("keeps other controllers' entries and reports routes the listener does not allow", func() {
		ns, otherNS := newNamespace(), newNamespace()
		class := newClass(nil)
		gw := newGateway(ns, class.Name, nil) // allowedRoutes default: Same namespace
		rt := newHTTPRoute(otherNS, []gwv1.ParentReference{parentRef(gw)}, nil, "echo")

		foreign := gwv1.RouteParentStatus{
			ParentRef:      gwv1.ParentReference{Name: "elsewhere"},
			ControllerName: "example.com/other-controller",
			Conditions: []metav1.Condition{{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted",
				ObservedGeneration: 1, LastTransitionTime: metav1.Now()}},
		}
		Eventually(func() error {
			var live gwv1.HTTPRoute
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(rt), &live); err != nil {
				return err
			}
			live.Status.Parents = append(live.Status.Parents, foreign)
			return k8s.Status().Update(ctx, &live)
		}).Should(Succeed())

		Eventually(ourParent(rt, gw)).Should(routeCondition("Accepted", metav1.ConditionFalse, "NotAllowedByListeners"))
		Eventually(listenerStatus(gw, "http")).Should(HaveField("AttachedRoutes", int32(0)))
		var live gwv1.HTTPRoute
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(rt), &live)).To(Succeed())
		Expect(live.Status.Parents).To(ContainElement(HaveField("ControllerName", gwv1.GatewayController("example.com/other-controller"))))
	})

	It("requires a ReferenceGrant for a backend in another namespace", func() {
		ns, backendNS := newNamespace(), newNamespace()
		class := newClass(nil)
		gw := newGateway(ns, class.Name, nil)
		createBackend(backendNS, "shared", "10.9.9.9")
		rt := newHTTPRoute(ns, []gwv1.ParentReference{parentRef(gw)}, ptr.To(backendNS), "shared")
		Eventually(ourParent(rt, gw)).Should(routeCondition("ResolvedRefs", metav1.ConditionFalse, "RefNotPermitted"))
		Consistently(func() bool {
			c, _ := configs.Get(client.ObjectKeyFromObject(gw))
			return strings.Contains(string(c.JSON), "10.9.9.9")
		}, "500ms").Should(BeFalse())

		Expect(k8s.Create(ctx, &gwv1.ReferenceGrant{
			ObjectMeta: metav1.ObjectMeta{Namespace: backendNS, Name: "routes"},
			Spec: gwv1.ReferenceGrantSpec{
				From: []gwv1.ReferenceGrantFrom{{Group: gwv1.GroupName, Kind: "HTTPRoute", Namespace: gwv1.Namespace(ns)}},
				To:   []gwv1.ReferenceGrantTo{{Group: "", Kind: "Service"}},
			},
		})).To(Succeed())
		Eventually(ourParent(rt, gw)).Should(routeCondition("ResolvedRefs", metav1.ConditionTrue, "ResolvedRefs"))
	})

	It("drops our entry when a route leaves a Gateway, and when the Gateway is deleted", func() {
		ns := newNamespace()
		class := newClass(nil)
		first := newGateway(ns, class.Name, nil)
		second := newGateway(ns, class.Name, nil)
		createBackend(ns, "echo", "10.1.1.1")
		rt := newHTTPRoute(ns, []gwv1.ParentReference{parentRef(first), parentRef(second)}, nil, "echo")
		Eventually(ourParent(rt, first)).Should(routeCondition("Accepted", metav1.ConditionTrue, "Accepted"))
		Eventually(ourParent(rt, second)).Should(routeCondition("Accepted", metav1.ConditionTrue, "Accepted"))

		Eventually(func() error {
			var live gwv1.HTTPRoute
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(rt), &live); err != nil {
				return err
			}
			live.Spec.ParentRefs = []gwv1.ParentReference{parentRef(second)}
			return k8s.Update(ctx, &live)
		}).Should(Succeed())
		Eventually(func() *gwv1.RouteParentStatus {
			var live gwv1.HTTPRoute
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(rt), &live)).To(Succeed())
			for i, p := range live.Status.Parents {
				if string(p.ParentRef.Name) == first.Name {
					return &live.Status.Parents[i]
				}
			}
			return nil
		}).Should(BeNil())
		Eventually(listenerStatus(first, "http")).Should(HaveField("AttachedRoutes", int32(0)))
		Eventually(ourParent(rt, second)).ShouldNot(BeNil())

		Expect(k8s.Delete(ctx, second)).To(Succeed())
		Eventually(func() []gwv1.RouteParentStatus {
			var live gwv1.HTTPRoute
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(rt), &live)).To(Succeed())
			return live.Status.Parents
		}).Should(BeEmpty())
		Eventually(func() bool { _, ok := configs.Get(client.ObjectKeyFromObject(second)); return ok }).Should(BeFalse())
	})
})
