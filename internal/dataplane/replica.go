package dataplane

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/kong/go-kong/kong"
)

// Replica is one Kong pod's admin endpoint.
type Replica struct {
	// Name identifies the replica (the pod name); it must be unique among
	// the replicas one Pusher serves.
	Name string
	// Namespace is the pod's namespace, for dialers that reach the pod by
	// name (port-forward) rather than by address.
	Namespace string
	// Address is the pod IP or a host name.
	Address string
	// Port is the admin API's TLS port.
	Port int
	// ServerName is the name the admin server certificate is verified
	// against (and sent as SNI), e.g. "<pod>.<admin svc>.<ns>.svc".
	ServerName string
}

// URL is the replica's admin API base URL.
func (r Replica) URL() string {
	return "https://" + net.JoinHostPort(r.Address, strconv.Itoa(r.Port))
}

func (r Replica) String() string {
	return fmt.Sprintf("%s (%s, server name %q)", r.Name, net.JoinHostPort(r.Address, strconv.Itoa(r.Port)), r.ServerName)
}

type replicaKey struct{}

// ReplicaFromContext returns the replica a dial is made for. A Dialer (for
// example one that port-forwards to the pod through the API server) uses it
// to find the pod behind the address it is asked to dial.
func ReplicaFromContext(ctx context.Context) (Replica, bool) {
	r, ok := ctx.Value(replicaKey{}).(Replica)
	return r, ok
}

// ReplicaState is what the Pusher remembers about one replica.
type ReplicaState struct {
	Replica Replica
	// SHA256 is the hex SHA-256 of the configuration last pushed to the
	// replica successfully; empty when unknown (never pushed, or the last
	// push ended without a known outcome).
	SHA256 string
	// ConfigurationHash is the configuration_hash the replica reported in
	// GET /status while it held SHA256: Kong computes it from its own
	// serialisation, so it cannot be predicted and is learned on the first
	// status check after a push. Empty until then. A later answer with a
	// different hash means the replica no longer holds what was pushed.
	ConfigurationHash string
	// LastSuccess is when the replica was last confirmed to hold SHA256
	// (a successful push, a status check that allowed a skip, or a
	// periodic Check that found it in sync).
	LastSuccess time.Time
	// LastAttempt is when the last push to the replica ended.
	LastAttempt time.Time
	// LastError is the error of the last push, nil if it succeeded.
	LastError error
}

// replica is the Pusher's per-replica record. push serialises work on one
// replica across concurrent Push calls; mu guards the fields.
type replica struct {
	push sync.Mutex

	mu     sync.Mutex
	state  ReplicaState
	client *kong.Client
	tr     *http.Transport
	gen    uint64 // TLS generation the client was built with
}

// newTransport builds the HTTP transport for one replica: mutual TLS with
// the replica's server name, dialing through the Pusher's Dialer with the
// replica in the context.
func newTransport(rep Replica, tmpl *tls.Config, dial func(ctx context.Context, network, addr string) (net.Conn, error), timeout time.Duration) *http.Transport {
	var tc *tls.Config
	if tmpl != nil {
		tc = tmpl.Clone()
	} else {
		tc = &tls.Config{}
	}
	tc.ServerName = rep.ServerName
	if tc.MinVersion == 0 {
		tc.MinVersion = tls.VersionTLS12
	}
	return &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dial(context.WithValue(ctx, replicaKey{}, rep), network, addr)
		},
		TLSClientConfig:     tc,
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: timeout,
		MaxIdleConns:        2,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     90 * time.Second,
		// Admin traffic is operator-to-pod; never through an HTTP proxy.
		Proxy: nil,
	}
}
