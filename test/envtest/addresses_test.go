package envtest

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/provision"
)

var _ = Describe("Gateway spec.addresses", func() {
	ctx := context.Background()
	ip := func(v string) gwv1.GatewaySpecAddress {
		return gwv1.GatewaySpecAddress{Type: ptr.To(gwv1.IPAddressType), Value: v}
	}
	setAddresses := func(gw *gwv1.Gateway, addrs ...gwv1.GatewaySpecAddress) {
		Eventually(func() error {
			var live gwv1.Gateway
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(gw), &live); err != nil {
				return err
			}
			live.Spec.Addresses = addrs
			return k8s.Update(ctx, &live)
		}).Should(Succeed())
	}

	// The states of the upstream GatewayStaticAddresses conformance test, with
	// this envtest playing the load balancer.
	It("asks the load balancer for one IPAddress and is Programmed only once it is assigned", func() {
		ns := newNamespace()
		class := newClass(nil)
		gw := newGateway(ns, class.Name, func(gw *gwv1.Gateway) {
			gw.Spec.Addresses = []gwv1.GatewaySpecAddress{
				{Type: ptr.To(gwv1.AddressType("test/fake-invalid-type")), Value: "fake address teehee!"},
				ip("192.0.2.10"), ip("172.18.255.240"),
			}
		})
		name := provision.NamesFor(gw).DataPlane
		service := func() *corev1.Service {
			var svc corev1.Service
			if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &svc); err != nil {
				return nil
			}
			return &svc
		}

		Eventually(gatewayCondition(gw, "Accepted")).Should(And(
			haveCondition(metav1.ConditionFalse, "UnsupportedAddress"),
			HaveField("Message", ContainSubstring(`spec.addresses[0] has type "test/fake-invalid-type"`))))
		Expect(gatewayCondition(gw, "Programmed")()).To(haveCondition(metav1.ConditionFalse, "Invalid"))
		Expect(apierrors.IsNotFound(get(&corev1.Service{}, ns, name)())).To(BeTrue(), "nothing is provisioned for an unsupported address")
		Eventually(func() []string {
			var events corev1.EventList
			Expect(k8s.List(ctx, &events, client.InNamespace(ns))).To(Succeed())
			var reasons []string
			for _, e := range events.Items {
				reasons = append(reasons, e.Reason)
			}
			return reasons
		}).Should(ContainElement("UnsupportedAddress"))

		setAddresses(gw, ip("192.0.2.10"), ip("172.18.255.240"))
		Eventually(gatewayCondition(gw, "Accepted")).Should(haveCondition(metav1.ConditionTrue, "Accepted"))
		Eventually(gatewayCondition(gw, "Programmed")).Should(And(
			haveCondition(metav1.ConditionFalse, "AddressNotUsable"), HaveField("Message", ContainSubstring("spec.addresses has 2 addresses"))))

		setAddresses(gw, ip("172.18.255.240"))
		Eventually(service).Should(HaveField("Spec.LoadBalancerIP", "172.18.255.240"))
		Eventually(gatewayCondition(gw, "Programmed")).Should(And(
			haveCondition(metav1.ConditionFalse, "AddressNotUsable"),
			HaveField("Message", ContainSubstring("has not assigned the requested address 172.18.255.240"))))

		// A load balancer that hands out another address does not program it.
		playLoadBalancer(ns, name, "172.18.255.9")
		Eventually(gatewayCondition(gw, "Programmed")).Should(And(
			haveCondition(metav1.ConditionFalse, "AddressNotUsable"), HaveField("Message", ContainSubstring("the Service has 172.18.255.9"))))

		playLoadBalancer(ns, name, "172.18.255.240")
		publishReplicas(gw, startReplica(gw))
		playDeploymentController(ns, name, 1)
		Eventually(gatewayCondition(gw, "Programmed")).Should(haveCondition(metav1.ConditionTrue, "Programmed"))
		var live gwv1.Gateway
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(gw), &live)).To(Succeed())
		Expect(live.Status.Addresses).To(ConsistOf(gwv1.GatewayStatusAddress{Type: ptr.To(gwv1.IPAddressType), Value: "172.18.255.240"}))
	})
})
