package kongdiff

// Normalising answers so that only behaviour is compared. What is
// normalised, and why:
//   - Date, Content-Length, Connection, Keep-Alive, Transfer-Encoding
//     response headers are dropped (framing and clock, not behaviour);
//   - X-Kong-Upstream-Latency, X-Kong-Proxy-Latency, X-Kong-Response-Latency
//     become "*" (timing), X-Kong-Request-Id and request_id in JSON and
//     text bodies become "*" (random);
//   - "kong/<version>" in Via and Server becomes "kong/V" (the stand-in
//     imitates another 3.9 patch release);
//   - upstream request headers drop Content-Length, Connection and
//     Keep-Alive (hop-by-hop framing) and normalise the request id and Via
//     the same way;
//   - the rate-limiting counters (RateLimit-Remaining, RateLimit-Reset,
//     X-RateLimit-Remaining-*, Retry-After) become "*": the corpus is sent
//     to both data planes concurrently, so which request a counter sees
//     first differs, while the limit headers and the statuses are compared;
//   - X-Consumer-Id and X-Credential-Identifier sent upstream become "*":
//     ids Kong generates for entities the configuration gives no id
//     (X-Consumer-Username and X-Consumer-Custom-Id are compared);
//   - JSON bodies are compared re-encoded with sorted keys (spacing);
//   - the echo that answered is shown as the original target it replaced;
//   - a served certificate is shown as the configuration certificate it is
//     (by subject), or "default" for a data plane's own default certificate;
//   - a reset on an HTTPS request, and Go's HTTP/2 "client conn could not
//     be established" over TLS, count as a TLS error: a refused client
//     certificate reaches a TLS 1.3 client, which has already sent its
//     first request, as an alert, as a reset when the server closed with
//     that request unread, or (HTTP/2) as a connection that ended before
//     the server's SETTINGS; which one is timing (tlsRefusal, sendH2).

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
)

var (
	kongVersionRE = regexp.MustCompile(`kong/\d+\.\d+\.\d+(\.\d+)?`)
	dropResponse  = map[string]bool{"Date": true, "Content-Length": true, "Connection": true, "Keep-Alive": true, "Transfer-Encoding": true}
	starResponse  = map[string]bool{"X-Kong-Upstream-Latency": true, "X-Kong-Proxy-Latency": true, "X-Kong-Response-Latency": true, "X-Kong-Request-Id": true}
	dropUpstream  = map[string]bool{"Content-Length": true, "Connection": true, "Keep-Alive": true}
	starUpstream  = map[string]bool{"X-Consumer-Id": true, "X-Credential-Identifier": true}
)

// counterHeader says whether a response header carries a rate-limiting
// counter (order-dependent) rather than a limit.
func counterHeader(ck string) bool {
	return ck == "Ratelimit-Remaining" || ck == "Ratelimit-Reset" || ck == "Retry-After" ||
		strings.HasPrefix(ck, "X-Ratelimit-Remaining")
}

// certNames maps the leaf DER of each configuration certificate to a name.
func certNames(cfg []byte) map[string]string {
	var c struct {
		Certificates []struct {
			Cert string `json:"cert"`
		} `json:"certificates"`
	}
	_ = json.Unmarshal(cfg, &c)
	out := map[string]string{}
	for i, cert := range c.Certificates {
		blk, _ := pem.Decode([]byte(cert.Cert))
		if blk == nil {
			continue
		}
		name := fmt.Sprintf("cert%d", i)
		if x, err := x509.ParseCertificate(blk.Bytes); err == nil {
			name = fmt.Sprintf("cert%d(%s)", i, x.Subject.CommonName)
		}
		out[string(blk.Bytes)] = name
	}
	return out
}

// summarise renders a raw answer as the one-line form that is compared.
func summarise(a raw, labels, certs map[string]string, echoCert []byte) string {
	var parts []string
	if a.peerCert != nil {
		name, ok := certs[string(a.peerCert)]
		switch {
		case ok:
		case bytes.Equal(a.peerCert, echoCert):
			name = "echo"
		default:
			name = "default"
		}
		parts = append(parts, "cert="+name)
	}
	if a.err != "" {
		return strings.Join(append(parts, a.err), " ")
	}
	if a.stream != "" {
		name, rest, _ := strings.Cut(a.stream, " ")
		if l, ok := labels[name]; ok {
			name = "<" + l + ">"
		}
		return strings.Join(append(parts, "stream "+name+" "+rest), " ")
	}
	parts = append(parts, fmt.Sprint(a.status))
	var rep echoReport
	if json.Unmarshal(a.body, &rep) == nil && rep.Name != "" {
		up := rep.Name
		if l, ok := labels[up]; ok {
			up = l
		}
		parts = append(parts, fmt.Sprintf("upstream=<%s> %s %s", up, rep.Method, rep.Path))
		if rep.Query != "" {
			parts = append(parts, "?"+rep.Query)
		}
		parts = append(parts, "host="+rep.Host, "headers{"+headerList(rep.Headers, dropUpstream, starUpstream)+"}")
	} else if len(a.body) > 0 {
		parts = append(parts, "body="+normaliseBody(a.body))
	}
	parts = append(parts, "response{"+headerList(a.header, dropResponse, starResponse)+"}")
	return strings.Join(parts, " ")
}

var (
	requestIDRE     = regexp.MustCompile(`"request_id":"[^"]*"`)
	requestIDTextRE = regexp.MustCompile(`request_id: [0-9a-f]+`)
)

func normaliseBody(b []byte) string {
	var v any
	if json.Unmarshal(b, &v) == nil {
		if out, err := json.Marshal(v); err == nil {
			b = out
		}
	}
	s := requestIDRE.ReplaceAllString(strings.TrimSpace(string(b)), `"request_id":"*"`)
	s = requestIDTextRE.ReplaceAllString(s, "request_id: *")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// headerList renders headers as sorted "name: value" pairs.
func headerList(h map[string][]string, drop, star map[string]bool) string {
	var out []string
	for k, vs := range h {
		ck := http.CanonicalHeaderKey(k)
		if drop[ck] {
			continue
		}
		v := strings.Join(vs, ",")
		switch {
		case star[ck] || ck == "X-Kong-Request-Id" || counterHeader(ck):
			v = "*"
		case ck == "Via" || ck == "Server":
			v = kongVersionRE.ReplaceAllString(v, "kong/V")
		}
		out = append(out, strings.ToLower(ck)+": "+v)
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}
