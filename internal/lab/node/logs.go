package node

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// LogServer serves container logs the way the apiserver asks a kubelet for
// them (GET /containerLogs/{namespace}/{pod}/{container}), so that
// `kubectl logs` works. It listens on 127.0.0.1 and admits only clients with
// a certificate from the lab CA, i.e. the apiserver.
type LogServer struct {
	n   *Node
	srv *http.Server
	ln  net.Listener
}

// ServeLogs starts the log endpoint on ln with client certificates checked
// against caFile.
func (n *Node) ServeLogs(ln net.Listener, caFile string) (*LogServer, error) {
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read lab CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("no certificate in %s", caFile)
	}
	cert, err := selfSignedServing()
	if err != nil {
		return nil, err
	}
	s := &LogServer{n: n, ln: ln}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", s.containerLogs)
	s.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{cert}, ClientCAs: pool,
			ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12,
		},
	}
	go func() { _ = s.srv.ServeTLS(ln, "", "") }()
	return s, nil
}

// Close stops the log endpoint.
func (s *LogServer) Close() error { return s.srv.Close() }

func selfSignedServing() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "lab-node"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("log endpoint certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// runLogs lists a container's run log files, oldest first.
func runLogs(podDir, container string) []string {
	files, _ := filepath.Glob(filepath.Join(podDir, "logs", container, "*.log"))
	run := func(f string) int {
		n, _ := strconv.Atoi(strings.TrimSuffix(filepath.Base(f), ".log"))
		return n
	}
	sort.Slice(files, func(i, j int) bool { return run(files[i]) < run(files[j]) })
	return files
}

// podDir finds the directory of the newest pod with that namespace and name.
func (n *Node) podDir(namespace, name string) (string, bool) {
	dirs, _ := filepath.Glob(filepath.Join(n.opts.Dir, namespace+"_"+name+"_*"))
	if len(dirs) == 0 {
		return "", false
	}
	sort.Slice(dirs, func(i, j int) bool {
		a, _ := os.Stat(dirs[i])
		b, _ := os.Stat(dirs[j])
		return a.ModTime().Before(b.ModTime())
	})
	return dirs[len(dirs)-1], true
}

func (s *LogServer) containerLogs(w http.ResponseWriter, r *http.Request) {
	ns, pod, container := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
	dir, ok := s.n.podDir(ns, pod)
	if !ok {
		http.Error(w, fmt.Sprintf("pod %s/%s has no logs on this node", ns, pod), http.StatusNotFound)
		return
	}
	files := runLogs(dir, container)
	q := r.URL.Query()
	pick := len(files) - 1
	if q.Get("previous") == "true" {
		pick--
	}
	if pick < 0 {
		http.Error(w, fmt.Sprintf("container %q of pod %s/%s has no such run", container, ns, pod), http.StatusNotFound)
		return
	}
	f, err := os.Open(files[pick])
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer f.Close()
	if tail := q.Get("tailLines"); tail != "" {
		n, err := strconv.Atoi(tail)
		if err != nil || n < 0 {
			http.Error(w, "tailLines must be a non-negative integer", http.StatusBadRequest)
			return
		}
		if err := seekTail(f, n); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	var out io.Writer = w
	if limit := q.Get("limitBytes"); limit != "" {
		if n, err := strconv.ParseInt(limit, 10, 64); err == nil && n > 0 {
			out = &limitWriter{w: w, left: n}
		}
	}
	w.Header().Set("Content-Type", "text/plain")
	if _, err := io.Copy(out, f); err != nil {
		return
	}
	if q.Get("follow") != "true" {
		return
	}
	// Follow the current run until the client goes away or a newer run
	// starts, polling: the lab has few containers and no inotify needs.
	flusher, _ := w.(http.Flusher)
	for {
		if flusher != nil {
			flusher.Flush()
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(250 * time.Millisecond):
		}
		if _, err := io.Copy(out, f); err != nil {
			return
		}
		if now := runLogs(dir, container); len(now) > len(files) {
			_, _ = io.Copy(out, f)
			return
		}
	}
}

// seekTail positions f at the start of its last n lines.
func seekTail(f *os.File, n int) error {
	var offsets []int64
	var pos int64
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			offsets = append(offsets, pos)
			pos += int64(len(line))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	start := int64(0)
	if n < len(offsets) {
		start = offsets[len(offsets)-n]
	}
	if n == 0 {
		start = pos
	}
	_, err := f.Seek(start, io.SeekStart)
	return err
}

type limitWriter struct {
	w    io.Writer
	left int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.w.Write(p)
	l.left -= int64(n)
	return n, err
}
