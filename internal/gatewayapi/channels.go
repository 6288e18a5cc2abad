package gatewayapi

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/gateway-api/pkg/features"
)

// FieldRef names something users must be able to write in a Gateway API
// kind (at v1) for a feature to be usable: a field, as a path of property
// names from the object's root with "[]" for the items of a list
// ("spec.parentRefs[].port"), optionally followed by "=value" for one value
// of that field's enum ("spec.rules[].filters[].type=CORS").
type FieldRef struct {
	Kind string
	Path string
}

func (r FieldRef) String() string { return r.Kind + " " + r.Path }

// featureFields lists, for every claimed feature, the fields its upstream
// conformance tests (v1.7.0) write that set it apart from the core of its
// kind. The API server prunes a field its CRD's schema lacks and refuses an
// enum value the schema does not list, so a feature whose fields the
// installed CRD lacks cannot be used there and is not claimed (see
// SupportedFeatures). A unit test checks every entry against the CRDs of the
// sigs.k8s.io/gateway-api module and fails for a claimed feature without one.
var featureFields = map[features.FeatureName][]FieldRef{
	features.SupportBackendTLSPolicy: {
		{"BackendTLSPolicy", "spec.targetRefs[].name"}, {"BackendTLSPolicy", "spec.validation.hostname"},
		{"BackendTLSPolicy", "spec.validation.caCertificateRefs[].name"},
	},
	features.SupportBackendTLSPolicySANValidation: {
		{"BackendTLSPolicy", "spec.validation.subjectAltNames[].type=Hostname"}, {"BackendTLSPolicy", "spec.validation.subjectAltNames[].hostname"},
		{"BackendTLSPolicy", "spec.validation.subjectAltNames[].type=URI"}, {"BackendTLSPolicy", "spec.validation.subjectAltNames[].uri"},
	},
	features.SupportGateway: {
		{"Gateway", "spec.gatewayClassName"}, {"Gateway", "spec.listeners[].protocol"}, {"Gateway", "spec.listeners[].allowedRoutes.namespaces.from"},
	},
	features.SupportGatewayAddressEmpty:             {{"Gateway", "spec.addresses[].type"}},
	features.SupportGatewayBackendClientCertificate: {{"Gateway", "spec.tls.backend.clientCertificateRef.name"}},
	features.SupportGatewayFrontendClientCertificateValidation: {
		{"Gateway", "spec.tls.frontend.default.validation.caCertificateRefs[].name"},
		{"Gateway", "spec.tls.frontend.perPort[].port"}, {"Gateway", "spec.tls.frontend.perPort[].tls.validation.caCertificateRefs[].name"},
	},
	features.SupportGatewayFrontendClientCertificateValidationInsecureFallback: {
		{"Gateway", "spec.tls.frontend.default.validation.mode=AllowInsecureFallback"},
		{"Gateway", "spec.tls.frontend.perPort[].tls.validation.mode=AllowInsecureFallback"},
	},
	features.SupportGatewayHTTPListenerIsolation:                  {{"Gateway", "spec.listeners[].hostname"}, {"HTTPRoute", "spec.parentRefs[].sectionName"}},
	features.SupportGatewayHTTPSListenerDetectMisdirectedRequests: {{"Gateway", "spec.listeners[].hostname"}, {"Gateway", "spec.listeners[].tls.certificateRefs[].name"}},
	features.SupportGatewayInfrastructure: {
		{"Gateway", "spec.infrastructure.labels"}, {"Gateway", "spec.infrastructure.annotations"}, {"Gateway", "spec.infrastructure.parametersRef.name"},
	},
	features.SupportGatewayPort8080: {{"Gateway", "spec.listeners[].port"}},
	features.SupportGatewayRouteHostnameIntersectionPrecedence: {
		{"Gateway", "spec.listeners[].hostname"}, {"Gateway", "spec.listeners[].allowedRoutes.kinds[].kind"}, {"HTTPRoute", "spec.hostnames"},
	},
	features.SupportGatewayStaticAddresses: {{"Gateway", "spec.addresses[].type"}, {"Gateway", "spec.addresses[].value"}},
	features.SupportGRPCRoute: {
		{"GRPCRoute", "spec.parentRefs[].name"}, {"GRPCRoute", "spec.hostnames"}, {"GRPCRoute", "spec.rules[].matches[].method.service"},
		{"GRPCRoute", "spec.rules[].backendRefs[].port"},
	},
	features.SupportGRPCRouteNamedRouteRule: {{"GRPCRoute", "spec.rules[].name"}},
	features.SupportGRPCRouteRequestHeaderModifier: {
		{"GRPCRoute", "spec.rules[].filters[].type=RequestHeaderModifier"}, {"GRPCRoute", "spec.rules[].filters[].requestHeaderModifier.set[].value"},
	},
	features.SupportHTTPRoute: {
		{"HTTPRoute", "spec.parentRefs[].name"}, {"HTTPRoute", "spec.hostnames"}, {"HTTPRoute", "spec.rules[].matches[].path.type=PathPrefix"},
		{"HTTPRoute", "spec.rules[].matches[].headers[].value"}, {"HTTPRoute", "spec.rules[].backendRefs[].port"},
	},
	features.SupportHTTPRoute303RedirectStatusCode: {{"HTTPRoute", "spec.rules[].filters[].requestRedirect.statusCode=303"}},
	features.SupportHTTPRoute307RedirectStatusCode: {{"HTTPRoute", "spec.rules[].filters[].requestRedirect.statusCode=307"}},
	features.SupportHTTPRoute308RedirectStatusCode: {{"HTTPRoute", "spec.rules[].filters[].requestRedirect.statusCode=308"}},
	// The backend's protocol is the appProtocol of its Service port: the
	// route needs nothing beyond a backend.
	features.SupportHTTPRouteBackendProtocolH2C:       {{"HTTPRoute", "spec.rules[].backendRefs[].port"}},
	features.SupportHTTPRouteBackendProtocolWebSocket: {{"HTTPRoute", "spec.rules[].backendRefs[].port"}},
	features.SupportHTTPRouteBackendRequestHeaderModification: {
		{"HTTPRoute", "spec.rules[].backendRefs[].filters[].type=RequestHeaderModifier"},
		{"HTTPRoute", "spec.rules[].backendRefs[].filters[].requestHeaderModifier.set[].value"},
	},
	features.SupportHTTPRouteBackendTimeout: {{"HTTPRoute", "spec.rules[].timeouts.backendRequest"}},
	features.SupportHTTPRouteBackendURLRewrite: {
		{"HTTPRoute", "spec.rules[].backendRefs[].filters[].type=URLRewrite"},
		{"HTTPRoute", "spec.rules[].backendRefs[].filters[].urlRewrite.path.type=ReplaceFullPath"},
		{"HTTPRoute", "spec.rules[].backendRefs[].filters[].urlRewrite.path.type=ReplacePrefixMatch"},
	},
	features.SupportHTTPRouteCORS: {
		{"HTTPRoute", "spec.rules[].filters[].type=CORS"}, {"HTTPRoute", "spec.rules[].filters[].cors.allowOrigins"},
		{"HTTPRoute", "spec.rules[].filters[].cors.allowCredentials"}, {"HTTPRoute", "spec.rules[].filters[].cors.allowMethods"},
		{"HTTPRoute", "spec.rules[].filters[].cors.allowHeaders"}, {"HTTPRoute", "spec.rules[].filters[].cors.exposeHeaders"},
		{"HTTPRoute", "spec.rules[].filters[].cors.maxAge"},
	},
	features.SupportHTTPRouteDestinationPortMatching: {{"HTTPRoute", "spec.parentRefs[].port"}},
	features.SupportHTTPRouteHostRewrite:             {{"HTTPRoute", "spec.rules[].filters[].type=URLRewrite"}, {"HTTPRoute", "spec.rules[].filters[].urlRewrite.hostname"}},
	features.SupportHTTPRouteMethodMatching: {
		{"HTTPRoute", "spec.rules[].matches[].method=GET"}, {"HTTPRoute", "spec.rules[].matches[].method=POST"},
		{"HTTPRoute", "spec.rules[].matches[].method=PUT"}, {"HTTPRoute", "spec.rules[].matches[].method=PATCH"},
		{"HTTPRoute", "spec.rules[].matches[].method=DELETE"},
	},
	features.SupportHTTPRouteNamedRouteRule: {{"HTTPRoute", "spec.rules[].name"}},
	features.SupportHTTPRouteParentRefPort:  {{"HTTPRoute", "spec.parentRefs[].port"}},
	features.SupportHTTPRoutePathRedirect: {
		{"HTTPRoute", "spec.rules[].filters[].requestRedirect.path.type=ReplaceFullPath"}, {"HTTPRoute", "spec.rules[].filters[].requestRedirect.path.replaceFullPath"},
		{"HTTPRoute", "spec.rules[].filters[].requestRedirect.path.type=ReplacePrefixMatch"}, {"HTTPRoute", "spec.rules[].filters[].requestRedirect.path.replacePrefixMatch"},
	},
	features.SupportHTTPRoutePathRewrite: {
		{"HTTPRoute", "spec.rules[].filters[].type=URLRewrite"},
		{"HTTPRoute", "spec.rules[].filters[].urlRewrite.path.type=ReplaceFullPath"}, {"HTTPRoute", "spec.rules[].filters[].urlRewrite.path.replaceFullPath"},
		{"HTTPRoute", "spec.rules[].filters[].urlRewrite.path.type=ReplacePrefixMatch"}, {"HTTPRoute", "spec.rules[].filters[].urlRewrite.path.replacePrefixMatch"},
	},
	features.SupportHTTPRoutePortRedirect:       {{"HTTPRoute", "spec.rules[].filters[].requestRedirect.port"}},
	features.SupportHTTPRouteQueryParamMatching: {{"HTTPRoute", "spec.rules[].matches[].queryParams[].name"}, {"HTTPRoute", "spec.rules[].matches[].queryParams[].value"}},
	features.SupportHTTPRouteRequestMirror: {
		{"HTTPRoute", "spec.rules[].filters[].type=RequestMirror"}, {"HTTPRoute", "spec.rules[].filters[].requestMirror.backendRef.name"},
		{"HTTPRoute", "spec.rules[].filters[].requestMirror.backendRef.namespace"}, {"HTTPRoute", "spec.rules[].filters[].requestMirror.backendRef.port"},
	},
	features.SupportHTTPRouteRequestMultipleMirrors: {
		{"HTTPRoute", "spec.rules[].filters[].type=RequestMirror"}, {"HTTPRoute", "spec.rules[].filters[].requestMirror.backendRef.name"},
	},
	features.SupportHTTPRouteRequestPercentageMirror: {
		{"HTTPRoute", "spec.rules[].filters[].requestMirror.percent"},
		{"HTTPRoute", "spec.rules[].filters[].requestMirror.fraction.numerator"}, {"HTTPRoute", "spec.rules[].filters[].requestMirror.fraction.denominator"},
	},
	features.SupportHTTPRouteRequestTimeout: {{"HTTPRoute", "spec.rules[].timeouts.request"}},
	features.SupportHTTPRouteResponseHeaderModification: {
		{"HTTPRoute", "spec.rules[].filters[].type=ResponseHeaderModifier"}, {"HTTPRoute", "spec.rules[].filters[].responseHeaderModifier.set[].value"},
		{"HTTPRoute", "spec.rules[].filters[].responseHeaderModifier.add[].value"}, {"HTTPRoute", "spec.rules[].filters[].responseHeaderModifier.remove"},
	},
	features.SupportHTTPRouteRetryCodes:           {{"HTTPRoute", "spec.rules[].retry.attempts"}, {"HTTPRoute", "spec.rules[].retry.codes"}},
	features.SupportHTTPRouteRetryConnectionError: {{"HTTPRoute", "spec.rules[].retry.attempts"}},
	features.SupportHTTPRouteSchemeRedirect:       {{"HTTPRoute", "spec.rules[].filters[].requestRedirect.scheme"}},
	features.SupportListenerSet: {
		{"ListenerSet", "spec.parentRef.name"}, {"ListenerSet", "spec.listeners[].port"}, {"ListenerSet", "spec.listeners[].allowedRoutes.namespaces.from"},
		{"Gateway", "spec.allowedListeners.namespaces.from"},
	},
	features.SupportReferenceGrant: {{"ReferenceGrant", "spec.from[].namespace"}, {"ReferenceGrant", "spec.to[].kind"}},
	features.SupportTCPRoute:       {{"TCPRoute", "spec.parentRefs[].name"}, {"TCPRoute", "spec.rules[].backendRefs[].port"}},
	features.SupportTLSRoute: {
		{"TLSRoute", "spec.hostnames"}, {"TLSRoute", "spec.rules[].backendRefs[].port"}, {"Gateway", "spec.listeners[].tls.mode=Passthrough"},
	},
	features.SupportTLSRouteModeMixed:     {{"Gateway", "spec.listeners[].tls.mode=Passthrough"}, {"Gateway", "spec.listeners[].tls.mode=Terminate"}},
	features.SupportTLSRouteModeTerminate: {{"Gateway", "spec.listeners[].tls.mode=Terminate"}, {"Gateway", "spec.listeners[].tls.certificateRefs[].name"}},
	features.SupportUDPRoute:              {{"UDPRoute", "spec.parentRefs[].name"}, {"UDPRoute", "spec.rules[].backendRefs[].port"}},
}

// experimentalOnlyFeatures are the claimed features that need a field (or
// enum value) which only the experimental-channel CRDs of the Gateway API
// release we build with have, each with those fields: on that release's
// standard channel they are not claimed. A unit test derives this table
// from the module's two CRD directories, so it cannot drift when the module
// is bumped or a feature is claimed.
//
// In v1.7.0 it is empty. To the kinds we serve, the experimental channel
// adds only the fields Gateway spec.addresses[].routability,
// spec.defaultScope and spec.listeners[].filters, ListenerSet
// spec.listeners[].filters, HTTPRoute and GRPCRoute
// spec.rules[].sessionPersistence, spec.useDefaultGateways (every route
// kind) and HTTPRoute's ExternalAuth filter type; no claimed feature uses
// them. HTTPRouteDestinationPortMatching is filed as experimental in
// sigs.k8s.io/gateway-api/pkg/features, but the one field its test writes,
// HTTPRoute spec.parentRefs[].port, is in the standard CRD; what only the
// experimental CRDs allow there (their CEL rules) is two parentRefs to the
// same parent told apart by port alone, which no conformance test of a
// claimed feature writes. The other differences are stricter rules in the
// experimental CRDs (header value patterns, BackendTLSPolicy validation).
var experimentalOnlyFeatures = map[features.FeatureName][]FieldRef{}

// FieldKinds are the kinds whose CRDs SupportedFeatures needs the schema of:
// every kind named in featureFields, sorted.
func FieldKinds() []string {
	var kinds []string
	for _, refs := range featureFields {
		for _, r := range refs {
			if !slices.Contains(kinds, r.Kind) {
				kinds = append(kinds, r.Kind)
			}
		}
	}
	slices.Sort(kinds)
	return kinds
}

// MissingFields returns the fields of featureFields for kind that the v1
// schema of crd (that kind's CRD) does not let users write, sorted. The
// schema decides, not the channel annotation: the annotation names the
// channel but not the release, and a channel's fields change from one
// release to the next.
func MissingFields(kind string, crd *apiextensionsv1.CustomResourceDefinition) ([]string, error) {
	var schema *apiextensionsv1.JSONSchemaProps
	found := false
	for _, v := range crd.Spec.Versions {
		if v.Name == gwv1.GroupVersion.Version {
			found = true
			if v.Schema != nil {
				schema = v.Schema.OpenAPIV3Schema
			}
		}
	}
	if !found {
		return nil, fmt.Errorf("CRD %s has no version %s", crd.Name, gwv1.GroupVersion.Version)
	}
	var missing []string
	for _, path := range fieldPaths(kind) {
		if !SchemaHas(schema, path) {
			missing = append(missing, path)
		}
	}
	return missing, nil
}

// fieldPaths returns every path featureFields names for kind, sorted and
// without duplicates.
func fieldPaths(kind string) []string {
	var paths []string
	for _, refs := range featureFields {
		for _, r := range refs {
			if r.Kind == kind {
				paths = append(paths, r.Path)
			}
		}
	}
	slices.Sort(paths)
	return slices.Compact(paths)
}

// SchemaHas reports whether an object that follows schema keeps the field
// path (FieldRef syntax) when the API server prunes it, and, for
// "path=value", whether the field's enum (if it has one) allows value. A
// nil schema, or a level that preserves unknown fields, keeps everything
// beneath it.
func SchemaHas(schema *apiextensionsv1.JSONSchemaProps, path string) bool {
	path, value, hasValue := strings.Cut(path, "=")
	node := schema
	for _, seg := range strings.Split(path, ".") {
		if node == nil {
			return true
		}
		name, lists := seg, 0
		for strings.HasSuffix(name, "[]") {
			name, lists = strings.TrimSuffix(name, "[]"), lists+1
		}
		next, ok := node.Properties[name]
		if !ok {
			return preservesUnknown(node)
		}
		node = &next
		for ; lists > 0; lists-- {
			if node.Items == nil || node.Items.Schema == nil {
				return preservesUnknown(node)
			}
			node = node.Items.Schema
		}
	}
	if node == nil || !hasValue || len(node.Enum) == 0 {
		return true
	}
	for _, e := range node.Enum {
		var v any
		if json.Unmarshal(e.Raw, &v) == nil && fmt.Sprint(v) == value {
			return true
		}
	}
	return false
}

func preservesUnknown(s *apiextensionsv1.JSONSchemaProps) bool {
	return s.XPreserveUnknownFields != nil && *s.XPreserveUnknownFields
}

// ExperimentalOnlyFeatures returns the claimed features that the
// standard-channel CRDs of the Gateway API release Drawbridge is built with
// do not allow (experimentalOnlyFeatures), sorted.
func ExperimentalOnlyFeatures() []features.FeatureName {
	var out []features.FeatureName
	for f := range experimentalOnlyFeatures {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}
