package envtest

import (
	"context"
	"fmt"
	"sync/atomic"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/api/v1alpha1"
	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
)

var counter atomic.Int64

func unique(prefix string) string { return fmt.Sprintf("%s-%d", prefix, counter.Add(1)) }

func newNamespace() string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: unique("ns")}}
	Expect(k8s.Create(context.Background(), ns)).To(Succeed())
	return ns.Name
}

func newConfig(ns string, spec v1alpha1.GatewayConfigurationSpec) *v1alpha1.GatewayConfiguration {
	cfg := &v1alpha1.GatewayConfiguration{ObjectMeta: metav1.ObjectMeta{Name: unique("config"), Namespace: ns}, Spec: spec}
	Expect(k8s.Create(context.Background(), cfg)).To(Succeed())
	return cfg
}

func configRef(cfg *v1alpha1.GatewayConfiguration) *gwv1.ParametersReference {
	return &gwv1.ParametersReference{
		Group: gwv1.Group(v1alpha1.GroupVersion.Group), Kind: v1alpha1.GatewayConfigurationKind,
		Name: cfg.Name, Namespace: ptr.To(gwv1.Namespace(cfg.Namespace)),
	}
}

func newClass(params *gwv1.ParametersReference) *gwv1.GatewayClass {
	class := &gwv1.GatewayClass{
		ObjectMeta: metav1.ObjectMeta{Name: unique("class")},
		Spec:       gwv1.GatewayClassSpec{ControllerName: gatewayapi.ControllerName, ParametersRef: params},
	}
	Expect(k8s.Create(context.Background(), class)).To(Succeed())
	return class
}

func httpListener(name string, port int32) gwv1.Listener {
	return gwv1.Listener{Name: gwv1.SectionName(name), Port: gwv1.PortNumber(port), Protocol: gwv1.HTTPProtocolType}
}

func newGateway(ns, class string, mutate func(*gwv1.Gateway), listeners ...gwv1.Listener) *gwv1.Gateway {
	if len(listeners) == 0 {
		listeners = []gwv1.Listener{httpListener("http", 80)}
	}
	gw := &gwv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Name: unique("gw"), Namespace: ns},
		Spec:       gwv1.GatewaySpec{GatewayClassName: gwv1.ObjectName(class), Listeners: listeners},
	}
	if mutate != nil {
		mutate(gw)
	}
	Expect(k8s.Create(context.Background(), gw)).To(Succeed())
	return gw
}

func get(obj client.Object, ns, name string) func() error {
	return func() error {
		return k8s.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, obj)
	}
}

// condition returns a function that reads one condition of an object for Eventually.
func gatewayCondition(gw *gwv1.Gateway, condType string) func() *metav1.Condition {
	return func() *metav1.Condition {
		var live gwv1.Gateway
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(gw), &live); err != nil {
			return nil
		}
		c := meta.FindStatusCondition(live.Status.Conditions, condType)
		if c != nil && c.ObservedGeneration != live.Generation {
			return nil // not yet about the current spec
		}
		return c
	}
}

func classCondition(name string) func() *metav1.Condition {
	return func() *metav1.Condition {
		var live gwv1.GatewayClass
		if err := k8s.Get(context.Background(), types.NamespacedName{Name: name}, &live); err != nil {
			return nil
		}
		c := meta.FindStatusCondition(live.Status.Conditions, string(gwv1.GatewayClassConditionStatusAccepted))
		if c != nil && c.ObservedGeneration != live.Generation {
			return nil
		}
		return c
	}
}

func listenerStatus(gw *gwv1.Gateway, name string) func() *gwv1.ListenerStatus {
	return func() *gwv1.ListenerStatus {
		var live gwv1.Gateway
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(gw), &live); err != nil {
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

// haveCondition matches a *metav1.Condition by status and reason.
func haveCondition(status metav1.ConditionStatus, reason string) OmegaMatcherAlias {
	return And(Not(BeNil()), HaveField("Status", status), HaveField("Reason", reason))
}

func listenerCondition(condType string, status metav1.ConditionStatus, reason string) OmegaMatcherAlias {
	return ContainElement(And(HaveField("Type", condType), HaveField("Status", status), HaveField("Reason", reason)))
}
