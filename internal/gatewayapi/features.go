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

// SupportedFeatures returns the claimed features that the cluster's
// Gateway API CRDs allow, as GatewayClass status.supportedFeatures, sorted
// by name as the API asks. installed reports whether the API server serves
// a kind (HTTPRoute, TCPRoute, ListenerSet, ...): a feature of a kind that
// is not installed cannot be used, so it is not claimed.
func SupportedFeatures(installed func(kind string) bool) []gwv1.SupportedFeature {
	out := make([]gwv1.SupportedFeature, 0, len(claimedFeatures))
	for _, f := range claimedFeatures {
		if kind := FeatureKind(f); kind == "Gateway" || installed(kind) {
			out = append(out, gwv1.SupportedFeature{Name: gwv1.FeatureName(f)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
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

// AllKindsInstalled is SupportedFeatures' argument for a cluster with every
// Gateway API CRD Drawbridge knows (the one conformance runs on).
func AllKindsInstalled(string) bool { return true }
