package kong

import "fmt"

// jwtAlgorithms is the one_of list of jwt_secrets.algorithm
// (kong/plugins/jwt/daos.lua); the asymmetric ones need rsa_public_key.
var jwtAlgorithms = map[string]bool{
	"HS256": false, "HS384": false, "HS512": false,
	"RS256": true, "RS384": true, "RS512": true,
	"ES256": true, "ES384": true, "ES512": true,
	"PS256": true, "PS384": true, "PS512": true, "EdDSA": true,
}

// consumers checks consumers and their credentials: at least one of
// username and custom_id (kong/db/schema/entities/consumers.lua), and the
// unique fields of each credential DAO across the whole config.
func (v *validator) consumers(cs []Consumer) {
	usernames, customIDs := map[string]bool{}, map[string]bool{}
	keys, basic, hmac, jwt := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	unique := func(path, entity, what, val string, seen map[string]bool) {
		if val == "" {
			v.add(path, entity, "%s is required", what)
			return
		}
		if seen[val] {
			v.add(path, entity, "%s must be unique", what)
		}
		seen[val] = true
	}
	for i, c := range cs {
		path := fmt.Sprintf("consumers[%d]", i)
		entity := c.Username
		if entity == "" {
			entity = c.CustomID
		}
		v.tags(path, entity, c.Tags)
		if c.Username == "" && c.CustomID == "" {
			v.add(path, entity, "at least one of username or custom_id is required")
		}
		if c.Username != "" {
			unique(path+".username", entity, "username", c.Username, usernames)
		}
		if c.CustomID != "" {
			unique(path+".custom_id", entity, "custom_id", c.CustomID, customIDs)
		}
		for j, a := range c.ACLs {
			p := fmt.Sprintf("%s.acls[%d]", path, j)
			v.tags(p, entity, a.Tags)
			if a.Group == "" {
				v.add(p+".group", entity, "group is required")
			}
		}
		for j, k := range c.KeyAuth {
			p := fmt.Sprintf("%s.keyauth_credentials[%d]", path, j)
			v.tags(p, entity, k.Tags)
			unique(p+".key", entity, "key-auth key", k.Key, keys)
		}
		for j, b := range c.BasicAuth {
			p := fmt.Sprintf("%s.basicauth_credentials[%d]", path, j)
			v.tags(p, entity, b.Tags)
			unique(p+".username", entity, "basic-auth username", b.Username, basic)
			if b.Password == "" {
				v.add(p+".password", entity, "basic-auth password is required")
			}
		}
		for j, h := range c.HMACAuth {
			p := fmt.Sprintf("%s.hmacauth_credentials[%d]", path, j)
			v.tags(p, entity, h.Tags)
			unique(p+".username", entity, "hmac-auth username", h.Username, hmac)
		}
		for j, s := range c.JWTSecrets {
			p := fmt.Sprintf("%s.jwt_secrets[%d]", path, j)
			v.tags(p, entity, s.Tags)
			unique(p+".key", entity, "jwt key", s.Key, jwt)
			if s.Algorithm != "" {
				needsKey, ok := jwtAlgorithms[s.Algorithm]
				switch {
				case !ok:
					v.add(p+".algorithm", entity, "algorithm %q is not one Kong's jwt plugin knows", s.Algorithm)
				case needsKey && s.RSAPublicKey == "":
					v.add(p+".rsa_public_key", entity, "algorithm %s needs rsa_public_key", s.Algorithm)
				}
			}
		}
	}
}
