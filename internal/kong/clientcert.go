package kong

import "fmt"

// PluginClientCert is Drawbridge's own plugin (internal/kong/luaplugins)
// that validates client certificates per listen port, for the Gateway's
// spec.tls.frontend. It is a global plugin with one entry per Kong port.
const PluginClientCert = "drawbridge-client-cert"

// Client-certificate validation modes, named as the Gateway API names them.
const (
	ClientCertAllowValidOnly        = "AllowValidOnly"
	ClientCertAllowInsecureFallback = "AllowInsecureFallback"
)

// ClientCertPort is one entry of PluginClientCert's config.ports.
type ClientCertPort struct {
	// Port is the Gateway port: the plugin maps the port Kong listens on
	// back through port_maps, as Kong's router does for net.dst.port.
	Port int32 `json:"port"`
	// Mode is ClientCertAllowValidOnly or ClientCertAllowInsecureFallback.
	Mode string `json:"mode"`
	// CACertificates is the PEM bundle of trusted CAs.
	CACertificates string `json:"ca_certificates"`
}

func init() {
	// Registered here rather than in the pluginSchemas literal so the
	// plugin's rules stay in one file.
	pluginSchemas[PluginClientCert] = checkClientCert
}

// checkClientCert follows the plugin's schema.lua: ports unique and in
// range, a known mode, a non-empty bundle.
func checkClientCert(cfg map[string]any) []string {
	var problems []string
	raw, ok := cfg["ports"]
	if !ok {
		return []string{"ports: required field missing"}
	}
	var ports []ClientCertPort
	switch v := raw.(type) {
	case []ClientCertPort:
		ports = v
	case []any:
		for i, e := range v {
			m, ok := e.(map[string]any)
			if !ok {
				problems = append(problems, fmt.Sprintf("ports[%d]: expected a record", i))
				continue
			}
			var p ClientCertPort
			if n, ok := asInt(m["port"]); ok {
				p.Port = int32(n)
			}
			p.Mode, _ = m["mode"].(string)
			p.CACertificates, _ = m["ca_certificates"].(string)
			ports = append(ports, p)
		}
	default:
		return []string{"ports: expected an array"}
	}
	seen := map[int32]bool{}
	for i, p := range ports {
		if p.Port < 1 || p.Port > 65535 {
			problems = append(problems, fmt.Sprintf("ports[%d].port: value should be between 0 and 65535", i))
		}
		if seen[p.Port] {
			problems = append(problems, fmt.Sprintf("ports: port %d is listed twice", p.Port))
		}
		seen[p.Port] = true
		if p.Mode != ClientCertAllowValidOnly && p.Mode != ClientCertAllowInsecureFallback {
			problems = append(problems, fmt.Sprintf("ports[%d].mode: expected one of: AllowValidOnly, AllowInsecureFallback", i))
		}
		if p.CACertificates == "" {
			problems = append(problems, fmt.Sprintf("ports[%d].ca_certificates: length must be at least 1", i))
		}
	}
	return problems
}
