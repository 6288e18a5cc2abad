package kongplugins

// Fixtures of the Gateway API v1.7.0 tests in this package (GRPCRoute
// header modifiers, hostname intersection precedence, backend URL rewrites,
// rule order, multiple Gateways, long Gateway names): echo backends on
// 127.0.0.1 that answer as the conformance suite's echo-basic does (HTTP,
// gRPC over h2c, TLS), manifests in the shape of the upstream ones, and the
// translation of those manifests. Names start with v17 so they stay apart
// from the other feature tests of the package.

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
	"github.com/drawbridge-dev/drawbridge/internal/testutil/realkong"
	"github.com/drawbridge-dev/drawbridge/internal/translate"
)

// v17NS is the namespace of the conformance suite's infrastructure, which
// the echo backends report as echo-basic does.
const v17NS = "gateway-conformance-infra"

// v17Timeout bounds every request and every wait of these tests.
const v17Timeout = 5 * time.Second

// v17Echoed is what an echo backend answers: the request as it arrived,
// with the fields the conformance suite's checks read.
type v17Echoed struct {
	Pod       string              `json:"pod"`
	Namespace string              `json:"namespace"`
	Method    string              `json:"method"`
	Path      string              `json:"path"`
	Host      string              `json:"host"`
	Proto     string              `json:"proto"`
	Headers   map[string][]string `json:"headers"`
	SNI       string              `json:"sni,omitempty"`
}

// v17StartEcho serves the echo on 127.0.0.1 as pod <pod>: HTTP/1.1 and
// h2c on one port, gRPC requests (Content-Type application/grpc) answered
// with the report as one gRPC message and grpc-status 0, as echo-basic's
// gRPC mode echoes the request metadata. It returns host:port.
func v17StartEcho(t testing.TB, pod string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetUnencryptedHTTP2(true)
	srv := &http.Server{Handler: v17EchoHandler(pod), Protocols: &protos, ReadHeaderTimeout: v17Timeout}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

func v17EchoHandler(pod string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		path, _, _ := strings.Cut(r.RequestURI, "?")
		rep := v17Echoed{Pod: pod, Namespace: v17NS, Method: r.Method, Path: path, Host: r.Host, Proto: r.Proto, Headers: r.Header}
		if r.TLS != nil {
			rep.SNI = r.TLS.ServerName
		}
		body, _ := json.Marshal(rep)
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
			w.Header().Set("Content-Type", "application/grpc")
			w.Header().Set("Trailer", "Grpc-Status")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(v17GRPCFrame(body))
			w.Header().Set("Grpc-Status", "0")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
}

// v17GRPCFrame wraps a message in gRPC's length-prefixed framing.
func v17GRPCFrame(msg []byte) []byte {
	out := make([]byte, 5+len(msg))
	binary.BigEndian.PutUint32(out[1:5], uint32(len(msg)))
	copy(out[5:], msg)
	return out
}

// v17GRPCAnswer is a gRPC call's outcome.
type v17GRPCAnswer struct {
	httpStatus int
	grpcStatus string // "" when the answer had none
	echo       *v17Echoed
	body       string
}

func (a v17GRPCAnswer) String() string {
	return fmt.Sprintf("HTTP %d, grpc-status %q, body %q", a.httpStatus, a.grpcStatus, a.body)
}

// v17GRPCCall makes a unary gRPC call over h2c with prior knowledge, as the
// conformance suite's gRPC client does against a plain listener: POST
// /<service>/<method> with :authority and metadata.
func v17GRPCCall(addr, authority, fullMethod string, metadata map[string]string) (v17GRPCAnswer, error) {
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	client := &http.Client{Timeout: v17Timeout, Transport: &http.Transport{Protocols: &protos}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+fullMethod, bytes.NewReader(v17GRPCFrame(nil)))
	if err != nil {
		return v17GRPCAnswer{}, err
	}
	if authority != "" {
		req.Host = authority
	}
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("TE", "trailers")
	for k, v := range metadata {
		req.Header.Add(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return v17GRPCAnswer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return v17GRPCAnswer{}, err
	}
	a := v17GRPCAnswer{httpStatus: resp.StatusCode, body: string(body)}
	a.grpcStatus = resp.Trailer.Get("Grpc-Status")
	if a.grpcStatus == "" {
		a.grpcStatus = resp.Header.Get("Grpc-Status") // trailers-only answer
	}
	if len(body) >= 5 && body[0] == 0 && int(binary.BigEndian.Uint32(body[1:5])) == len(body)-5 {
		var e v17Echoed
		if err := json.Unmarshal(body[5:], &e); err == nil {
			a.echo = &e
		}
	}
	return a, nil
}

// v17HTTPGet sends one HTTP/1.1 request and decodes the echo when there is
// one.
func v17HTTPGet(addr, host, path string, headers map[string]string) (int, *v17Echoed, error) {
	client := &http.Client{Timeout: v17Timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer client.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return 0, nil, err
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, nil, err
	}
	var e v17Echoed
	if json.Unmarshal(body, &e) != nil || e.Pod == "" {
		return resp.StatusCode, nil, nil
	}
	return resp.StatusCode, &e, nil
}

// v17Service renders a Service (port 8080, or 443 for tls) and an
// EndpointSlice whose one endpoint is the backend at addr.
func v17Service(name, addr, appProtocol string) string {
	host, port, _ := net.SplitHostPort(addr)
	svcPort := "8080"
	if appProtocol == "tls" {
		svcPort, appProtocol = "443", ""
	}
	ap := ""
	if appProtocol != "" {
		ap = ", appProtocol: " + appProtocol
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  ports: [{name: p, port: %[3]s, targetPort: p%[4]s}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: %[1]s-1
  namespace: %[2]s
  labels: {kubernetes.io/service-name: %[1]s}
addressType: IPv4
ports: [{name: p, port: %[5]s}]
endpoints: [{addresses: [%[6]s]}]
`, name, v17NS, svcPort, ap, port, host)
}

// v17GatewayClass is the GatewayClass every fixture's Gateways use.
const v17GatewayClass = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: drawbridge}
spec: {controllerName: drawbridge.dev/gateway-controller}
`

// v17RouteResult is the result of one route's first parentRef.
func v17RouteResult(t testing.TB, res *translate.Result, kind, name string) translate.RouteParentResult {
	t.Helper()
	for _, r := range res.Routes {
		if r.Route.Kind == kind && r.Route.Name == name {
			return r
		}
	}
	t.Fatalf("%s %s has no result", kind, name)
	return translate.RouteParentResult{}
}

// v17RequireAccepted fails unless every route is Accepted with its
// references resolved.
func v17RequireAccepted(t testing.TB, res *translate.Result) {
	t.Helper()
	if len(res.Routes) == 0 {
		t.Fatal("no route attached to the Gateway")
	}
	for _, r := range res.Routes {
		for _, c := range []gatewayapi.Condition{r.Accepted, r.ResolvedRefs} {
			if c.Status != "True" {
				t.Fatalf("%s: %s=%s %s: %s", r.Route, c.Type, c.Status, c.Reason, c.Message)
			}
		}
	}
}

// v17Kong is real Kong with a plain HTTP listener that also speaks h2c
// (as a provisioned data plane's HTTP listeners do) and, with tls set, an
// ssl stream listener for TLS routes. Gateway listeners use the ports Kong
// binds, so no port_maps are involved.
type v17Kong struct {
	*realkong.Kong
	httpPort, tlsPort string
}

func v17StartKong(t testing.TB, tls bool) *v17Kong {
	t.Helper()
	ports := realkong.FreePorts(t, 2)
	env := map[string]string{"KONG_PROXY_LISTEN": "127.0.0.1:" + ports[0] + " http2"}
	if tls {
		env["KONG_STREAM_LISTEN"] = "127.0.0.1:" + ports[1] + " ssl"
	}
	k := realkong.Start(t, realkong.Options{Env: env})
	return &v17Kong{Kong: k, httpPort: ports[0], tlsPort: ports[1]}
}

func (k *v17Kong) httpAddr() string { return "127.0.0.1:" + k.httpPort }
func (k *v17Kong) tlsAddr() string  { return "127.0.0.1:" + k.tlsPort }

// post posts a translation's configuration.
func (k *v17Kong) post(t testing.TB, res *translate.Result) {
	t.Helper()
	if err := k.PostConfig(res.JSON); err != nil {
		t.Fatalf("%v\n%s", err, res.JSON)
	}
}

// v17Eventually retries check until it passes or v17Timeout passes, as
// the conformance suite waits for an eventually consistent answer; the
// configuration is already live when it starts, so one try usually does.
func v17Eventually(t testing.TB, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(v17Timeout)
	var err error
	for attempt := 0; attempt < 50; attempt++ {
		if err = check(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("%s: %v", what, err)
}

// v17SelfSigned makes a self-signed ECDSA certificate for the DNS names.
func v17SelfSigned(t testing.TB, names ...string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return cert, pool
}

// v17StartTLSEcho serves the HTTP echo over TLS with cert on 127.0.0.1,
// as the conformance suite's TLS backends do behind passthrough listeners.
func v17StartTLSEcho(t testing.TB, pod string, cert tls.Certificate) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: v17EchoHandler(pod), ReadHeaderTimeout: v17Timeout}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// v17TLSGet opens TLS to addr with SNI serverName, verifies the backend's
// certificate against roots, and sends one HTTP/1.1 request through it.
func v17TLSGet(addr, serverName string, roots *x509.CertPool) (*v17Echoed, error) {
	raw, err := net.DialTimeout("tcp", addr, v17Timeout)
	if err != nil {
		return nil, err
	}
	defer raw.Close()
	_ = raw.SetDeadline(time.Now().Add(v17Timeout))
	conn := tls.Client(raw, &tls.Config{ServerName: serverName, RootCAs: roots, MinVersion: tls.VersionTLS12})
	if err := conn.Handshake(); err != nil {
		return nil, err
	}
	if _, err := fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", serverName); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var e v17Echoed
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&e); err != nil {
		return nil, fmt.Errorf("HTTP %d: %v", resp.StatusCode, err)
	}
	return &e, nil
}
