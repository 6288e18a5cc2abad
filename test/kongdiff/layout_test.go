package kongdiff

// Listener layout: every Gateway port the golden configurations route on is
// served by one Kong listener of each kind (plain HTTP with h2c, HTTPS with
// h2, TCP, UDP, TLS), each bound to its own loopback port and mapped back to
// the Gateway port through port_maps, so one Kong process serves every case.

import (
	"fmt"
	"net"
	"sort"
	"strings"
	"testing"

	"github.com/drawbridge-dev/drawbridge/internal/kong/luaplugins"
)

// kind is how a listener serves a Gateway port.
type kind string

const (
	kindHTTP  kind = "http"  // proxy_listen, plain, http2 (h2c)
	kindHTTPS kind = "https" // proxy_listen, ssl, http2
	kindTCP   kind = "tcp"   // stream_listen, plain
	kindUDP   kind = "udp"   // stream_listen udp
	kindTLS   kind = "tls"   // stream_listen ssl (terminate and passthrough)
)

var allKinds = []kind{kindHTTP, kindHTTPS, kindTCP, kindUDP, kindTLS}

// probePort is the Gateway port of the probe route the suite adds to every
// configuration it loads for traffic (see rewrite_test.go). No golden case
// uses it.
const probePort = 65001

// layout is the set of listeners one data plane binds.
type layout struct {
	gatewayPorts []int
	// kong maps a kind and Gateway port to the loopback port the data
	// plane binds for it.
	kong  map[kind]map[int]int
	admin int
	stat  int
}

// addr is the loopback address serving a kind on a Gateway port.
func (l *layout) addr(k kind, gwPort int) string {
	return fmt.Sprintf("127.0.0.1:%d", l.kong[k][gwPort])
}

// newLayouts reserves loopback ports for every kind of every Gateway port,
// for count data planes at once (so no two of them get the same port).
func newLayouts(gatewayPorts []int, count int) ([]*layout, error) {
	ports := append([]int(nil), gatewayPorts...)
	ports = append(ports, probePort)
	sort.Ints(ports)
	per := len(ports)*len(allKinds) + 2
	free, err := freePorts(per * count)
	if err != nil {
		return nil, err
	}
	var out []*layout
	for n := 0; n < count; n++ {
		l := &layout{gatewayPorts: ports, kong: map[kind]map[int]int{}}
		i := n * per
		for _, k := range allKinds {
			l.kong[k] = map[int]int{}
			for _, p := range ports {
				l.kong[k][p] = free[i]
				i++
			}
		}
		l.admin, l.stat = free[i], free[i+1]
		out = append(out, l)
	}
	return out, nil
}

// env is the KONG_* environment that both data planes read.
func (l *layout) env() map[string]string {
	var proxy, stream, maps []string
	for _, p := range l.gatewayPorts {
		proxy = append(proxy, l.addr(kindHTTP, p)+" http2", l.addr(kindHTTPS, p)+" http2 ssl")
		stream = append(stream, l.addr(kindTCP, p), l.addr(kindUDP, p)+" udp", l.addr(kindTLS, p)+" ssl")
		for _, k := range allKinds {
			maps = append(maps, fmt.Sprintf("%d:%d", p, l.kong[k][p]))
		}
	}
	return map[string]string{
		"KONG_DATABASE":               "off",
		"KONG_ROUTER_FLAVOR":          "expressions",
		"KONG_PROXY_LISTEN":           strings.Join(proxy, ", "),
		"KONG_STREAM_LISTEN":          strings.Join(stream, ", "),
		"KONG_PORT_MAPS":              strings.Join(maps, ", "),
		"KONG_ADMIN_LISTEN":           fmt.Sprintf("127.0.0.1:%d", l.admin),
		"KONG_STATUS_LISTEN":          fmt.Sprintf("127.0.0.1:%d", l.stat),
		"KONG_ADMIN_GUI_LISTEN":       "off",
		"KONG_CLUSTER_LISTEN":         "off",
		"KONG_NGINX_WORKER_PROCESSES": "1",
		"KONG_ANONYMOUS_REPORTS":      "off",
		"KONG_LOG_LEVEL":              "notice",
	}
}

// withDrawbridgePlugins loads Drawbridge's own Lua plugins as a provisioned
// data plane does: their names in KONG_PLUGINS, their tree (written to a
// temporary directory) first on Kong's Lua path.
func withDrawbridgePlugins(t *testing.T, install *kongInstall, env map[string]string) map[string]string {
	t.Helper()
	root := t.TempDir()
	if err := luaplugins.WriteTree(root); err != nil {
		t.Fatal(err)
	}
	env["KONG_PLUGINS"] = strings.Join(append([]string{"bundled"}, luaplugins.Names()...), ",")
	env["KONG_LUA_PACKAGE_PATH"] = root + "/?.lua;" + root + "/?/init.lua;" + install.Env["KONG_LUA_PACKAGE_PATH"]
	return env
}

// freePorts returns n distinct loopback ports that were free for both TCP
// and UDP a moment ago (all are held open together, then released).
func freePorts(n int) ([]int, error) {
	var closers []func()
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	var out []int
	for attempts := 0; len(out) < n; attempts++ {
		if attempts > 10*n {
			return nil, fmt.Errorf("reserve %d loopback ports: only %d found", n, len(out))
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("reserve loopback port: %w", err)
		}
		closers = append(closers, func() { _ = ln.Close() })
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue // the UDP side is taken; try another port
		}
		closers = append(closers, func() { _ = pc.Close() })
		out = append(out, port)
	}
	return out, nil
}
