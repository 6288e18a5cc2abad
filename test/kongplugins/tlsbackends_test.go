package kongplugins

// TLS test backends on 127.0.0.1 and the certificates they present: an
// HTTPS/HTTP2 echo (HTTP and gRPC-framed answers) and a TLS stream echo.
// Each records the TLS server name, the Host header and the client
// certificate it received, as the Gateway API echo-basic backend does.

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// testCA is a CA that issues test certificates.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	PEM  string
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, PEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}
}

// issued is a certificate and key in PEM and as a tls.Certificate.
type issued struct {
	CertPEM, KeyPEM string
	TLS             tls.Certificate
}

// issue signs a certificate. names are DNS names, or URIs when they parse
// with a scheme (as the conformance suite's certificates do); client makes
// a client-authentication certificate.
func (ca *testCA) issue(t *testing.T, cn string, names []string, client bool) issued {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	usage := x509.ExtKeyUsageServerAuth
	if client {
		usage = x509.ExtKeyUsageClientAuth
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	for _, n := range names {
		if u, err := url.Parse(n); err == nil && u.Scheme != "" {
			tmpl.URIs = append(tmpl.URIs, u)
			continue
		}
		tmpl.DNSNames = append(tmpl.DNSNames, n)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	out := issued{
		CertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		KeyPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})),
	}
	out.TLS, err = tls.X509KeyPair([]byte(out.CertPEM), []byte(out.KeyPEM))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// tlsEchoReport is what a TLS echo received.
type tlsEchoReport struct {
	Name       string `json:"name"`
	SNI        string `json:"sni"`
	Host       string `json:"host"`
	Path       string `json:"path"`
	Proto      string `json:"proto"`
	ClientCert string `json:"clientCert,omitempty"` // PEM of the leaf the client presented
}

const backendIOTimeout = 5 * time.Second

// startTLSEcho serves HTTP/1.1 and HTTP/2 over TLS with the certificate;
// with clientCAs it requires a client certificate signed by them.
func startTLSEcho(t *testing.T, name string, cert tls.Certificate, clientCAs *x509.CertPool) string {
	addr, _ := startCountingTLSEcho(t, name, cert, clientCAs)
	return addr
}

// startCountingTLSEcho is startTLSEcho that also counts the connections
// it accepted, to see upstream keepalive at work.
func startCountingTLSEcho(t *testing.T, name string, cert tls.Certificate, clientCAs *x509.CertPool) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
	if clientCAs != nil {
		cfg.ClientCAs = clientCAs
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	conns := &atomic.Int64{}
	srv := &http.Server{Handler: tlsEcho(name), ReadHeaderTimeout: backendIOTimeout, TLSConfig: cfg, ErrorLog: quietLog(),
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				conns.Add(1)
			}
		}}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String(), conns
}

func tlsEcho(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		rep := tlsEchoReport{Name: name, Host: r.Host, Path: r.URL.Path, Proto: r.Proto}
		if r.TLS != nil {
			rep.SNI = r.TLS.ServerName
			if len(r.TLS.PeerCertificates) > 0 {
				rep.ClientCert = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.TLS.PeerCertificates[0].Raw}))
			}
		}
		body, _ := json.Marshal(rep)
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
			w.Header().Set("Content-Type", "application/grpc")
			w.Header().Set("Trailer", "Grpc-Status")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(grpcFrame(body))
			w.Header().Set("Grpc-Status", "0")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
}

// grpcFrame wraps a message in gRPC's length-prefixed framing.
func grpcFrame(msg []byte) []byte {
	out := make([]byte, 5+len(msg))
	binary.BigEndian.PutUint32(out[1:5], uint32(len(msg)))
	copy(out[5:], msg)
	return out
}

// startTLSStreamEcho accepts TLS connections and answers each line with a
// JSON report of the handshake, like the conformance tcp-backend's TEST
// command.
func startTLSStreamEcho(t *testing.T, name string, cert tls.Certificate) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(backendIOTimeout))
				tc := c.(*tls.Conn)
				if err := tc.Handshake(); err != nil {
					return
				}
				line, err := bufio.NewReader(c).ReadString('\n')
				if err != nil {
					return
				}
				rep := tlsEchoReport{Name: name, SNI: tc.ConnectionState().ServerName, Path: strings.TrimSpace(line)}
				b, _ := json.Marshal(rep)
				_, _ = c.Write(append(b, '\n'))
			}()
		}
	}()
	return ln.Addr().String()
}

// quietLog drops the backends' own log lines: handshakes Kong aborts on
// purpose would otherwise fill the test output.
func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }
