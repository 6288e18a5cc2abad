package gatewayapi

import (
	"fmt"
	"net/netip"
	"strings"

	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// AddressRequest is what a Gateway's spec.addresses ask of its data plane.
// The data plane's address is its ingress Service's, so what can be asked is
// what a Service can ask of a load balancer: at most one IP address.
type AddressRequest struct {
	// IP is the one IP address asked for, in canonical form; empty when the
	// load balancer picks the address (no spec.addresses, or one IPAddress
	// entry without a value).
	IP string
	// Unsupported, when set, says which address Drawbridge cannot serve at
	// all (a type other than IPAddress, or a value that is no IP address):
	// the Gateway is not Accepted, with reason UnsupportedAddress.
	Unsupported string
	// NotUsable, when set, says why addresses that are each valid cannot be
	// asked for together: the Gateway is Accepted but not Programmed, with
	// reason AddressNotUsable.
	NotUsable string
}

// RequestedAddress reads spec.addresses. Unsupported entries are reported
// before the count of entries, so the user learns first what can never work.
func RequestedAddress(addrs []gwv1.GatewaySpecAddress) AddressRequest {
	var req AddressRequest
	var problems []string
	for i, a := range addrs {
		// The API defaults an unset type to IPAddress; a client that skips
		// defaulting (a fake client, an old object) means the same.
		typ := gwv1.IPAddressType
		if a.Type != nil && *a.Type != "" {
			typ = *a.Type
		}
		if typ != gwv1.IPAddressType {
			problems = append(problems, fmt.Sprintf("spec.addresses[%d] has type %q: Drawbridge supports only type IPAddress", i, typ))
			continue
		}
		if a.Value == "" {
			continue
		}
		ip, err := netip.ParseAddr(a.Value)
		if err != nil || ip.Zone() != "" {
			problems = append(problems, fmt.Sprintf("spec.addresses[%d] value %q is not an IP address", i, a.Value))
			continue
		}
		req.IP = ip.Unmap().String()
	}
	if len(problems) > 0 {
		return AddressRequest{Unsupported: strings.Join(problems, "; ") + "; remove or change these addresses"}
	}
	if len(addrs) > 1 {
		return AddressRequest{NotUsable: fmt.Sprintf(
			"spec.addresses has %d addresses, but the data plane's Service can ask its load balancer for one "+
				"(spec.loadBalancerIP); keep one IPAddress in spec.addresses", len(addrs))}
	}
	return req
}
