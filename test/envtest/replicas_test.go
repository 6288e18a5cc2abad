package envtest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/provision"
	"github.com/drawbridge-dev/drawbridge/test/kongstandin"
)

// replicaIPs hands out distinct loopback addresses, one per simulated Kong
// replica, so every replica can bind the real admin port 8444.
var replicaIPs atomic.Int32

// loopbackBlock is this test process's own 127.B.0.0/24, so suites that run
// at the same time on one machine (other checkouts) never share an address.
var loopbackBlock = 1 + os.Getpid()%250

// nextLoopback returns the next replica's loopback address.
func nextLoopback() string {
	n := replicaIPs.Add(1)
	Expect(n).To(BeNumerically("<", 250), "out of replica addresses")
	return fmt.Sprintf("127.%d.0.%d", loopbackBlock, n)
}

// podAddress is the address a replica is published under in the
// EndpointSlice (which refuses loopback addresses): 198.18.B.N from the
// reserved benchmarking range for loopback 127.B.0.N. The suite's admin
// dialer maps it back, so no packet ever leaves 127.0.0.0/8.
func podAddress(loopback string) string {
	parts := strings.Split(loopback, ".")
	return "198.18." + parts[1] + "." + parts[3]
}

// loopbackDialer is the operator's admin dialer in this suite: it dials the
// loopback twin of a 198.18.B.N pod address and refuses anything else.
func loopbackDialer(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	parts := strings.Split(host, ".")
	if err != nil || len(parts) != 4 || parts[0] != "198" || parts[1] != "18" {
		return nil, fmt.Errorf("test dialer: refusing %s: only simulated pod addresses are reachable", addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, net.JoinHostPort("127."+parts[2]+".0."+parts[3], port))
}

// replica is one simulated Kong data-plane replica: a Kong stand-in that
// mounts the Gateway's admin certificate Secret exactly as the pod would.
type replica struct {
	srv *kongstandin.Server
	cfg *kongstandin.Config
	// addr is the pod address to publish in the admin EndpointSlice.
	addr string
	// admin is the loopback address of its admin listener.
	admin string
	// proxy is the loopback address of its HTTP proxy listener, when it
	// serves traffic (startServingKong).
	proxy string
}

// startReplica starts a replica of gw and returns the pod address to publish.
func startReplica(gw *gwv1.Gateway) string { return startKong(gw).addr }

// startKong runs a Kong stand-in as one data-plane replica of gw, listening
// for the admin API, with client-certificate verification, on its own
// loopback address. extraEnv (KONG_*=...) overrides the defaults.
func startKong(gw *gwv1.Gateway, extraEnv ...string) *replica {
	names := provision.NamesFor(gw)
	var secret corev1.Secret
	Eventually(get(&secret, gw.Namespace, names.AdminTLS)).Should(Succeed())
	dir := GinkgoT().TempDir()
	for _, f := range []string{"tls.crt", "tls.key", "ca.crt"} {
		Expect(os.WriteFile(filepath.Join(dir, f), secret.Data[f], 0o600)).To(Succeed())
	}
	ip := nextLoopback()
	cfg, err := kongstandin.ConfigFromEnv(append([]string{
		"KONG_DATABASE=off", "KONG_ROUTER_FLAVOR=expressions",
		"KONG_PROXY_LISTEN=off", "KONG_STREAM_LISTEN=off", "KONG_CLUSTER_LISTEN=off",
		fmt.Sprintf("KONG_ADMIN_LISTEN=%s:%d ssl", ip, provision.AdminPort),
		"KONG_STATUS_LISTEN=" + ip + ":0",
		"KONG_ADMIN_SSL_CERT=" + filepath.Join(dir, "tls.crt"),
		"KONG_ADMIN_SSL_CERT_KEY=" + filepath.Join(dir, "tls.key"),
		"KONG_NGINX_ADMIN_SSL_CLIENT_CERTIFICATE=" + filepath.Join(dir, "ca.crt"),
		"KONG_NGINX_ADMIN_SSL_VERIFY_CLIENT=on", "KONG_NGINX_ADMIN_SSL_VERIFY_DEPTH=1",
		"KONG_PROXY_ACCESS_LOG=off", "KONG_ADMIN_ACCESS_LOG=off", "KONG_PROXY_ERROR_LOG=off", "KONG_ADMIN_ERROR_LOG=off",
	}, expand(extraEnv, ip)...))
	Expect(err).NotTo(HaveOccurred())
	r := &replica{cfg: cfg, addr: podAddress(ip), admin: fmt.Sprintf("%s:%d", ip, provision.AdminPort)}
	r.start()
	DeferCleanup(r.stop)
	return r
}

// expand puts the replica's loopback address in place of {ip}.
func expand(env []string, ip string) []string {
	out := make([]string, len(env))
	for i, kv := range env {
		out[i] = strings.ReplaceAll(kv, "{ip}", ip)
	}
	return out
}

// servingPort is the Kong-side port of a Gateway listener on port 80
// (provision.MapPorts), published back as 80 through KONG_PORT_MAPS as the
// rendered data plane does, so routes' net.dst.port matches.
const servingPort = 8080

// startServingKong is startKong with the plain HTTP proxy listener a
// Gateway with one HTTP listener on port 80 gets, so a test can send the
// replica a request (on its loopback address only).
func startServingKong(gw *gwv1.Gateway) *replica {
	r := startKong(gw, fmt.Sprintf("KONG_PROXY_LISTEN={ip}:%d", servingPort), fmt.Sprintf("KONG_PORT_MAPS=80:%d", servingPort))
	r.proxy = r.srv.ProxyAddrs()[0].String()
	return r
}

// served sends GET / with the given Host to a serving replica and returns
// its answer as "<status> <Location>", or the error.
func served(r *replica, host string) func() string {
	return func() string {
		req, err := http.NewRequest(http.MethodGet, "http://"+r.proxy+"/", nil)
		Expect(err).NotTo(HaveOccurred())
		req.Host = host
		c := &http.Client{Timeout: 2 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Do(req)
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return fmt.Sprintf("%d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func (r *replica) start() {
	srv, err := kongstandin.New(r.cfg)
	Expect(err).NotTo(HaveOccurred())
	Expect(srv.Start()).To(Succeed())
	r.srv = srv
}

func (r *replica) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = r.srv.Shutdown(ctx)
}

// restart stops the replica and starts it again at the same address, with
// no configuration, as a restarted Kong container comes back.
func (r *replica) restart() {
	r.stop()
	r.start()
}

// publishReplicas writes the admin Service's EndpointSlice, as the
// EndpointSlice controller would for the given pod addresses.
func publishReplicas(gw *gwv1.Gateway, ips ...string) {
	names := provision.NamesFor(gw)
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: gw.Namespace, Name: names.Admin + "-replicas",
			Labels: map[string]string{discoveryv1.LabelServiceName: names.Admin}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To(provision.AdminPortName), Port: ptr.To(int32(provision.AdminPort))}},
	}
	for i, ip := range ips {
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{ip},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false)},
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", Name: fmt.Sprintf("%s-%d", names.DataPlane, i)},
		})
	}
	ctx := context.Background()
	var existing discoveryv1.EndpointSlice
	if err := get(&existing, gw.Namespace, slice.Name)(); err == nil {
		existing.Endpoints = slice.Endpoints
		// Every publication is a change, as a readiness flip would be.
		existing.Annotations = map[string]string{"test.drawbridge.dev/published": unique("p")}
		Expect(k8s.Update(ctx, &existing)).To(Succeed())
		return
	}
	Expect(k8s.Create(ctx, slice)).To(Succeed())
}
