package provision

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Label keys and values shared by every object rendered for a Gateway.
const (
	LabelGatewayName      = "gateway.drawbridge.dev/gateway"
	LabelGatewayNamespace = "gateway.drawbridge.dev/gateway-namespace"
	LabelManagedBy        = "app.kubernetes.io/managed-by"
	LabelName             = "app.kubernetes.io/name"
	LabelInstance         = "app.kubernetes.io/instance"
	LabelComponent        = "app.kubernetes.io/component"
	ManagedByValue        = "drawbridge"
	DataPlaneNameValue    = "kong"
	DataPlaneComponent    = "dataplane"
)

// Suffixes keep the object names of one Gateway apart from each other and
// from those of every other Gateway: an ingress name ends in "-kong" and an
// admin Service name ends in "-kong-admin", so neither can equal the other for
// any pair of Gateway names.
const (
	dataPlaneSuffix = "-kong"
	adminSuffix     = "-kong-admin"
	adminTLSSuffix  = "-kong-admin-tls"
	metricsSuffix   = "-kong-metrics"
	maxNameLength   = 63
	hashLength      = 8
)

// Names are the deterministic names of the objects rendered for one Gateway.
// All of them are valid DNS-1035 labels (the strictest rule, which Services
// need), so every kind accepts them.
type Names struct {
	// Base is derived from the Gateway name; the others extend it.
	Base string
	// DataPlane names the Deployment, ingress Service, ServiceAccount, HPA,
	// PDB and NetworkPolicy.
	DataPlane string
	// Admin names the headless admin Service.
	Admin string
	// AdminTLS names the Secret with the admin API server certificate.
	AdminTLS string
	// Metrics names the headless Service with Kong's Prometheus metrics.
	Metrics string
}

// NamesFor returns the object names for a Gateway. A Gateway name that is not
// already a short DNS-1035 label is sanitized and truncated, and then a hash of
// the original name is appended so two Gateways never share object names.
func NamesFor(gw *gwv1.Gateway) Names {
	base := baseName(gw.Name, maxNameLength-len(adminTLSSuffix))
	return Names{
		Base:      base,
		DataPlane: base + dataPlaneSuffix,
		Admin:     base + adminSuffix,
		AdminTLS:  base + adminTLSSuffix,
		Metrics:   base + metricsSuffix,
	}
}

// baseName maps a Kubernetes object name (a DNS subdomain) to a DNS-1035 label
// of at most limit characters.
func baseName(name string, limit int) string {
	sanitized := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			return r
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A')
		default:
			return '-'
		}
	}, name)
	if sanitized != "" && sanitized[0] >= 'a' && sanitized[0] <= 'z' && sanitized == name && len(name) <= limit {
		return name
	}
	if sanitized == "" || sanitized[0] < 'a' || sanitized[0] > 'z' {
		sanitized = "gw-" + sanitized
	}
	sum := sha256.Sum256([]byte(name))
	suffix := "-" + hex.EncodeToString(sum[:])[:hashLength]
	if len(sanitized) > limit-len(suffix) {
		sanitized = sanitized[:limit-len(suffix)]
	}
	return strings.TrimRight(sanitized, "-") + suffix
}

// SelectorLabels select the Kong pods of one Gateway. They never change for
// the life of a Gateway because Deployment selectors are immutable.
func SelectorLabels(gw *gwv1.Gateway) map[string]string {
	n := NamesFor(gw)
	return map[string]string{
		LabelName:        DataPlaneNameValue,
		LabelInstance:    n.Base,
		LabelGatewayName: n.Base,
	}
}

// ObjectLabels are put on every object rendered for a Gateway; they let the
// operator find and clean up what it owns.
func ObjectLabels(gw *gwv1.Gateway) map[string]string {
	l := SelectorLabels(gw)
	l[LabelManagedBy] = ManagedByValue
	l[LabelComponent] = DataPlaneComponent
	if len(gw.Namespace) <= maxNameLength {
		l[LabelGatewayNamespace] = gw.Namespace
	}
	// The upstream label lets generic tooling (and the conformance suite)
	// find a Gateway's objects by its real name; label values stop at 63
	// characters, so longer names go without it.
	if len(gw.Name) <= maxNameLength {
		l[gwv1.GatewayNameLabelKey] = gw.Name
	}
	return l
}
