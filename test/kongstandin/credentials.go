package kongstandin

// Consumer credentials and ACL groups in a declarative configuration, as
// the daos.lua of key-auth, basic-auth, jwt, hmac-auth and acl define them
// in Kong 3.9. Kong knows these entities only when their plugin is loaded
// (KONG_PLUGINS); the stand-in does the same.

import (
	"fmt"
	"strings"
)

// credentialTypes maps each credential entity to the plugin that defines
// it and to its endpoint key, which Kong's declarative loader keeps unique
// (populate_references: "uniqueness violation: ... already declared").
var credentialTypes = map[string]struct{ plugin, endpointKey string }{
	"keyauth_credential":   {"key-auth", "key"},
	"basicauth_credential": {"basic-auth", "username"},
	"jwt_secret":           {"jwt", "key"},
	"hmacauth_credential":  {"hmac-auth", "username"},
	"acl":                  {"acl", ""},
}

// credentialEnabled says whether a credential entity type (singular) is
// known: its plugin is loaded. Other entity types are always known.
func credentialEnabled(singular string, enabled map[string]bool) bool {
	c, ok := credentialTypes[singular]
	return !ok || enabled[c.plugin]
}

func credentialCommon() []*fspec {
	return []*fspec{
		{name: "id", kind: kString, check: checkUUID},
		{name: "created_at", kind: kInteger},
		&fspec{name: "consumer", kind: kForeign, required: true},
		tagsSpec(),
	}
}

func keyauthCredentialSpecs() []*fspec {
	return append(credentialCommon(), strSpec("key"), &fspec{name: "ttl", kind: kInteger})
}

func basicauthCredentialSpecs() []*fspec {
	return append(credentialCommon(),
		&fspec{name: "username", kind: kString, required: true},
		&fspec{name: "password", kind: kString, required: true})
}

var jwtAlgorithms = []string{"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"}

func jwtSecretSpecs() []*fspec {
	return append(credentialCommon(), strSpec("key"), strSpec("secret"), strSpec("rsa_public_key"),
		&fspec{name: "algorithm", kind: kString, def: "HS256", oneOf: jwtAlgorithms})
}

func hmacauthCredentialSpecs() []*fspec {
	return append(credentialCommon(),
		&fspec{name: "username", kind: kString, required: true}, strSpec("secret"))
}

func aclSpecs() []*fspec {
	return append(credentialCommon(), &fspec{name: "group", kind: kString, required: true})
}

// checkCredential runs the entity checks of the credential daos and fills
// the fields Kong generates (auto = true) when they are absent.
func checkCredential(e *entity) {
	switch e.typ {
	case "jwt_secret":
		switch getString(e.rec, "algorithm") {
		case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA":
			if getString(e.rec, "rsa_public_key") == "" {
				e.addErr("rsa_public_key", "required field missing")
			}
		}
		autoString(e, "key")
		autoString(e, "secret")
	case "keyauth_credential":
		autoString(e, "key")
	case "hmacauth_credential":
		autoString(e, "secret")
	}
}

// autoString fills an auto field as Kong does (a random UUID without
// dashes for keys; the stand-in derives it from the entity's place in
// the input so loads stay deterministic).
func autoString(e *entity, field string) {
	if _, ok := e.rec[field]; ok {
		return
	}
	e.rec[field] = strings.ReplaceAll(uuidV5(fmt.Sprint("auto:", e.typ, ":", field, ":", e.tree)), "-", "")
}
