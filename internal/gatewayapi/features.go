package gatewayapi

import (
	"sort"
	"strings"

	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/gateway-api/pkg/features"
)

// claimedFeatures are the Gateway API features Drawbridge claims on its
// GatewayClasses. Each one is in the list only because every upstream
// conformance test of that feature passed against real traffic in the lab
// (`make conformance`; conformance/reports/). The conformance run reads
// the claim back from GatewayClass status, so this is the one list there is.
// The features we leave out, and why, are listed in the README.
var claimedFeatures = []features.FeatureName{
	features.SupportBackendTLSPolicy,
	features.SupportBackendTLSPolicySANValidation,
	features.SupportGateway,
	features.SupportGatewayAddressEmpty,
	features.SupportGatewayBackendClientCertificate,
	features.SupportGatewayFrontendClientCertificateValidation,
	features.SupportGatewayFrontendClientCertificateValidationInsecureFallback,
	features.SupportGatewayHTTPListenerIsolation,
	features.SupportGatewayHTTPSListenerDetectMisdirectedRequests,
	features.SupportGatewayInfrastructure,
	features.SupportGatewayPort8080,
	features.SupportGatewayRouteHostnameIntersectionPrecedence,
	features.SupportGatewayStaticAddresses,
	features.SupportGRPCRoute,
	features.SupportGRPCRouteNamedRouteRule,
	features.SupportGRPCRouteRequestHeaderModifier,
	features.SupportHTTPRoute,
	features.SupportHTTPRoute303RedirectStatusCode,
	features.SupportHTTPRoute307RedirectStatusCode,
	features.SupportHTTPRoute308RedirectStatusCode,
	features.SupportHTTPRouteBackendProtocolH2C,
	features.SupportHTTPRouteBackendProtocolWebSocket,
	features.SupportHTTPRouteBackendRequestHeaderModification,
	features.SupportHTTPRouteBackendTimeout,
	features.SupportHTTPRouteBackendURLRewrite,
	features.SupportHTTPRouteCORS,
	features.SupportHTTPRouteDestinationPortMatching,
	features.SupportHTTPRouteHostRewrite,
	features.SupportHTTPRouteMethodMatching,
	features.SupportHTTPRouteNamedRouteRule,
	features.SupportHTTPRouteParentRefPort,
	features.SupportHTTPRoutePathRedirect,
	features.SupportHTTPRoutePathRewrite,
	features.SupportHTTPRoutePortRedirect,
	features.SupportHTTPRouteQueryParamMatching,
	features.SupportHTTPRouteRequestMirror,
	features.SupportHTTPRouteRequestMultipleMirrors,
	features.SupportHTTPRouteRequestPercentageMirror,
	features.SupportHTTPRouteRequestTimeout,
	features.SupportHTTPRouteResponseHeaderModification,
	features.SupportHTTPRouteRetryCodes,
	features.SupportHTTPRouteRetryConnectionError,
	features.SupportHTTPRouteSchemeRedirect,
	features.SupportListenerSet,
	features.SupportReferenceGrant,
	features.SupportTCPRoute,
	features.SupportTLSRoute,
	features.SupportTLSRouteModeMixed,
	features.SupportTLSRouteModeTerminate,
	features.SupportUDPRoute,
}

// Served says what a cluster's Gateway API CRDs let users write.
type Served struct {
	// Kind reports whether the API server serves a kind at v1.
	Kind func(kind string) bool
	// Field reports whether the CRD of a served kind keeps a field of
	// featureFields (FieldRef path): the API server prunes fields its
	// schema lacks and refuses enum values it does not list.
	Field func(kind, path string) bool
}

// AllServed is SupportedFeatures' argument for a cluster with every Gateway
// API CRD Drawbridge knows, from the experimental channel of the release it
// is built with (the cluster conformance runs on).
func AllServed() Served {
	return Served{Kind: func(string) bool { return true }, Field: func(string, string) bool { return true }}
}

// SupportedFeatures returns the claimed features that the cluster's
// Gateway API CRDs allow, as GatewayClass status.supportedFeatures, sorted
// by name as the API asks. A feature of a kind the API server does not
// serve (HTTPRoute, TCPRoute, ListenerSet, ...) cannot be used, so it is
// not claimed; nor is a feature whose fields (featureFields) the installed
// CRDs lack, for example on CRDs of the standard channel, or of an older
// release, than the one Drawbridge is built with.
func SupportedFeatures(s Served) []gwv1.SupportedFeature {
	out := make([]gwv1.SupportedFeature, 0, len(claimedFeatures))
	for _, f := range claimedFeatures {
		if len(lacks(s, f)) == 0 {
			out = append(out, gwv1.SupportedFeature{Name: gwv1.FeatureName(f)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// DroppedFeatures returns the claimed features that s does not allow, each
// with what it lacks (see lacks).
func DroppedFeatures(s Served) map[features.FeatureName][]string {
	out := map[features.FeatureName][]string{}
	for _, f := range claimedFeatures {
		if missing := lacks(s, f); len(missing) > 0 {
			out[f] = missing
		}
	}
	return out
}

// lacks returns what a claimed feature needs that s does not serve: its
// kind ("ListenerSet") when that is not served, else the kinds and fields
// of featureFields that are not ("HTTPRoute spec.parentRefs[].port").
func lacks(s Served, f features.FeatureName) []string {
	served := func(kind string) bool { return kind == "Gateway" || s.Kind(kind) }
	if kind := FeatureKind(f); !served(kind) {
		return []string{kind}
	}
	var missing []string
	for _, r := range featureFields[f] {
		switch {
		case !served(r.Kind):
			missing = append(missing, r.Kind)
		case !s.Field(r.Kind, r.Path):
			missing = append(missing, r.String())
		}
	}
	return missing
}

// featureKinds are the kinds whose names begin the names of their features
// (HTTPRouteQueryParamMatching belongs to HTTPRoute).
var featureKinds = []string{"HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute", "ListenerSet", "BackendTLSPolicy", "ReferenceGrant"}

// FeatureKind names the Gateway API kind a feature needs besides Gateway
// and GatewayClass ("Gateway" when it needs nothing more).
func FeatureKind(f features.FeatureName) string {
	// A client certificate for backends is presented only on connections
	// that a BackendTLSPolicy makes TLS.
	if f == features.SupportGatewayBackendClientCertificate {
		return "BackendTLSPolicy"
	}
	for _, k := range featureKinds {
		if strings.HasPrefix(string(f), k) {
			return k
		}
	}
	return "Gateway"
}
