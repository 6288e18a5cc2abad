package envtest

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/api/v1alpha1"
	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
)

var _ = Describe("GatewayClass", func() {
	ctx := context.Background()

	It("accepts a class without parameters and publishes the features conformance proved", func() {
		class := newClass(nil)
		Eventually(classCondition(class.Name)).Should(haveCondition(metav1.ConditionTrue, string(gwv1.GatewayClassReasonAccepted)))
		var live gwv1.GatewayClass
		Expect(k8s.Get(ctx, types.NamespacedName{Name: class.Name}, &live)).To(Succeed())
		Expect(live.Status.SupportedFeatures).To(Equal(gatewayapi.SupportedFeatures(gatewayapi.AllServed())))
		Expect(live.Status.SupportedFeatures).To(ContainElement(gwv1.SupportedFeature{Name: "HTTPRoute"}))
	})

	It("leaves classes of other controllers alone", func() {
		class := &gwv1.GatewayClass{
			ObjectMeta: metav1.ObjectMeta{Name: unique("other")},
			Spec:       gwv1.GatewayClassSpec{ControllerName: "example.com/other"},
		}
		Expect(k8s.Create(ctx, class)).To(Succeed())
		Consistently(func() string {
			var live gwv1.GatewayClass
			Expect(k8s.Get(ctx, types.NamespacedName{Name: class.Name}, &live)).To(Succeed())
			for _, c := range live.Status.Conditions {
				if c.Type == "Accepted" {
					return c.Reason
				}
			}
			return ""
		}, "1s").Should(Equal("Pending"), "the API server default must stay untouched")
	})

	DescribeTable("rejects invalid parameters with a message naming the problem",
		func(ref func(ns string) *gwv1.ParametersReference, message string) {
			ns := newNamespace()
			class := newClass(ref(ns))
			Eventually(classCondition(class.Name)).Should(And(
				haveCondition(metav1.ConditionFalse, string(gwv1.GatewayClassReasonInvalidParameters)),
				HaveField("Message", ContainSubstring(message))))
		},
		Entry("wrong kind", func(ns string) *gwv1.ParametersReference {
			return &gwv1.ParametersReference{Group: "", Kind: "ConfigMap", Name: "x", Namespace: ptr.To(gwv1.Namespace(ns))}
		}, `not group "" kind "ConfigMap"`),
		Entry("no namespace", func(string) *gwv1.ParametersReference {
			return &gwv1.ParametersReference{Group: "gateway.drawbridge.dev", Kind: "GatewayConfiguration", Name: "x"}
		}, "parametersRef.namespace is required"),
		Entry("missing object", func(ns string) *gwv1.ParametersReference {
			return &gwv1.ParametersReference{Group: "gateway.drawbridge.dev", Kind: "GatewayConfiguration", Name: "absent", Namespace: ptr.To(gwv1.Namespace(ns))}
		}, "not found"),
	)

	It("re-evaluates when the referenced GatewayConfiguration appears, changes or breaks", func() {
		ns := newNamespace()
		ref := &gwv1.ParametersReference{Group: "gateway.drawbridge.dev", Kind: "GatewayConfiguration", Name: "later", Namespace: ptr.To(gwv1.Namespace(ns))}
		class := newClass(ref)
		Eventually(classCondition(class.Name)).Should(haveCondition(metav1.ConditionFalse, string(gwv1.GatewayClassReasonInvalidParameters)))

		cfg := &v1alpha1.GatewayConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "later", Namespace: ns}}
		Expect(k8s.Create(ctx, cfg)).To(Succeed())
		Eventually(classCondition(class.Name)).Should(haveCondition(metav1.ConditionTrue, string(gwv1.GatewayClassReasonAccepted)))

		// A podTemplate patch that cannot apply is only visible when rendering.
		cfg.Spec.DataPlane = &v1alpha1.DataPlaneConfig{PodTemplate: rawJSON(`{"spec":{"nodeSelector":"not-a-map"}}`)}
		Expect(k8s.Update(ctx, cfg)).To(Succeed())
		Eventually(classCondition(class.Name)).Should(And(
			haveCondition(metav1.ConditionFalse, string(gwv1.GatewayClassReasonInvalidParameters)),
			HaveField("Message", ContainSubstring("dataPlane.podTemplate"))))
	})
})
