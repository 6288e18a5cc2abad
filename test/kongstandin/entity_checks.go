package kongstandin

// Entity-level checks (Kong's entity_checks and custom validators) that run
// after an entity's fields validated cleanly.

import (
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"strings"
)

var protocolGroups = [][]string{{"http", "https"}, {"tcp", "tls", "udp"}, {"tls_passthrough"}, {"grpc", "grpcs"}}

var streamProtocols = map[string]bool{"tcp": true, "tls": true, "udp": true, "tls_passthrough": true}

func entityChecks(e *entity, enabled map[string]bool) {
	switch e.typ {
	case "route":
		checkRoute(e)
	case "service":
		checkService(e)
	case "plugin":
		checkPlugin(e, enabled)
	case "certificate":
		checkCertificate(e)
	case "consumer":
		if getString(e.rec, "username") == "" && getString(e.rec, "custom_id") == "" {
			e.addErr("", "at least one of these fields must be non-empty: 'custom_id', 'username'")
		}
	case "upstream":
		if alg := getString(e.rec, "algorithm"); alg != "round-robin" {
			e.addErr("algorithm", fmt.Sprintf("stand-in: load-balancing algorithm '%s' is outside the stand-in's scope (Drawbridge does not emit it; only round-robin)", alg))
		}
		if getString(e.rec, "hash_on") != "none" || getString(e.rec, "hash_fallback") != "none" {
			e.addErr("hash_on", "stand-in: hashing is outside the stand-in's scope (Drawbridge does not emit it; hash_on and hash_fallback must be none)")
		}
		if e.rec["client_certificate"] != nil {
			e.addErr("client_certificate", "stand-in: upstream client certificates are outside the stand-in's scope (Drawbridge does not emit them)")
		}
	}
}

func checkRoute(e *entity) {
	protos := getStrings(e.rec, "protocols")
	groups := map[int]bool{}
	for _, p := range protos {
		for gi, g := range protocolGroups {
			if contains(g, p) {
				groups[gi] = true
			}
		}
	}
	if len(groups) > 1 {
		e.addErr("", "these sets are mutually exclusive: ('http', 'https'), ('tcp', 'tls', 'udp'), ('tls_passthrough'), ('grpc', 'grpcs')")
		return
	}
	grpc := contains(protos, "grpc") || contains(protos, "grpcs")
	if grpc {
		if _, set := e.input["strip_path"]; !set {
			// For gRPC routes strip_path defaults to false (reference 3.2).
			e.rec["strip_path"] = false
		} else if getBool(e.rec, "strip_path") {
			e.addErr("strip_path", "value must be false")
		}
	}
	var traditional []string
	for _, f := range []string{"methods", "hosts", "paths", "headers", "snis", "sources", "destinations"} {
		if v := e.rec[f]; v != nil {
			traditional = append(traditional, f)
		}
	}
	expr, hasExpr := e.rec["expression"].(string)
	if hasExpr && len(traditional) > 0 {
		e.addErr("", "these sets are mutually exclusive: ('expression'), ('methods', 'hosts', 'paths', 'headers', 'snis', 'sources', 'destinations')")
		return
	}
	if !hasExpr {
		// Kong 3.9 would translate traditional fields; the stand-in implements
		// only expression routes and says so instead of routing differently.
		e.addErr("expression", "stand-in: routes must set 'expression' under router_flavor=expressions (traditional match fields are outside the stand-in's scope (Drawbridge does not emit them))")
		return
	}
	if getString(e.rec, "path_handling") == "v1" {
		e.addErr("path_handling", "stand-in: path_handling v1 does not work under router_flavor=expressions")
	}
	stream := false
	for _, p := range protos {
		stream = stream || streamProtocols[p]
	}
	if _, err := compileExpression(expr, stream); err != nil {
		e.addErr("", err.Error())
	}
}

func checkService(e *entity) {
	proto := getString(e.rec, "protocol")
	switch proto {
	case "tcp", "tls", "udp", "grpc", "grpcs", "tls_passthrough":
		if e.rec["path"] != nil {
			e.addErr("path", "value must be null")
		}
	}
	if proto != "https" && proto != "tls" && proto != "grpcs" {
		for _, f := range []string{"tls_verify", "tls_verify_depth", "client_certificate"} {
			if e.rec[f] != nil {
				e.addErr(f, "value must be null")
			}
		}
	}
	if e.rec["client_certificate"] != nil || e.rec["ca_certificates"] != nil || getBool(e.rec, "tls_verify") {
		e.addErr("tls_verify", "stand-in: upstream TLS verification and client certificates are outside the stand-in's scope (Drawbridge does not emit them)")
	}
}

func checkPlugin(e *entity, enabled map[string]bool) {
	name := getString(e.rec, "name")
	if !enabled[name] {
		e.addErr("name", fmt.Sprintf("plugin '%s' not enabled; add it to the 'plugins' configuration property", name))
		return
	}
	def := pluginDefFor(name)
	cfgIn := map[string]any{}
	switch c := e.rec["config"].(type) {
	case nil:
	case map[string]any:
		cfgIn = c
	default:
		e.addErr("config", "expected a record")
		return
	}
	if def.opaque {
		e.rec["config"] = cloneJSON(cfgIn)
		if def.check != nil {
			if msg := def.check(cfgIn); msg != "" {
				e.addErr("config", msg)
			}
		}
		checkPluginProtocols(e, def)
		return
	}
	cfg, errs := validateRecord(def.config, cfgIn, "config")
	e.errs = append(e.errs, errs...)
	if len(errs) == 0 && def.check != nil {
		if msg := def.check(cfg); msg != "" {
			e.addErr("config", msg)
		}
	}
	e.rec["config"] = cfg
	checkPluginProtocols(e, def)
}

// checkPluginProtocols fills the schema's default protocols or checks the
// given ones against those the schema accepts.
func checkPluginProtocols(e *entity, def *pluginDef) {
	allowed := def.allowed
	if allowed == nil {
		allowed = def.protocols
	}
	if e.rec["protocols"] == nil {
		e.rec["protocols"] = cloneJSON(def.protocols)
		return
	}
	for i, p := range getStrings(e.rec, "protocols") {
		if !contains(allowed, p) {
			e.addErr(fmt.Sprintf("protocols.%d", i+1), "expected one of: "+strings.Join(allowed, ", "))
		}
	}
}

func checkCertificate(e *entity) {
	if _, err := tls.X509KeyPair([]byte(getString(e.rec, "cert")), []byte(getString(e.rec, "key"))); err != nil {
		e.addErr("", "certificate does not match key")
		return
	}
	ca, ka := getString(e.rec, "cert_alt"), getString(e.rec, "key_alt")
	if (ca == "") != (ka == "") {
		e.addErr("", "all or none of these fields must be set: 'cert_alt', 'key_alt'")
		return
	}
	if ca != "" {
		if _, err := tls.X509KeyPair([]byte(ca), []byte(ka)); err != nil {
			e.addErr("", "alternative certificate does not match key")
			return
		}
		if keyType(getString(e.rec, "key")) == keyType(ka) {
			e.addErr("", "certificate and alternative certificate need to have different type (e.g. RSA and ECDSA), the provided certificates were both of the same type")
		}
	}
}

func keyType(keyPEM string) string {
	b, _ := pem.Decode([]byte(keyPEM))
	if b == nil {
		return ""
	}
	if k, err := parsePrivateKey(b.Bytes); err == nil {
		return fmt.Sprintf("%T", k)
	}
	return b.Type
}
