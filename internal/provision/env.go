package provision

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Paths inside the Kong container.
const (
	KongPrefix      = "/kong_prefix"
	AdminTLSDir     = "/var/run/secrets/drawbridge/admin-tls"
	AdminTLSCert    = AdminTLSDir + "/tls.crt"
	AdminTLSKey     = AdminTLSDir + "/tls.key"
	AdminTLSCA      = AdminTLSDir + "/ca.crt"
	verifyDepthLeaf = "1" // the operator's CA signs client certificates directly
	// AdminBodyLimit bounds the configuration a replica accepts over the
	// admin API (nginx size syntax).
	AdminBodyLimit = "64m"
)

// managedEnv are the variables that carry the operator's contract with Kong.
// Users cannot set them through dataPlane.env or a podTemplate patch: doing so
// could expose the admin API without client certificates, detach listeners
// from the Gateway, turn Kong into a hybrid-mode node that ignores POST
// /config, or break the Lua that Drawbridge generates (pre-function needs
// untrusted_lua = sandbox and nothing more; its plugins need Kong's module
// paths and headers as Kong ships them).
var managedEnv = map[string]bool{
	"KONG_DATABASE": true, "KONG_ROUTER_FLAVOR": true, "KONG_PROXY_LISTEN": true,
	"KONG_STREAM_LISTEN": true, "KONG_PORT_MAPS": true, "KONG_PREFIX": true, "KONG_ROLE": true,
	"KONG_PLUGINS": true, "KONG_LUA_PACKAGE_PATH": true, "KONG_LUA_PACKAGE_CPATH": true,
	"KONG_HEADERS": true, "KONG_HEADERS_UPSTREAM": true,
	"KONG_DECLARATIVE_CONFIG": true, "KONG_DECLARATIVE_CONFIG_STRING": true,
}

// managedEnvPrefixes name whole families of managed settings: the admin API
// and every nginx directive injected into its server block, the status
// listener, hybrid-mode clustering and the Lua sandbox.
var managedEnvPrefixes = []string{"KONG_ADMIN_", "KONG_NGINX_ADMIN_", "KONG_STATUS_", "KONG_CLUSTER_", "KONG_UNTRUSTED_LUA"}

// isManagedEnv reports whether Drawbridge owns the Kong setting an
// environment variable carries. The CEL rule on dataPlane.env lists the same
// names and prefixes (a test keeps the two in step).
func isManagedEnv(name string) bool {
	if managedEnv[name] {
		return true
	}
	for _, p := range managedEnvPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// kongEnv renders the environment that makes Kong a DB-less, expressions-router
// data plane serving exactly the mapped ports, with its admin API on TLS that
// demands a client certificate from the operator's CA.
func kongEnv(ports []PortMapping) []corev1.EnvVar {
	var proxy, stream, maps []string
	for _, p := range ports {
		addr := fmt.Sprintf("0.0.0.0:%d", p.KongPort)
		switch p.Kind {
		case KindHTTP:
			// With http2 on a plain listener nginx tells an HTTP/2
			// prior-knowledge preface from HTTP/1.x, so h2c clients (gRPC
			// over an HTTP listener) and HTTP/1.1 clients share the port.
			proxy = append(proxy, addr+" http2")
		case KindHTTPS:
			proxy = append(proxy, addr+" http2 ssl")
		case KindTCP:
			stream = append(stream, addr)
		case KindTLS, KindTLSPassthrough:
			// Kong reads the SNI of passthrough connections on an ssl stream
			// listener too; it terminates only for tls routes.
			stream = append(stream, addr+" ssl")
		case KindUDP:
			stream = append(stream, addr+" udp")
		}
		// TCP and UDP mappings of one port share an entry.
		if m := fmt.Sprintf("%d:%d", p.GatewayPort, p.KongPort); len(maps) == 0 || maps[len(maps)-1] != m {
			maps = append(maps, m)
		}
	}
	orOff := func(list []string) string {
		if len(list) == 0 {
			return "off"
		}
		return strings.Join(list, ", ")
	}
	env := []corev1.EnvVar{
		{Name: "KONG_DATABASE", Value: "off"},
		{Name: "KONG_ROUTER_FLAVOR", Value: "expressions"},
		{Name: "KONG_PREFIX", Value: KongPrefix},
		{Name: "KONG_PROXY_LISTEN", Value: orOff(proxy)},
		{Name: "KONG_STREAM_LISTEN", Value: orOff(stream)},
	}
	if len(maps) > 0 {
		env = append(env, corev1.EnvVar{Name: "KONG_PORT_MAPS", Value: strings.Join(maps, ", ")})
	}
	return append(env,
		corev1.EnvVar{Name: "KONG_ADMIN_LISTEN", Value: fmt.Sprintf("0.0.0.0:%d ssl", AdminPort)},
		corev1.EnvVar{Name: "KONG_ADMIN_SSL_CERT", Value: AdminTLSCert},
		corev1.EnvVar{Name: "KONG_ADMIN_SSL_CERT_KEY", Value: AdminTLSKey},
		corev1.EnvVar{Name: "KONG_NGINX_ADMIN_SSL_CLIENT_CERTIFICATE", Value: AdminTLSCA},
		corev1.EnvVar{Name: "KONG_NGINX_ADMIN_SSL_VERIFY_CLIENT", Value: "on"},
		corev1.EnvVar{Name: "KONG_NGINX_ADMIN_SSL_VERIFY_DEPTH", Value: verifyDepthLeaf},
		corev1.EnvVar{Name: "KONG_ADMIN_GUI_LISTEN", Value: "off"},
		corev1.EnvVar{Name: "KONG_STATUS_LISTEN", Value: fmt.Sprintf("0.0.0.0:%d", StatusPort)},
		corev1.EnvVar{Name: "KONG_CLUSTER_LISTEN", Value: "off"},
		corev1.EnvVar{Name: "KONG_PROXY_ACCESS_LOG", Value: "/dev/stdout"},
		corev1.EnvVar{Name: "KONG_ADMIN_ACCESS_LOG", Value: "/dev/stdout"},
		corev1.EnvVar{Name: "KONG_PROXY_ERROR_LOG", Value: "/dev/stderr"},
		corev1.EnvVar{Name: "KONG_ADMIN_ERROR_LOG", Value: "/dev/stderr"},
		// Kong's admin API reads a JSON body only from memory: a body larger
		// than client_body_buffer_size goes to a temporary file and POST
		// /config answers 400 "Cannot parse JSON body"
		// (kong/api/arguments.lua:528-531). Both limits default to 10m
		// (kong/templates/kong_defaults.lua:114-115), about 14,000
		// generated HTTPRoutes. nginx allocates the buffer for the body's
		// length, not the limit, so small configs cost no more.
		corev1.EnvVar{Name: "KONG_NGINX_ADMIN_CLIENT_MAX_BODY_SIZE", Value: AdminBodyLimit},
		corev1.EnvVar{Name: "KONG_NGINX_ADMIN_CLIENT_BODY_BUFFER_SIZE", Value: AdminBodyLimit},
	)
}

// kongStartScript starts Kong the way the kong image's own command does
// (`/docker-entrypoint.sh kong docker-start`: kong prepare, then nginx in
// the foreground), after removing the unix sockets a previous run of the
// container left in the prefix. The prefix is an emptyDir, which outlives
// a crashed container; Kong 3.9 keeps its sockets in <prefix>/sockets
// (kong/conf_loader/init.lua:559), which only `kong start` cleans
// (kong/cmd/start.lua:16-62), not `kong prepare` nor the image's
// entrypoint (it removes sockets directly under the prefix only). Without
// this, a Kong container that crashed never starts again: nginx fails with
// "bind() to unix:/kong_prefix/sockets/we failed (98: Address already in
// use)" (Kong/kong#13730), as the lab's fault suite showed.
const kongStartScript = `rm -f "$KONG_PREFIX"/sockets/*; exec /docker-entrypoint.sh kong docker-start`

// KongStartArgs are the Kong container's args. The image's entrypoint runs
// them as a command (`exec "$@"`), so the image keeps its own entrypoint.
func KongStartArgs() []string {
	return []string{"/bin/sh", "-c", kongStartScript}
}
