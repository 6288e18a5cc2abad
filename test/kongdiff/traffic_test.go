package kongdiff

// The request comparison: every configuration both data planes accepted is
// rewritten for traffic, loaded into both, and the case's corpus is sent to
// both.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	// defaultBudget bounds the whole request phase; cases left when it is
	// spent are reported as not run.
	defaultBudget = 150 * time.Second
	liveTimeout   = 15 * time.Second
	parallel      = 4
	maxErrorsCase = 5
)

// casePar is how many requests of a case are in flight at once. A case
// with drawbridge-backend-select gets one: that plugin picks backendRefs
// in a weighted rotation whose state advances with every request (per
// Kong worker; the suite runs one), so both data planes agree only when
// they see the requests in the same order.
func casePar(config []byte) int {
	if bytes.Contains(config, []byte(`"drawbridge-backend-select"`)) {
		return 1
	}
	return parallel
}

// requestStats counts the request comparison.
type requestStats struct {
	total, agreed, cases int
	perKind              []string
	complete             bool
}

func runRequests(t *testing.T, cases []goldenCase, kong, standin *plane, known *knownList) requestStats {
	budget := defaultBudget
	if v := os.Getenv("KONGDIFF_BUDGET"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("KONGDIFF_BUDGET: %v", err)
		}
		budget = d
	}
	echoCert := selfSigned(t, "echo-tls")
	// Echoes are handed to targets in turn. A pool smaller than a case's
	// targets gives one echo to two upstreams, and an answer from it names
	// both: a random target choice then reads as a difference between the
	// planes. The largest case has 12 targets (hostname-intersection-
	// precedence-http), so no HTTP echo is shared.
	ech := echoes{
		http:  startHTTPEchos(t, "h", 16),
		grpc:  startHTTPEchos(t, "g", 8),
		tcp:   startTCPEchos(t, "t", 4, echoCert),
		udp:   startUDPEchos(t, "u", 4),
		probe: startTCPEchos(t, "probe", 3, echoCert),
	}
	verbose := os.Getenv("KONGDIFF_VERBOSE") != ""
	deadline := time.Now().Add(budget)
	st := requestStats{complete: true}
	kindTotal, kindAgreed := map[string]int{}, map[string]int{}
	var unlisted []difference
	for gen, c := range cases {
		if time.Now().After(deadline) {
			st.complete = false
			t.Errorf("request budget %s spent after %d of %d cases; the rest did not run (raise KONGDIFF_BUDGET)", budget, gen, len(cases))
			break
		}
		token := fmt.Sprintf("%s#%d", c.id, gen)
		rw, err := rewriteForTraffic(c.config, ech, kong.lay.kong[kindTLS], token, gen%len(ech.probe.addrs))
		if err != nil {
			t.Fatalf("%s: %v", c.id, err)
		}
		if err := loadLive(kong, rw.config, token, ech.probe.names[gen%len(ech.probe.names)]); err != nil {
			t.Errorf("%s: %v", c.id, err)
			continue
		}
		if err := loadLive(standin, rw.config, token, ech.probe.names[gen%len(ech.probe.names)]); err != nil {
			t.Errorf("%s: %v", c.id, err)
			continue
		}
		st.cases++
		reqs := corpus(gatherFacts(c.config))
		certs := certNames(c.config)
		answers := make([][2]string, len(reqs))
		var wg sync.WaitGroup
		sem := make(chan struct{}, casePar(c.config))
		for i, r := range reqs {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				answers[i][0] = summarise(send(r, kong.lay.addr(r.kind, r.port)), rw.labels, certs, echoCert.Certificate[0])
				answers[i][1] = summarise(send(r, standin.lay.addr(r.kind, r.port)), rw.labels, certs, echoCert.Certificate[0])
			}()
		}
		wg.Wait()
		caseErrors := 0
		for i, r := range reqs {
			if verbose {
				t.Logf("%s: %s\n  kong:     %s\n  stand-in: %s", c.id, r.key(), answers[i][0], answers[i][1])
			}
			st.total++
			kindTotal[r.proto]++
			if answers[i][0] == answers[i][1] {
				st.agreed++
				kindAgreed[r.proto]++
				continue
			}
			d := difference{Case: c.id, Request: r.key(), Kong: answers[i][0], Standin: answers[i][1]}
			if match(known.Requests, d) != nil {
				continue
			}
			unlisted = append(unlisted, d)
			if caseErrors++; caseErrors <= maxErrorsCase {
				t.Errorf("%s: %s\n  kong:     %s\n  stand-in: %s", c.id, d.Request, d.Kong, d.Standin)
			}
		}
		if caseErrors > maxErrorsCase {
			t.Errorf("%s: %d more unlisted differences", c.id, caseErrors-maxErrorsCase)
		}
	}
	if len(unlisted) > 0 {
		t.Logf("%d unlisted request differences, in %s form:\n%s", len(unlisted), knownFile, renderUnlisted(unlisted))
		if p := os.Getenv("KONGDIFF_UNLISTED"); p != "" {
			_ = os.WriteFile(p, []byte(renderUnlisted(unlisted)), 0o644)
		}
	}
	var kinds []string
	for k := range kindTotal {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		st.perKind = append(st.perKind, fmt.Sprintf("  %-5s %d/%d agreed", k, kindAgreed[k], kindTotal[k]))
	}
	t.Logf("requests: %d/%d agreed over %d cases\n%s", st.agreed, st.total, st.cases, strings.Join(st.perKind, "\n"))
	return st
}

// loadLive posts a configuration and waits until both probes (HTTP and
// TCP) show that it is the one serving traffic.
func loadLive(p *plane, cfg []byte, token, probeName string) error {
	status, body, err := p.postConfig(cfg)
	if err != nil {
		return err
	}
	if status != http.StatusCreated {
		return fmt.Errorf("%s rejected the configuration rewritten for traffic: %d %s", p.name, status, body)
	}
	httpProbe := request{proto: "h1", kind: kindHTTP, port: probePort, method: "GET", host: "probe", path: probePath}
	tcpProbe := request{proto: "tcp", kind: kindTCP, port: probePort}
	deadline := time.Now().Add(liveTimeout)
	var last string
	for time.Now().Before(deadline) {
		a := send(httpProbe, p.lay.addr(kindHTTP, probePort))
		if a.status == http.StatusOK && strings.Contains(string(a.body), token) {
			s := send(tcpProbe, p.lay.addr(kindTCP, probePort))
			if strings.HasPrefix(s.stream, probeName+" ") {
				return nil
			}
			last = "tcp probe: " + s.stream + s.err
		} else {
			last = fmt.Sprintf("http probe: %d %s%s", a.status, a.body, a.err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("%s: configuration not live after %s (%s)", p.name, liveTimeout, last)
}

// selfSigned makes the certificate the TCP echoes present to TLS clients.
func selfSigned(t *testing.T, cn string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
