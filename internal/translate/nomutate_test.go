package translate_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/api/v1alpha1"
	"github.com/drawbridge-dev/drawbridge/internal/translate"
	"github.com/drawbridge-dev/drawbridge/internal/translatecli"
)

// TestTranslateLeavesItsInputAlone translates every golden input from a
// snapshot and checks that the snapshot is unchanged afterwards. The
// operator hands translation the objects of its informer cache without
// copying them (client.UnsafeDisableDeepCopy), so a write here would
// corrupt the cache.
func TestTranslateLeavesItsInputAlone(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.in.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range inputs {
		f, err := os.Open(in)
		if err != nil {
			t.Fatal(err)
		}
		objs := &translatecli.Objects{}
		err = objs.Decode(filepath.Base(in), f)
		f.Close()
		if err != nil {
			continue // the golden case is about an input error
		}
		snaps, _ := objs.Snapshots()
		for _, s := range snaps {
			before := deepCopySnapshot(s.Snapshot)
			_, _ = translate.Translate(s.Snapshot)
			if !reflect.DeepEqual(before, s.Snapshot) {
				t.Errorf("%s: translating Gateway %s changed its input snapshot", filepath.Base(in), s.Name)
			}
		}
	}
}

// deepCopySnapshot copies every object of a snapshot with its generated
// DeepCopy, keeping nil and empty slices as they were.
func deepCopySnapshot(s *translate.Snapshot) *translate.Snapshot {
	out := *s
	if s.GatewayClass != nil {
		out.GatewayClass = s.GatewayClass.DeepCopy()
	}
	if s.Gateway != nil {
		out.Gateway = s.Gateway.DeepCopy()
	}
	out.ListenerSets = copyEach(s.ListenerSets, func(x *gwv1.ListenerSet) gwv1.ListenerSet { return *x.DeepCopy() })
	out.HTTPRoutes = copyEach(s.HTTPRoutes, func(x *gwv1.HTTPRoute) gwv1.HTTPRoute { return *x.DeepCopy() })
	out.GRPCRoutes = copyEach(s.GRPCRoutes, func(x *gwv1.GRPCRoute) gwv1.GRPCRoute { return *x.DeepCopy() })
	out.TLSRoutes = copyEach(s.TLSRoutes, func(x *gwv1.TLSRoute) gwv1.TLSRoute { return *x.DeepCopy() })
	out.TCPRoutes = copyEach(s.TCPRoutes, func(x *gwv1.TCPRoute) gwv1.TCPRoute { return *x.DeepCopy() })
	out.UDPRoutes = copyEach(s.UDPRoutes, func(x *gwv1.UDPRoute) gwv1.UDPRoute { return *x.DeepCopy() })
	out.Services = copyEach(s.Services, func(x *corev1.Service) corev1.Service { return *x.DeepCopy() })
	out.EndpointSlices = copyEach(s.EndpointSlices, func(x *discoveryv1.EndpointSlice) discoveryv1.EndpointSlice { return *x.DeepCopy() })
	out.Secrets = copyEach(s.Secrets, func(x *corev1.Secret) corev1.Secret { return *x.DeepCopy() })
	out.ConfigMaps = copyEach(s.ConfigMaps, func(x *corev1.ConfigMap) corev1.ConfigMap { return *x.DeepCopy() })
	out.ReferenceGrants = copyEach(s.ReferenceGrants, func(x *gwv1.ReferenceGrant) gwv1.ReferenceGrant { return *x.DeepCopy() })
	out.Namespaces = copyEach(s.Namespaces, func(x *corev1.Namespace) corev1.Namespace { return *x.DeepCopy() })
	out.BackendTLSPolicies = copyEach(s.BackendTLSPolicies, func(x *gwv1.BackendTLSPolicy) gwv1.BackendTLSPolicy { return *x.DeepCopy() })
	out.KongPlugins = copyEach(s.KongPlugins, func(x *v1alpha1.KongPlugin) v1alpha1.KongPlugin { return *x.DeepCopy() })
	out.KongConsumers = copyEach(s.KongConsumers, func(x *v1alpha1.KongConsumer) v1alpha1.KongConsumer { return *x.DeepCopy() })
	return &out
}

func copyEach[T any](in []T, cp func(*T) T) []T {
	if in == nil {
		return nil
	}
	out := make([]T, len(in))
	for i := range in {
		out[i] = cp(&in[i])
	}
	return out
}
