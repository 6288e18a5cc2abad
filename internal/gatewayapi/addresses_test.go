package gatewayapi

import (
	"testing"

	"k8s.io/utils/ptr"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func TestRequestedAddress(t *testing.T) {
	ip := func(v string) gwv1.GatewaySpecAddress {
		return gwv1.GatewaySpecAddress{Type: ptr.To(gwv1.IPAddressType), Value: v}
	}
	typed := func(typ, v string) gwv1.GatewaySpecAddress {
		return gwv1.GatewaySpecAddress{Type: ptr.To(gwv1.AddressType(typ)), Value: v}
	}
	cases := []struct {
		name  string
		addrs []gwv1.GatewaySpecAddress
		want  AddressRequest
	}{
		{name: "none", want: AddressRequest{}},
		{name: "one IP", addrs: []gwv1.GatewaySpecAddress{ip("172.18.255.240")}, want: AddressRequest{IP: "172.18.255.240"}},
		{name: "unset type means IPAddress", addrs: []gwv1.GatewaySpecAddress{{Value: "10.0.0.1"}}, want: AddressRequest{IP: "10.0.0.1"}},
		{name: "IPv6 is canonicalised", addrs: []gwv1.GatewaySpecAddress{ip("2001:DB8:0::1")}, want: AddressRequest{IP: "2001:db8::1"}},
		{name: "IPAddress without a value lets the load balancer pick", addrs: []gwv1.GatewaySpecAddress{ip("")}, want: AddressRequest{}},
		{
			name:  "hostname type",
			addrs: []gwv1.GatewaySpecAddress{typed("Hostname", "gw.example.com")},
			want:  AddressRequest{Unsupported: `spec.addresses[0] has type "Hostname": Drawbridge supports only type IPAddress; remove or change these addresses`},
		},
		{
			name:  "invalid value",
			addrs: []gwv1.GatewaySpecAddress{ip("fake address")},
			want:  AddressRequest{Unsupported: `spec.addresses[0] value "fake address" is not an IP address; remove or change these addresses`},
		},
		{
			name:  "zoned IPv6 is no Service address",
			addrs: []gwv1.GatewaySpecAddress{ip("fe80::1%eth0")},
			want:  AddressRequest{Unsupported: `spec.addresses[0] value "fe80::1%eth0" is not an IP address; remove or change these addresses`},
		},
		{
			// The conformance test's first state: unsupported wins over the count.
			name:  "unsupported type among usable ones",
			addrs: []gwv1.GatewaySpecAddress{typed("test/fake-invalid-type", "fake address teehee!"), ip("192.0.2.10"), ip("172.18.255.240")},
			want:  AddressRequest{Unsupported: `spec.addresses[0] has type "test/fake-invalid-type": Drawbridge supports only type IPAddress; remove or change these addresses`},
		},
		{
			name:  "two IPs",
			addrs: []gwv1.GatewaySpecAddress{ip("192.0.2.10"), ip("172.18.255.240")},
			want: AddressRequest{NotUsable: "spec.addresses has 2 addresses, but the data plane's Service can ask its load balancer for one " +
				"(spec.loadBalancerIP); keep one IPAddress in spec.addresses"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := RequestedAddress(tc.addrs); got != tc.want {
				t.Errorf("RequestedAddress:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
