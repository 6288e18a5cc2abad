package kongplugins

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"sort"
	"testing"
	"time"
)

// ccBenchSetup translates one Gateway with an HTTP listener on port 80 and
// HTTPS listeners on 443 and 8443 twice: without spec.tls.frontend, and
// with port 443 requiring client certificates (8443 keeps none). It
// returns both configurations and a Kong serving the three ports.
func ccBenchSetup(b *testing.B) (f *ccFixtures, without, with []byte, addrs map[int32]string, post func([]byte)) {
	f = ccNewFixtures(b)
	listeners := ccHTTPS("https", 443, "") + ccHTTPS("https-open", 8443, "") + ccIndent(`- name: http
  port: 80
  protocol: HTTP`, 2)
	route := fmt.Sprintf(`---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: bench
  namespace: %s
spec:
  parentRefs:
  - name: bench
  rules:
  - backendRefs:
    - name: infra-backend-v1
      port: 8080
`, ccNamespace)
	plain := ccGateway("bench", "", listeners)
	withTLS := ccGateway("bench", ccFrontend(ccValidation("", ccDefaultCM), map[int]string{8443: ""}, 8443), listeners)
	without = ccTranslate(b, f, plain+route).JSON
	with = ccTranslate(b, f, withTLS+route).JSON
	k, addrs := ccStartKong(b, ccListener{80, false}, ccListener{443, true}, ccListener{8443, true})
	post = func(cfg []byte) {
		if err := k.PostConfig(cfg); err != nil {
			b.Fatal(err)
		}
	}
	return f, without, with, addrs, post
}

// ccLatencies sends n requests with do and returns the sorted latencies.
func ccLatencies(b *testing.B, n int, do func() error) []time.Duration {
	out := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		if err := do(); err != nil {
			b.Fatal(err)
		}
		out = append(out, time.Since(start))
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func ccPercentile(d []time.Duration, p float64) float64 {
	return float64(d[int(float64(len(d)-1)*p)].Microseconds())
}

// BenchmarkClientCertPlainRequests measures what drawbridge-client-cert
// (a global plugin, so its rewrite phase runs on every request) adds to
// requests on ports that do not validate: keep-alive HTTP requests on port
// 80, and keep-alive HTTPS requests on port 8443, with and without the
// plugin in the configuration. b.N rounds of 500 requests per variant,
// interleaved; p50 and p99 in microseconds.
func BenchmarkClientCertPlainRequests(b *testing.B) {
	f, without, with, addrs, post := ccBenchSetup(b)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(f.serverPEM)
	clients := map[string]*http.Client{
		"http":  {Timeout: 5 * time.Second},
		"https": {Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{ServerName: "example.org", RootCAs: roots}}},
	}
	urls := map[string]string{"http": "http://" + addrs[80] + "/", "https": "https://" + addrs[8443] + "/"}
	lat := map[string][]time.Duration{}
	b.ResetTimer()
	for range b.N {
		for _, variant := range []struct {
			name string
			cfg  []byte
		}{{"without", without}, {"with", with}} {
			b.StopTimer()
			post(variant.cfg)
			b.StartTimer()
			for _, scheme := range []string{"http", "https"} {
				c, u := clients[scheme], urls[scheme]
				lat[scheme+"/"+variant.name] = append(lat[scheme+"/"+variant.name], ccLatencies(b, 500, func() error {
					req, _ := http.NewRequest(http.MethodGet, u, nil)
					req.Host = "example.org"
					resp, err := c.Do(req)
					if err != nil {
						return err
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						return fmt.Errorf("%s: %d", u, resp.StatusCode)
					}
					return nil
				})...)
			}
		}
	}
	for k, d := range lat {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		b.ReportMetric(ccPercentile(d, 0.50), k+"-p50-µs")
		b.ReportMetric(ccPercentile(d, 0.99), k+"-p99-µs")
	}
}

// BenchmarkClientCertHandshakes measures a full TLS handshake plus one
// request (no keep-alive, no session reuse) on port 8443 without
// validation and on port 443 with AllowValidOnly and a valid client
// certificate. p50 and p99 in microseconds over b.N rounds of 200.
func BenchmarkClientCertHandshakes(b *testing.B) {
	f, _, with, addrs, post := ccBenchSetup(b)
	post(with)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(f.serverPEM)
	mk := func(cert *tls.Certificate) *http.Client {
		cfg := &tls.Config{ServerName: "example.org", RootCAs: roots}
		if cert != nil {
			cfg.Certificates = []tls.Certificate{*cert}
		}
		return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}}
	}
	variants := []struct {
		name string
		c    *http.Client
		addr string
	}{{"no-validation", mk(nil), addrs[8443]}, {"AllowValidOnly", mk(f.client), addrs[443]}}
	lat := map[string][]time.Duration{}
	b.ResetTimer()
	for range b.N {
		for _, v := range variants {
			lat[v.name] = append(lat[v.name], ccLatencies(b, 200, func() error {
				req, _ := http.NewRequest(http.MethodGet, "https://"+v.addr+"/", nil)
				req.Host = "example.org"
				resp, err := v.c.Do(req)
				if err != nil {
					return err
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					return fmt.Errorf("%s: %d", v.name, resp.StatusCode)
				}
				return nil
			})...)
		}
	}
	for k, d := range lat {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		b.ReportMetric(ccPercentile(d, 0.50), k+"-p50-µs")
		b.ReportMetric(ccPercentile(d, 0.99), k+"-p99-µs")
	}
}
