package controllers

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/api/v1alpha1"
	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
)

// Field indexes let a change to one object find the objects it affects
// without listing everything.
const (
	// indexClassParams: GatewayClass -> "namespace/name" of its GatewayConfiguration.
	indexClassParams = "drawbridge.classParametersRef"
	// indexGatewayClass: Gateway -> spec.gatewayClassName.
	indexGatewayClass = "drawbridge.gatewayClassName"
	// indexGatewayParams: Gateway -> "namespace/name" of its infrastructure GatewayConfiguration.
	indexGatewayParams = "drawbridge.gatewayParametersRef"
	// indexGatewaySecrets: Gateway -> "namespace/name" of each listener
	// Secret and each CA Secret of spec.tls.frontend.
	indexGatewaySecrets = "drawbridge.gatewaySecretRefs"
	// indexGatewayCAConfigMaps: Gateway -> "namespace/name" of each CA
	// ConfigMap of spec.tls.frontend.
	indexGatewayCAConfigMaps = "drawbridge.gatewayCAConfigMaps"
	// indexRouteGateways: route -> "namespace/name" of each Gateway it names.
	indexRouteGateways = "drawbridge.routeGateways"
	// indexRouteBackends: route -> "namespace/name" of each backend Service.
	indexRouteBackends = "drawbridge.routeBackends"
	// indexRouteListenerSets: route -> "namespace/name" of each ListenerSet it names.
	indexRouteListenerSets = "drawbridge.routeListenerSets"
	// indexListenerSetGateway: ListenerSet -> "namespace/name" of its parent Gateway.
	indexListenerSetGateway = "drawbridge.listenerSetGateway"
	// indexListenerSetSecrets: ListenerSet -> "namespace/name" of each listener Secret.
	indexListenerSetSecrets = "drawbridge.listenerSetSecretRefs"
	// indexKongPluginAncestors: KongPlugin -> "namespace/name" of each Gateway with our entry in its status.
	indexKongPluginAncestors = "drawbridge.kongPluginAncestors"
	// indexKongPluginSecrets: KongPlugin -> "namespace/name" of each configFrom Secret.
	indexKongPluginSecrets = "drawbridge.kongPluginSecrets"
	// indexKongConsumerSecrets: KongConsumer -> "namespace/name" of each credential Secret.
	indexKongConsumerSecrets = "drawbridge.kongConsumerSecrets"
	// indexConfigCustomPlugins: GatewayConfiguration -> "namespace/name" of each custom plugin ConfigMap.
	indexConfigCustomPlugins = "drawbridge.configCustomPlugins"
	// indexBackendTLSPolicyConfigMaps: BackendTLSPolicy -> "namespace/name" of each CA ConfigMap.
	indexBackendTLSPolicyConfigMaps = "drawbridge.backendTLSPolicyConfigMaps"
	// indexBackendTLSPolicyAncestors: BackendTLSPolicy -> "namespace/name" of each Gateway with our entry in its status.
	indexBackendTLSPolicyAncestors = "drawbridge.backendTLSPolicyAncestors"
)

// SetupIndexes registers the field indexes the reconcilers query.
func SetupIndexes(ctx context.Context, indexer client.FieldIndexer, routeKinds []routeKind, listenerSets, backendTLSPolicies bool) error {
	type index struct {
		obj     client.Object
		field   string
		extract client.IndexerFunc
	}
	indexes := []index{
		{&gwv1.GatewayClass{}, indexClassParams, func(o client.Object) []string {
			ref := o.(*gwv1.GatewayClass).Spec.ParametersRef
			if ref == nil || ref.Namespace == nil || string(ref.Group) != v1alpha1.GroupVersion.Group || string(ref.Kind) != v1alpha1.GatewayConfigurationKind {
				return nil
			}
			return []string{string(*ref.Namespace) + "/" + ref.Name}
		}},
		{&gwv1.Gateway{}, indexGatewayClass, func(o client.Object) []string {
			return []string{string(o.(*gwv1.Gateway).Spec.GatewayClassName)}
		}},
		{&gwv1.Gateway{}, indexGatewayParams, func(o client.Object) []string {
			gw := o.(*gwv1.Gateway)
			if gw.Spec.Infrastructure == nil || gw.Spec.Infrastructure.ParametersRef == nil {
				return nil
			}
			return []string{gw.Namespace + "/" + gw.Spec.Infrastructure.ParametersRef.Name}
		}},
		{&gwv1.Gateway{}, indexGatewaySecrets, func(o client.Object) []string {
			gw := o.(*gwv1.Gateway)
			keys := append(gatewayapi.ListenerSecretRefs(gw), gatewayapi.FrontendCASecretRefs(gw)...)
			// The backend client certificate is read like a listener's.
			if k := gatewayapi.BackendClientCertificateRef(gw); k != nil {
				keys = append(keys, *k)
			}
			return keyStrings(keys)
		}},
		{&gwv1.Gateway{}, indexGatewayCAConfigMaps, func(o client.Object) []string {
			return keyStrings(gatewayapi.FrontendCAConfigMapRefs(o.(*gwv1.Gateway)))
		}},
		{&v1alpha1.KongPlugin{}, indexKongPluginAncestors, func(o client.Object) []string {
			return kongPluginAncestorGateways(o.(*v1alpha1.KongPlugin))
		}},
		{&v1alpha1.KongPlugin{}, indexKongPluginSecrets, func(o client.Object) []string {
			return keyStrings(kongPluginSecrets(o.(*v1alpha1.KongPlugin)))
		}},
		{&v1alpha1.KongConsumer{}, indexKongConsumerSecrets, func(o client.Object) []string {
			return keyStrings(kongConsumerSecrets(o.(*v1alpha1.KongConsumer)))
		}},
		{&v1alpha1.GatewayConfiguration{}, indexConfigCustomPlugins, func(o client.Object) []string {
			cfg := o.(*v1alpha1.GatewayConfiguration)
			if cfg.Spec.Plugins == nil {
				return nil
			}
			var keys []string
			for _, c := range cfg.Spec.Plugins.Custom {
				keys = append(keys, cfg.Namespace+"/"+c.ConfigMapName)
			}
			return keys
		}},
	}
	if listenerSets {
		indexes = append(indexes,
			index{&gwv1.ListenerSet{}, indexListenerSetGateway, func(o client.Object) []string {
				if key, ok := gatewayapi.ListenerSetParent(o.(*gwv1.ListenerSet)); ok {
					return []string{key.String()}
				}
				return nil
			}},
			index{&gwv1.ListenerSet{}, indexListenerSetSecrets, func(o client.Object) []string {
				var keys []string
				for _, k := range gatewayapi.ListenerSetSecretRefs(o.(*gwv1.ListenerSet)) {
					keys = append(keys, k.String())
				}
				return keys
			}},
		)
	}
	if backendTLSPolicies {
		indexes = append(indexes,
			index{&gwv1.BackendTLSPolicy{}, indexBackendTLSPolicyConfigMaps, func(o client.Object) []string {
				return keyStrings(policyConfigMaps(o.(*gwv1.BackendTLSPolicy)))
			}},
			index{&gwv1.BackendTLSPolicy{}, indexBackendTLSPolicyAncestors, func(o client.Object) []string {
				return backendTLSAncestorGateways(o.(*gwv1.BackendTLSPolicy))
			}},
		)
	}
	for _, k := range routeKinds {
		if listenerSets {
			indexes = append(indexes, index{k.newObj(), indexRouteListenerSets, routeListenerSets})
		}
		indexes = append(indexes,
			struct {
				obj     client.Object
				field   string
				extract client.IndexerFunc
			}{k.newObj(), indexRouteGateways, routeGateways},
			struct {
				obj     client.Object
				field   string
				extract client.IndexerFunc
			}{k.newObj(), indexRouteBackends, routeBackendRefs},
		)
	}
	for _, ix := range indexes {
		if err := indexer.IndexField(ctx, ix.obj, ix.field, ix.extract); err != nil {
			return fmt.Errorf("index %s: %w", ix.field, err)
		}
	}
	return nil
}

func keyStrings(keys []types.NamespacedName) []string {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k.String())
	}
	return out
}
