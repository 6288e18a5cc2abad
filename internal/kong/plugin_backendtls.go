package kong

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"github.com/google/uuid"
)

// PluginDrawbridgeBackendTLS is Drawbridge's own plugin for
// BackendTLSPolicy (internal/kong/luaplugins/plugins/drawbridge-backend-tls):
// it verifies the backend's certificate against the policy's CA
// certificates and subjectAltNames, sends the policy's hostname as the TLS
// server name while the Host header stays the client's, and presents the
// Gateway's backend client certificate.
const PluginDrawbridgeBackendTLS = "drawbridge-backend-tls"

// checkDrawbridgeBackendTLS follows the schema of drawbridge-backend-tls
// (internal/kong/luaplugins/plugins/drawbridge-backend-tls/schema.lua).
func checkDrawbridgeBackendTLS(cfg map[string]any) []string {
	var out []string
	if sni, ok := cfg["sni"].(string); !ok || sni == "" {
		out = append(out, "sni: required, a non-empty string")
	} else if err := checkHostname(sni, false); err != nil {
		out = append(out, fmt.Sprintf("sni: %v", err))
	}
	cas, ok := asStrings(cfg["ca_certificates"])
	switch {
	case !ok || len(cas) == 0:
		out = append(out, "ca_certificates: required, at least one PEM certificate")
	default:
		for i, c := range cas {
			if err := checkPEMCertificates(c); err != nil {
				out = append(out, fmt.Sprintf("ca_certificates[%d]: %v", i, err))
			}
		}
	}
	if v, present := cfg["subject_alt_names"]; present {
		sans, ok := v.(map[string]any)
		if !ok {
			out = append(out, "subject_alt_names: must be a record")
		} else {
			for field, val := range sans {
				if field != "hostnames" && field != "uris" {
					out = append(out, fmt.Sprintf("subject_alt_names.%s: unknown field", field))
					continue
				}
				list, ok := asStrings(val)
				if !ok {
					out = append(out, fmt.Sprintf("subject_alt_names.%s: must be an array of strings", field))
					continue
				}
				for i, s := range list {
					if s == "" {
						out = append(out, fmt.Sprintf("subject_alt_names.%s[%d]: must not be empty", field, i))
					}
				}
			}
		}
	}
	if v, present := cfg["client_certificate"]; present {
		s, ok := v.(string)
		if _, err := uuid.Parse(s); !ok || err != nil {
			out = append(out, "client_certificate: must be a certificate UUID")
		}
	}
	for field := range cfg {
		switch field {
		case "sni", "ca_certificates", "subject_alt_names", "client_certificate":
		default:
			out = append(out, fmt.Sprintf("%s: unknown field", field))
		}
	}
	return out
}

// checkPEMCertificates requires at least one parseable CERTIFICATE block.
func checkPEMCertificates(s string) error {
	rest := []byte(s)
	n := 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return fmt.Errorf("invalid certificate: %v", err)
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("no PEM CERTIFICATE block")
	}
	return nil
}
