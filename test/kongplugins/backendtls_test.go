package kongplugins

// The Gateway API v1.7.0 conformance tests of BackendTLSPolicy,
// BackendTLSPolicySANValidation and GatewayBackendClientCertificate,
// reproduced on real Kong 3.9.3 with drawbridge-backend-tls: the same
// objects (names, hostnames, certificates with the suite's SANs), the same
// requests and the same assertions, including the server name and Host
// header the backend receives. Policy status is the translation's verdict
// for the Gateway (the controller writes it as the policy's ancestor entry).

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// conformancePKI is the suite's certificates (utils/suite/suite.go).
type conformancePKI struct {
	ca, mismatchCA, frontCA *testCA
	// backend is tls-checks-certificate; tcpBackend the tcp-backend's
	// tls-passthrough-checks-certificate; client tls-checks-client-
	// certificate; front the HTTPS listener's; terminate the TLS
	// listener's tls-terminate-checks-certificate.
	backend, tcpBackend, client, front, terminate issued
}

func newConformancePKI(t *testing.T) *conformancePKI {
	p := &conformancePKI{ca: newTestCA(t, "gatewayapi"), mismatchCA: newTestCA(t, "gatewayapi-mismatch"), frontCA: newTestCA(t, "front")}
	p.backend = p.ca.issue(t, "default", []string{"abc.example.com", "spiffe://abc.example.com/test-identity", "other.example.com"}, false)
	p.tcpBackend = p.ca.issue(t, "default", []string{"abc.example.com"}, false)
	p.client = p.ca.issue(t, "default", nil, true)
	p.front = p.frontCA.issue(t, "default", []string{"*.org", "*.wildcard.org"}, false)
	p.terminate = p.ca.issue(t, "default", []string{"tls.example.com"}, false)
	return p
}

// answer is what one request got: the status and, on 200, the backend's
// report.
type answer struct {
	code int
	rep  tlsEchoReport
	err  error
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

func doHTTP(t *testing.T, client *http.Client, url, host string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	resp, err := client.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	a := answer{code: resp.StatusCode}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &a.rep); err != nil {
			a.err = fmt.Errorf("backend answer %q: %v", body, err)
		}
	}
	return a
}

// consistently sends the same request three times (the suite asks for
// consistent answers) and checks each answer.
func consistently(t *testing.T, what string, send func() answer, check func(answer) error) {
	t.Helper()
	for i := 0; i < 3; i++ {
		a := send()
		if err := check(a); err != nil {
			t.Errorf("%s (request %d): %v", what, i+1, err)
			return
		}
	}
}

// wantBackend expects 200 from the named path with the server name and
// Host header the backend must have received ("" host: not checked).
func wantBackend(path, sni, host string) func(answer) error {
	return func(a answer) error {
		switch {
		case a.err != nil:
			return a.err
		case a.code != http.StatusOK:
			return fmt.Errorf("status %d, want 200", a.code)
		case a.rep.Path != path:
			return fmt.Errorf("backend saw path %q, want %q", a.rep.Path, path)
		case a.rep.SNI != sni:
			return fmt.Errorf("backend saw TLS server name %q, want %q", a.rep.SNI, sni)
		case host != "" && a.rep.Host != host:
			return fmt.Errorf("backend saw Host %q, want %q", a.rep.Host, host)
		}
		return nil
	}
}

// wantFailure expects what the suite's MakeRequestAndExpectFailure
// accepts: an answer that is neither 200 nor a timeout.
func wantFailure(a answer) error {
	switch {
	case a.err != nil:
		return a.err
	case a.code == http.StatusOK:
		return fmt.Errorf("status 200 (backend saw server name %q), want a failure", a.rep.SNI)
	case a.code == http.StatusGatewayTimeout || a.code == http.StatusRequestTimeout:
		return fmt.Errorf("status %d is a timeout, which the suite retries", a.code)
	}
	return nil
}

// want5xx expects one of the given 5xx codes.
func want5xx(codes ...int) func(answer) error {
	return func(a answer) error {
		if a.err != nil {
			return a.err
		}
		for _, c := range codes {
			if a.code == c {
				return nil
			}
		}
		return fmt.Errorf("status %d, want one of %v", a.code, codes)
	}
}

func (w *world) get(path, host string) func() answer {
	return func() answer { return doHTTP(w.t, httpClient, "http://"+w.addr(w.httpPort)+path, host) }
}

// TestBackendTLSPolicy reproduces BackendTLSPolicy (backendtlspolicy.go).
func TestBackendTLSPolicy(t *testing.T) {
	w := newWorld(t)
	pki := newConformancePKI(t)
	w.httpListener()
	w.httpsListener("tls-validity-checks-certificate")
	w.tlsSecret("tls-validity-checks-certificate", pki.front)
	caPEM, mismatchPEM := pki.ca.PEM, pki.mismatchCA.PEM
	w.caConfigMap("tls-checks-ca-certificate", &caPEM)
	w.caConfigMap("mismatch-ca-certificate", &mismatchPEM)
	backend := startTLSEcho(t, "tls-backend", pki.backend.TLS, nil)
	w.service("backendtlspolicy-test", svcPort{"btls", 443, backend, ""})
	w.service("backendtlspolicy-host-mismatch-test", svcPort{"btls", 443, backend, "HTTPS"})
	w.service("backendtlspolicy-cert-mismatch-test", svcPort{"btls", 443, backend, "HTTPS"})
	w.service("backendtlspolicy-reconcile-test", svcPort{"btls", 443, backend, ""})
	now := time.Now()
	ca := []caRef{configMap("tls-checks-ca-certificate")}
	w.policy("normative-test", "backendtlspolicy-test", "btls", "abc.example.com", ca, nil, now)
	w.policy("host-mismatch", "backendtlspolicy-host-mismatch-test", "btls", "mismatch.example.com", ca, nil, now)
	w.policy("cert-mismatch", "backendtlspolicy-cert-mismatch-test", "btls", "abc.example.com", []caRef{configMap("mismatch-ca-certificate")}, nil, now)
	w.policy("reconcile-test", "backendtlspolicy-reconcile-test", "btls", "abc.example.com", ca, nil, now)
	w.httpRoute("backendtlspolicy", "http", []string{"abc.example.com"},
		rule{path: "/backendtlspolicy", service: "backendtlspolicy-test", port: 443},
		rule{path: "/backendtlspolicy-host-mismatch", service: "backendtlspolicy-host-mismatch-test", port: 443},
		rule{path: "/backendtlspolicy-cert-mismatch", service: "backendtlspolicy-cert-mismatch-test", port: 443},
		rule{path: "/backendtlspolicy-reconcile-test", service: "backendtlspolicy-reconcile-test", port: 443})
	w.httpRoute("backendtlspolicy-reencrypt", "https", []string{"https-listener.org"},
		rule{path: "/backendtlspolicy", service: "backendtlspolicy-test", port: 443})
	w.apply()

	t.Run("Re-encrypt HTTPS request sent to Service with valid BackendTLSPolicy should succeed", func(t *testing.T) {
		w.wantPolicy("normative-test", acceptedTrue, resolvedRefsTrue)
		roots := x509.NewCertPool()
		roots.AddCert(pki.frontCA.cert)
		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "https-listener.org"}, ForceAttemptHTTP2: true}}
		consistently(t, "GET https://https-listener.org/backendtlspolicy", func() answer {
			return doHTTP(t, client, "https://"+w.addr(w.httpsPort)+"/backendtlspolicy", "https-listener.org")
		}, wantBackend("/backendtlspolicy", "abc.example.com", ""))
	})
	t.Run("HTTP request sent to Service with valid BackendTLSPolicy should succeed", func(t *testing.T) {
		w.wantPolicy("normative-test", acceptedTrue, resolvedRefsTrue)
		// ExpectedRequest is the request itself: the backend must see the
		// client's Host and the policy's hostname as server name.
		consistently(t, "GET abc.example.com/backendtlspolicy", w.get("/backendtlspolicy", "abc.example.com"),
			wantBackend("/backendtlspolicy", "abc.example.com", "abc.example.com"))
	})
	t.Run("HTTP request sent to Service targeted by BackendTLSPolicy with mismatched hostname should return an HTTP error", func(t *testing.T) {
		w.wantPolicy("host-mismatch", acceptedTrue, resolvedRefsTrue)
		// The suite sends Host abc.example.org, which no route serves (404);
		// the same path with the route's host shows the TLS failure itself.
		consistently(t, "GET abc.example.org/backendtlspolicy-host-mismatch", w.get("/backendtlspolicy-host-mismatch", "abc.example.org"), wantFailure)
		consistently(t, "GET abc.example.com/backendtlspolicy-host-mismatch", w.get("/backendtlspolicy-host-mismatch", "abc.example.com"), want5xx(502))
	})
	t.Run("HTTP request send to Service targeted by BackendTLSPolicy with mismatched cert should return HTTP error", func(t *testing.T) {
		w.wantPolicy("cert-mismatch", acceptedTrue, resolvedRefsTrue)
		consistently(t, "GET abc.example.com/backendtlspolicy-cert-mismatch", w.get("/backendtlspolicy-cert-mismatch", "abc.example.com"), want5xx(502))
	})
	t.Run("Changing the content of a ConfigMap used by BackendTLSPolicy as CA certificate should be reconciled by the controller", func(t *testing.T) {
		path := "/backendtlspolicy-reconcile-test"
		invalid := []string{"Accepted=False/NoValidCACertificate", "ResolvedRefs=False/InvalidCACertificateRef"}
		w.wantPolicy("reconcile-test", acceptedTrue, resolvedRefsTrue)
		consistently(t, "valid CA", w.get(path, "abc.example.com"), wantBackend(path, "abc.example.com", "abc.example.com"))
		// The policy moves to a ConfigMap that does not exist yet.
		w.policy("reconcile-test", "backendtlspolicy-reconcile-test", "btls", "abc.example.com",
			[]caRef{configMap("tls-checks-ca-certificate-reconcile-test")}, nil, now)
		w.apply()
		w.wantPolicy("reconcile-test", invalid...)
		consistently(t, "missing CA ConfigMap", w.get(path, "abc.example.com"), want5xx(500, 502, 503))
		w.caConfigMap("tls-checks-ca-certificate-reconcile-test", &caPEM)
		w.apply()
		w.wantPolicy("reconcile-test", acceptedTrue, resolvedRefsTrue)
		consistently(t, "CA ConfigMap created", w.get(path, "abc.example.com"), wantBackend(path, "abc.example.com", "abc.example.com"))
		empty := ""
		w.caConfigMap("tls-checks-ca-certificate-reconcile-test", &empty)
		w.apply()
		w.wantPolicy("reconcile-test", invalid...)
		consistently(t, "CA emptied", w.get(path, "abc.example.com"), want5xx(500, 502, 503))
		w.caConfigMap("tls-checks-ca-certificate-reconcile-test", &caPEM)
		w.apply()
		w.wantPolicy("reconcile-test", acceptedTrue, resolvedRefsTrue)
		consistently(t, "CA restored", w.get(path, "abc.example.com"), wantBackend(path, "abc.example.com", "abc.example.com"))
	})
}

// TestBackendTLSPolicyConflictResolution reproduces
// BackendTLSPolicyConflictResolution: the backend must see the server name
// of the policy that takes precedence while the Host header stays the
// client's abc.example.com.
func TestBackendTLSPolicyConflictResolution(t *testing.T) {
	w := newWorld(t)
	pki := newConformancePKI(t)
	w.httpListener()
	caPEM := pki.ca.PEM
	w.caConfigMap("tls-checks-ca-certificate", &caPEM)
	backend := startTLSEcho(t, "tls-backend", pki.backend.TLS, nil)
	w.service("backendtlspolicy-conflicted-without-section-name-test", svcPort{"https", 443, backend, ""})
	w.service("backendtlspolicy-conflicted-with-section-name-test", svcPort{"https-1", 443, backend, ""}, svcPort{"https-2", 8443, backend, ""})
	w.service("backendtlspolicy-not-conflicted-test", svcPort{"https-1", 443, backend, ""}, svcPort{"https-2", 8443, backend, ""})
	// Applied from one manifest: the same creation second, so names decide.
	now := time.Now().Truncate(time.Second)
	ca := []caRef{configMap("tls-checks-ca-certificate")}
	w.policy("conflicted-without-section-name-1", "backendtlspolicy-conflicted-without-section-name-test", "", "other.example.com", ca, nil, now)
	w.policy("conflicted-without-section-name-2", "backendtlspolicy-conflicted-without-section-name-test", "", "abc.example.com", ca, nil, now)
	w.policy("conflicted-with-section-name-1", "backendtlspolicy-conflicted-with-section-name-test", "https-1", "other.example.com", ca, nil, now)
	w.policy("conflicted-with-section-name-2", "backendtlspolicy-conflicted-with-section-name-test", "https-1", "abc.example.com", ca, nil, now)
	w.policy("not-conflicted-with-section-name", "backendtlspolicy-not-conflicted-test", "https-1", "other.example.com", ca, nil, now)
	w.policy("not-conflicted-without-section-name", "backendtlspolicy-not-conflicted-test", "", "abc.example.com", ca, nil, now)
	w.httpRoute("backendtlspolicy-conflict-resolution", "http", []string{"abc.example.com"},
		rule{path: "/backendtlspolicy-conflicted-without-section-name", service: "backendtlspolicy-conflicted-without-section-name-test", port: 443},
		rule{path: "/backendtlspolicy-conflicted-with-section-name", service: "backendtlspolicy-conflicted-with-section-name-test", port: 443},
		rule{path: "/backendtlspolicy-not-conflicted-with-section-name", service: "backendtlspolicy-not-conflicted-test", port: 443},
		rule{path: "/backendtlspolicy-not-conflicted-without-section-name", service: "backendtlspolicy-not-conflicted-test", port: 8443})
	w.apply()
	conflicted := "Accepted=False/Conflicted"
	for _, c := range []struct {
		name     string
		accepted string
		path     string
		sni      string
	}{
		{"conflicted-without-section-name-1", acceptedTrue, "/backendtlspolicy-conflicted-without-section-name", "other.example.com"},
		{"conflicted-without-section-name-2", conflicted, "", ""},
		{"conflicted-with-section-name-1", acceptedTrue, "/backendtlspolicy-conflicted-with-section-name", "other.example.com"},
		{"conflicted-with-section-name-2", conflicted, "", ""},
		{"not-conflicted-with-section-name", acceptedTrue, "/backendtlspolicy-not-conflicted-with-section-name", "other.example.com"},
		{"not-conflicted-without-section-name", acceptedTrue, "/backendtlspolicy-not-conflicted-without-section-name", "abc.example.com"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w.wantPolicy(c.name, c.accepted, resolvedRefsTrue)
			if c.path != "" {
				consistently(t, "GET abc.example.com"+c.path, w.get(c.path, "abc.example.com"), wantBackend(c.path, c.sni, "abc.example.com"))
			}
		})
	}
}

// TestBackendTLSPolicyInvalidCACertificateRef reproduces
// BackendTLSPolicyInvalidCACertificateRef and BackendTLSPolicyInvalidKind.
func TestBackendTLSPolicyInvalidCACertificateRef(t *testing.T) {
	w := newWorld(t)
	pki := newConformancePKI(t)
	w.httpListener()
	w.caConfigMap("malformed-ca-certificate", nil)
	backend := startTLSEcho(t, "tls-backend", pki.backend.TLS, nil)
	for _, name := range []string{"nonexistent-ca-certificate-ref", "malformed-ca-certificate-ref", "invalid-kind"} {
		w.service("backendtlspolicy-"+name+"-test", svcPort{"https", 443, backend, "HTTPS"})
	}
	now := time.Now()
	w.policy("nonexistent-ca-certificate-ref", "backendtlspolicy-nonexistent-ca-certificate-ref-test", "", "abc.example.com", []caRef{configMap("nonexistent-ca-certificate")}, nil, now)
	w.policy("malformed-ca-certificate-ref", "backendtlspolicy-malformed-ca-certificate-ref-test", "", "abc.example.com", []caRef{configMap("malformed-ca-certificate")}, nil, now)
	w.policy("invalid-kind", "backendtlspolicy-invalid-kind-test", "", "abc.example.com", []caRef{{"invalid.io", "InvalidKind", "invalid-kind"}}, nil, now)
	w.httpRoute("backendtlspolicy-invalid-ca-certificate-ref", "http", []string{"abc.example.com"},
		rule{path: "/backendtlspolicy-nonexistent-ca-certificate-ref", service: "backendtlspolicy-nonexistent-ca-certificate-ref-test", port: 443},
		rule{path: "/backendtlspolicy-malformed-ca-certificate-ref", service: "backendtlspolicy-malformed-ca-certificate-ref-test", port: 443})
	w.httpRoute("backendtlspolicy-invalid-kind-test", "http", []string{"abc.example.com"},
		rule{path: "/backendtlspolicy-invalid-kind", service: "backendtlspolicy-invalid-kind-test", port: 443})
	w.apply()
	for _, c := range []struct{ name, resolvedRefs string }{
		{"nonexistent-ca-certificate-ref", "ResolvedRefs=False/InvalidCACertificateRef"},
		{"malformed-ca-certificate-ref", "ResolvedRefs=False/InvalidCACertificateRef"},
		{"invalid-kind", "ResolvedRefs=False/InvalidKind"},
	} {
		t.Run("BackendTLSPolicy_"+c.name, func(t *testing.T) {
			w.wantPolicy(c.name, "Accepted=False/NoValidCACertificate", c.resolvedRefs)
			consistently(t, "GET /backendtlspolicy-"+c.name, w.get("/backendtlspolicy-"+c.name, "abc.example.com"), want5xx(500, 502, 503))
		})
	}
}

// TestBackendTLSPolicySANValidation reproduces
// BackendTLSPolicySANValidation (backendtlspolicy-san.go), plus the case
// the suite leaves out: SANs authenticate, the hostname does not.
func TestBackendTLSPolicySANValidation(t *testing.T) {
	w := newWorld(t)
	pki := newConformancePKI(t)
	w.httpListener()
	caPEM := pki.ca.PEM
	w.caConfigMap("tls-checks-ca-certificate", &caPEM)
	backend := startTLSEcho(t, "tls-backend", pki.backend.TLS, nil)
	dns := func(h string) gwv1.SubjectAltName {
		return gwv1.SubjectAltName{Type: gwv1.HostnameSubjectAltNameType, Hostname: gwv1.Hostname(h)}
	}
	uri := func(u string) gwv1.SubjectAltName {
		return gwv1.SubjectAltName{Type: gwv1.URISubjectAltNameType, URI: gwv1.AbsoluteURI(u)}
	}
	cases := []struct {
		name     string
		hostname string
		sans     []gwv1.SubjectAltName
		ok       bool
	}{
		{"san-dns", "abc.example.com", []gwv1.SubjectAltName{dns("abc.example.com")}, true},
		{"san-dns-mismatch", "abc.example.com", []gwv1.SubjectAltName{dns("dce.example.com")}, false},
		{"san-uri", "abc.example.com", []gwv1.SubjectAltName{uri("spiffe://abc.example.com/test-identity")}, true},
		{"san-uri-mismatch", "abc.example.com", []gwv1.SubjectAltName{uri("spiffe://def.example.com/test-identity")}, false},
		{"multiple-sans", "abc.example.com", []gwv1.SubjectAltName{uri("spiffe://abc.example.com/test-identity"), dns("abc.example.com")}, true},
		{"multiple-mismatch-sans", "abc.example.com", []gwv1.SubjectAltName{uri("spiffe://def.example.com/test-identity"), dns("def.example.com")}, false},
		// Not in the suite: the hostname is only the server name here.
		{"san-not-hostname", "not-in-the-certificate.example.com", []gwv1.SubjectAltName{uri("spiffe://abc.example.com/test-identity")}, true},
	}
	var rules []rule
	for _, c := range cases {
		svc := "backendtlspolicy-" + c.name + "-test"
		w.service(svc, svcPort{"btls", 443, backend, "HTTPS"})
		w.policy(c.name, svc, "btls", c.hostname, []caRef{configMap("tls-checks-ca-certificate")}, c.sans, time.Now())
		rules = append(rules, rule{path: "/backendtlspolicy-" + c.name, service: svc, port: 443})
	}
	w.httpRoute("backendtlspolicy-san-test", "http", []string{"abc.example.com"}, rules...)
	w.apply()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w.wantPolicy(c.name, acceptedTrue, resolvedRefsTrue)
			path := "/backendtlspolicy-" + c.name
			if c.ok {
				consistently(t, "GET "+path, w.get(path, "abc.example.com"), wantBackend(path, c.hostname, "abc.example.com"))
			} else {
				consistently(t, "GET "+path, w.get(path, "abc.example.com"), wantFailure)
			}
		})
	}
}

// TestBackendTLSPolicyGRPCRoute reproduces BackendTLSPolicyGRPCRoute.
func TestBackendTLSPolicyGRPCRoute(t *testing.T) {
	w := newWorld(t)
	pki := newConformancePKI(t)
	w.httpListener()
	caPEM, mismatchPEM := pki.ca.PEM, pki.mismatchCA.PEM
	w.caConfigMap("tls-checks-ca-certificate", &caPEM)
	w.caConfigMap("mismatch-ca-certificate", &mismatchPEM)
	backend := startTLSEcho(t, "grpc-infra-backend-v1", pki.backend.TLS, nil)
	w.service("backendtlspolicy-grpc-test", svcPort{"btls", 443, backend, ""})
	w.service("backendtlspolicy-grpc-host-mismatch-test", svcPort{"btls", 443, backend, ""})
	w.service("backendtlspolicy-grpc-cert-mismatch-test", svcPort{"btls", 443, backend, ""})
	now := time.Now()
	w.policy("grpc-normative-test", "backendtlspolicy-grpc-test", "btls", "abc.example.com", []caRef{configMap("tls-checks-ca-certificate")}, nil, now)
	w.policy("grpc-host-mismatch", "backendtlspolicy-grpc-host-mismatch-test", "btls", "mismatch.example.com", []caRef{configMap("tls-checks-ca-certificate")}, nil, now)
	w.policy("grpc-cert-mismatch", "backendtlspolicy-grpc-cert-mismatch-test", "btls", "abc.example.com", []caRef{configMap("mismatch-ca-certificate")}, nil, now)
	const svc = "gateway_api_conformance.echo_basic.grpcecho.GrpcEcho"
	w.grpcRoute("backendtlspolicy-grpcroute", "abc.example.com",
		grpcRule{svc, "Echo", "backendtlspolicy-grpc-test"}, grpcRule{svc, "EchoTwo", "backendtlspolicy-grpc-host-mismatch-test"})
	w.grpcRoute("backendtlspolicy-grpcroute-cert-mismatch", "cert-mismatch.example.com", grpcRule{svc, "Echo", "backendtlspolicy-grpc-cert-mismatch-test"})
	w.apply()
	call := func(authority, method string) func() answer {
		return func() answer { return w.grpcCall(authority, "/"+svc+"/"+method) }
	}
	t.Run("gRPC request sent to Service with valid BackendTLSPolicy should succeed", func(t *testing.T) {
		w.wantPolicy("grpc-normative-test", acceptedTrue, resolvedRefsTrue)
		consistently(t, "Echo on abc.example.com", call("abc.example.com", "Echo"), func(a answer) error {
			if err := wantBackend("/"+svc+"/Echo", "abc.example.com", "")(a); err != nil {
				return err
			}
			if a.rep.Name != "grpc-infra-backend-v1" || a.rep.Proto != "HTTP/2.0" {
				return fmt.Errorf("backend %q over %s, want grpc-infra-backend-v1 over HTTP/2.0", a.rep.Name, a.rep.Proto)
			}
			return nil
		})
	})
	t.Run("gRPC request sent to Service targeted by BackendTLSPolicy with mismatched hostname should fail", func(t *testing.T) {
		w.wantPolicy("grpc-host-mismatch", acceptedTrue, resolvedRefsTrue)
		consistently(t, "EchoTwo on abc.example.com", call("abc.example.com", "EchoTwo"), wantFailure)
	})
	t.Run("gRPC request sent to Service targeted by BackendTLSPolicy with mismatched cert should fail", func(t *testing.T) {
		w.wantPolicy("grpc-cert-mismatch", acceptedTrue, resolvedRefsTrue)
		consistently(t, "Echo on cert-mismatch.example.com", call("cert-mismatch.example.com", "Echo"), wantFailure)
	})
}

// TestBackendTLSPolicyTLSRouteTerminate reproduces
// BackendTLSPolicyTLSRouteTerminate: the client's TLS ends at Kong, and
// Kong opens TLS again to the backend with the policy's hostname.
func TestBackendTLSPolicyTLSRouteTerminate(t *testing.T) {
	w := newWorld(t)
	pki := newConformancePKI(t)
	w.snap.Gateway.Name = "gateway-btls-tlsroute-terminate"
	w.tlsTerminateListener("tls.example.com", "tls-terminate-checks-certificate")
	w.tlsSecret("tls-terminate-checks-certificate", pki.terminate)
	caPEM := pki.ca.PEM
	w.caConfigMap("tls-checks-ca-certificate", &caPEM)
	backend := startTLSStreamEcho(t, "tcp-backend", pki.tcpBackend.TLS)
	w.service("btls-terminate-tls-backend", svcPort{"btls", 8443, backend, ""})
	w.policy("btls-tlsroute-terminate-test", "btls-terminate-tls-backend", "btls", "abc.example.com", []caRef{configMap("tls-checks-ca-certificate")}, nil, time.Now())
	w.tlsRoute("backendtlspolicy-tlsroute-terminate", "tls.example.com", "btls-terminate-tls-backend", 8443)
	// Not in the suite: subjectAltNames on a stream, matching and not.
	w.tlsTerminateListenerNamed("tls-san", "san.example.com", "tls-terminate-checks-certificate")
	w.tlsTerminateListenerNamed("tls-san-mismatch", "san-mismatch.example.com", "tls-terminate-checks-certificate")
	w.service("btls-san", svcPort{"btls", 8443, backend, ""})
	w.service("btls-san-mismatch", svcPort{"btls", 8443, backend, ""})
	sans := func(h string) []gwv1.SubjectAltName {
		return []gwv1.SubjectAltName{{Type: gwv1.HostnameSubjectAltNameType, Hostname: gwv1.Hostname(h)}}
	}
	w.policy("btls-san", "btls-san", "btls", "not-in-the-certificate.example.com", []caRef{configMap("tls-checks-ca-certificate")}, sans("abc.example.com"), time.Now())
	w.policy("btls-san-mismatch", "btls-san-mismatch", "btls", "abc.example.com", []caRef{configMap("tls-checks-ca-certificate")}, sans("def.example.com"), time.Now())
	w.tlsRoute("san", "san.example.com", "btls-san", 8443)
	w.tlsRoute("san-mismatch", "san-mismatch.example.com", "btls-san-mismatch", 8443)
	w.apply()
	w.wantPolicy("btls-tlsroute-terminate-test", acceptedTrue, resolvedRefsTrue)
	roots := x509.NewCertPool()
	roots.AddCert(pki.ca.cert)
	t.Run("subjectAltNames on a TLSRoute backend", func(t *testing.T) {
		// Kong serves the listener certificate of tls.example.com for these
		// names too; the client does not check it (nothing here is about
		// the client's side).
		a := streamCall(w.addr(w.tlsPort), &tls.Config{ServerName: "san.example.com", RootCAs: roots, InsecureSkipVerify: true})
		if a.err != nil || a.rep.SNI != "not-in-the-certificate.example.com" {
			t.Errorf("matching SAN: %+v, want the backend's report with server name not-in-the-certificate.example.com", a)
		}
		a = streamCall(w.addr(w.tlsPort), &tls.Config{ServerName: "san-mismatch.example.com", RootCAs: roots, InsecureSkipVerify: true})
		if a.err == nil {
			t.Errorf("mismatching SAN: the backend answered %+v, want the connection closed", a.rep)
		}
		// The refusal is the handshake's (the verify callback failed it),
		// not a missing route.
		if log := w.k.ErrorLog(); !strings.Contains(log, "certificate verify failed) while SSL handshaking to upstream") {
			t.Errorf("Kong's error log does not show the SAN refusal:\n%s", w.k.ErrorLogTail())
		}
	})
	t.Run("TLS request matching terminated TLSRoute with BackendTLSPolicy should reach backend with re-encrypted TLS", func(t *testing.T) {
		consistently(t, "TLS to tls.example.com", func() answer {
			return streamCall(w.addr(w.tlsPort), &tls.Config{ServerName: "tls.example.com", RootCAs: roots, MinVersion: tls.VersionTLS12})
		}, func(a answer) error {
			if a.err != nil {
				return a.err
			}
			if a.rep.Name != "tcp-backend" || a.rep.SNI != "abc.example.com" {
				return fmt.Errorf("backend %q saw server name %q, want tcp-backend and abc.example.com", a.rep.Name, a.rep.SNI)
			}
			return nil
		})
	})
}

// TestGatewayTLSBackendClientCertificate reproduces
// GatewayTLSBackendClientCertificate: the backend requires a client
// certificate and must see the Gateway's.
func TestGatewayTLSBackendClientCertificate(t *testing.T) {
	w := newWorld(t)
	pki := newConformancePKI(t)
	w.snap.Gateway.Name = "gateway-tls-backend-client-certificate"
	w.httpListener()
	w.snap.Gateway.Spec.TLS = &gwv1.GatewayTLSConfig{Backend: &gwv1.GatewayBackendTLS{
		ClientCertificateRef: &gwv1.SecretObjectReference{Name: "tls-checks-client-certificate"}}}
	w.tlsSecret("tls-checks-client-certificate", pki.client)
	caPEM := pki.ca.PEM
	w.caConfigMap("tls-checks-ca-certificate", &caPEM)
	clientCAs := x509.NewCertPool()
	clientCAs.AddCert(pki.ca.cert)
	backend := startTLSEcho(t, "tls-backend-with-client-cert-validation", pki.backend.TLS, clientCAs)
	w.service("tls-backend-with-client-cert-validation", svcPort{"https", 443, backend, ""})
	w.policy("gateway-tls-backend-client-certificate-test", "tls-backend-with-client-cert-validation", "", "abc.example.com",
		[]caRef{configMap("tls-checks-ca-certificate")}, nil, time.Now())
	w.httpRoute("gateway-tls-backend-client-certificate", "http", []string{"abc.example.com"}, rule{path: "/", service: "tls-backend-with-client-cert-validation", port: 443})
	w.apply()
	w.wantPolicy("gateway-tls-backend-client-certificate-test", acceptedTrue, resolvedRefsTrue)
	if c := w.res.BackendClientCertificate; c == nil || c.Status != metav1.ConditionTrue || c.Reason != string(gwv1.GatewayReasonResolvedRefs) {
		t.Errorf("Gateway ResolvedRefs for the client certificate: %+v, want True/ResolvedRefs", c)
	}
	t.Run("HTTP request sent to Service using TLS should succeed and the configured client certificate should be presented.", func(t *testing.T) {
		consistently(t, "GET abc.example.com/", w.get("/", "abc.example.com"), func(a answer) error {
			if err := wantBackend("/", "abc.example.com", "abc.example.com")(a); err != nil {
				return err
			}
			if a.rep.ClientCert != pki.client.CertPEM {
				return fmt.Errorf("backend saw client certificate %q, want the Secret's", a.rep.ClientCert)
			}
			return nil
		})
	})
}

// grpcRule routes one method of a gRPC service to a Service port 443.
type grpcRule struct{ service, method, backend string }

func (w *world) grpcRoute(name, hostname string, rules ...grpcRule) {
	r := gwv1.GRPCRoute{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: infraNS, Generation: 1}}
	r.Spec.ParentRefs = []gwv1.ParentReference{{Name: gwv1.ObjectName(w.snap.Gateway.Name)}}
	r.Spec.Hostnames = []gwv1.Hostname{gwv1.Hostname(hostname)}
	for _, ru := range rules {
		svc, method := ru.service, ru.method
		port := gwv1.PortNumber(443)
		r.Spec.Rules = append(r.Spec.Rules, gwv1.GRPCRouteRule{
			Matches:     []gwv1.GRPCRouteMatch{{Method: &gwv1.GRPCMethodMatch{Service: &svc, Method: &method}}},
			BackendRefs: []gwv1.GRPCBackendRef{{BackendRef: gwv1.BackendRef{BackendObjectReference: gwv1.BackendObjectReference{Name: gwv1.ObjectName(ru.backend), Port: &port}}}},
		})
	}
	w.snap.GRPCRoutes = append(w.snap.GRPCRoutes, r)
}

func (w *world) tlsRoute(name, hostname, backend string, port int32) {
	r := gwv1.TLSRoute{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: infraNS, Generation: 1}}
	r.Spec.ParentRefs = []gwv1.ParentReference{{Name: gwv1.ObjectName(w.snap.Gateway.Name)}}
	r.Spec.Hostnames = []gwv1.Hostname{gwv1.Hostname(hostname)}
	p := gwv1.PortNumber(port)
	r.Spec.Rules = []gwv1.TLSRouteRule{{BackendRefs: []gwv1.BackendRef{{BackendObjectReference: gwv1.BackendObjectReference{Name: gwv1.ObjectName(backend), Port: &p}}}}}
	w.snap.TLSRoutes = append(w.snap.TLSRoutes, r)
}

// grpcCall sends one unary gRPC call over h2c; a call whose grpc-status is
// not 0 counts as a failure (status 502 in the answer).
func (w *world) grpcCall(authority, path string) answer {
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Protocols: &protos}}
	req, err := http.NewRequest(http.MethodPost, "http://"+w.addr(w.httpPort)+path, bytes.NewReader(grpcFrame(nil)))
	if err != nil {
		return answer{err: err}
	}
	req.Host = authority
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("TE", "trailers")
	resp, err := client.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	status := resp.Trailer.Get("Grpc-Status")
	if status == "" {
		status = resp.Header.Get("Grpc-Status")
	}
	if resp.StatusCode != http.StatusOK || status != "0" || len(body) < 5 {
		return answer{code: http.StatusBadGateway}
	}
	a := answer{code: http.StatusOK}
	if err := json.Unmarshal(body[5:], &a.rep); err != nil {
		a.err = fmt.Errorf("backend answer %q: %v", body, err)
	}
	return a
}

// streamCall opens TLS to a stream listener and asks the echo for its
// report, as the suite's tcp-backend TEST command does.
func streamCall(addr string, cfg *tls.Config) answer {
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: cfg}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return answer{err: err}
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("TEST\n")); err != nil {
		return answer{err: err}
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return answer{err: fmt.Errorf("read: %v", err)}
	}
	a := answer{code: http.StatusOK}
	if err := json.Unmarshal([]byte(strings.TrimSpace(line)), &a.rep); err != nil {
		a.err = err
	}
	return a
}

// TestBackendTLSWithRetries checks that backend TLS holds when
// drawbridge-retry sends the request through Kong's buffered proxy
// location, a subrequest whose upstream TLS settings start empty: the
// backend is verified on every attempt, a backend that fails verification
// is never reached, and the server name and Host stay right.
func TestBackendTLSWithRetries(t *testing.T) {
	w := newWorld(t)
	pki := newConformancePKI(t)
	w.httpListener()
	caPEM, mismatchPEM := pki.ca.PEM, pki.mismatchCA.PEM
	w.caConfigMap("tls-checks-ca-certificate", &caPEM)
	w.caConfigMap("mismatch-ca-certificate", &mismatchPEM)
	backend := startTLSEcho(t, "tls-backend", pki.backend.TLS, nil)
	w.service("good", svcPort{"btls", 443, backend, ""})
	w.service("cert-mismatch", svcPort{"btls", 443, backend, ""})
	w.service("san-mismatch", svcPort{"btls", 443, backend, ""})
	now := time.Now()
	ca := []caRef{configMap("tls-checks-ca-certificate")}
	w.policy("good", "good", "btls", "other.example.com", ca, nil, now)
	w.policy("cert-mismatch", "cert-mismatch", "btls", "abc.example.com", []caRef{configMap("mismatch-ca-certificate")}, nil, now)
	w.policy("san-mismatch", "san-mismatch", "btls", "abc.example.com", ca,
		[]gwv1.SubjectAltName{{Type: gwv1.HostnameSubjectAltNameType, Hostname: "def.example.com"}}, now)
	w.httpRoute("retried", "http", []string{"abc.example.com"},
		rule{path: "/good", service: "good", port: 443, retry: []int{500}},
		rule{path: "/cert-mismatch", service: "cert-mismatch", port: 443, retry: []int{500}},
		rule{path: "/san-mismatch", service: "san-mismatch", port: 443, retry: []int{500}})
	w.apply()
	for _, p := range w.res.Config.Services {
		names := []string{}
		for _, pl := range p.Routes[0].Plugins {
			names = append(names, pl.Name)
		}
		t.Logf("service %s (%s): route plugins %v", p.Name, p.Protocol, names)
	}
	// Alternate so a connection verified for one policy is idle in the
	// pool when the next asks.
	for round := 0; round < 2; round++ {
		consistently(t, "good", w.get("/good", "abc.example.com"), wantBackend("/good", "other.example.com", "abc.example.com"))
		consistently(t, "cert-mismatch", w.get("/cert-mismatch", "abc.example.com"), wantFailure)
		consistently(t, "san-mismatch", w.get("/san-mismatch", "abc.example.com"), wantFailure)
	}
}

// TestBackendTLSH2C checks a backend with appProtocol kubernetes.io/h2c and
// a BackendTLSPolicy: Kong sends HTTP/2 over TLS (a grpcs service) with the
// policy's server name, whatever the client spoke.
func TestBackendTLSH2C(t *testing.T) {
	w := newWorld(t)
	pki := newConformancePKI(t)
	w.httpListener()
	caPEM := pki.ca.PEM
	w.caConfigMap("tls-checks-ca-certificate", &caPEM)
	backend := startTLSEcho(t, "h2-backend", pki.backend.TLS, nil)
	w.service("h2-backend", svcPort{"h2", 443, backend, "kubernetes.io/h2c"})
	w.policy("h2", "h2-backend", "", "other.example.com", []caRef{configMap("tls-checks-ca-certificate")}, nil, time.Now())
	w.httpRoute("h2", "http", []string{"abc.example.com"}, rule{path: "/h2", service: "h2-backend", port: 443})
	w.apply()
	w.wantPolicy("h2", acceptedTrue, resolvedRefsTrue)
	consistently(t, "GET abc.example.com/h2 over HTTP/1.1", w.get("/h2", "abc.example.com"), func(a answer) error {
		if err := wantBackend("/h2", "other.example.com", "abc.example.com")(a); err != nil {
			return err
		}
		if a.rep.Proto != "HTTP/2.0" {
			return fmt.Errorf("backend saw %s, want HTTP/2.0", a.rep.Proto)
		}
		return nil
	})
}
