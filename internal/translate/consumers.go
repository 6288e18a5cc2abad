package translate

import (
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/drawbridge-dev/drawbridge/api/v1alpha1"
	"github.com/drawbridge-dev/drawbridge/internal/kong"
)

// A KongConsumer reaches the data plane of every Gateway that admits routes
// from its namespace (any listener's allowedRoutes, computed as route
// attachment does), because the routes that authenticate it live there.
// Consumers are not shared across namespaces any other way. Two consumers
// with the same username or custom_id on one Gateway: the older one
// (creationTimestamp, then namespace/name) wins.

// consumerVisible says whether any listener admits routes from ns.
func (t *translator) consumerVisible(ns string) bool {
	for _, l := range t.listeners {
		if t.listenerAllowsNamespace(l, ns) {
			return true
		}
	}
	return false
}

// credentialKeys are the Secret keys each credential type reads; optional
// keys follow a "?".
var credentialKeys = map[string][]string{
	"key-auth":   {"key"},
	"basic-auth": {"username", "password"},
	"jwt":        {"key", "secret?", "algorithm?", "rsa_public_key?"},
	"hmac-auth":  {"username", "secret"},
}

// consumers builds the Kong consumers this Gateway can see and records a
// verdict for each.
func (t *translator) consumers() []kong.Consumer {
	var cs []*v1alpha1.KongConsumer
	for i := range t.snap.KongConsumers {
		c := &t.snap.KongConsumers[i]
		if t.consumerVisible(c.Namespace) {
			cs = append(cs, c)
		}
	}
	sort.Slice(cs, func(i, j int) bool {
		a, b := cs[i].CreationTimestamp, cs[j].CreationTimestamp
		if !a.Equal(&b) {
			return a.Before(&b)
		}
		if cs[i].Namespace != cs[j].Namespace {
			return cs[i].Namespace < cs[j].Namespace
		}
		return cs[i].Name < cs[j].Name
	})
	usernames, customIDs := map[string]string{}, map[string]string{}
	// Credential values Kong requires to be unique across consumers.
	uniq := map[string]string{}
	var out []kong.Consumer
	for _, c := range cs {
		key := KongConsumerKey{Namespace: c.Namespace, Name: c.Name}
		ref := "KongConsumer " + c.Namespace + "/" + c.Name
		fail := func(reason, format string, args ...any) {
			t.consumerResults = append(t.consumerResults, KongConsumerResult{Consumer: key, Generation: c.Generation,
				Accepted: metav1.Condition{Type: "Accepted", Status: metav1.ConditionFalse, Reason: reason, Message: fmt.Sprintf(format, args...)}})
		}
		var username, customID string
		if c.Spec.Username != nil {
			username = *c.Spec.Username
		}
		if c.Spec.CustomID != nil {
			customID = *c.Spec.CustomID
		}
		if username == "" && customID == "" {
			fail("Invalid", "a consumer needs a username or a customID")
			continue
		}
		if other, taken := usernames[username]; username != "" && taken {
			fail("Conflicted", "username %q is already used by %s, which is older, on Gateway %s/%s", username, other, t.gw.Namespace, t.gw.Name)
			continue
		}
		if other, taken := customIDs[customID]; customID != "" && taken {
			fail("Conflicted", "customID %q is already used by %s, which is older, on Gateway %s/%s", customID, other, t.gw.Namespace, t.gw.Name)
			continue
		}
		tags := objectTags("KongConsumer", c.Namespace, c.Name, string(c.UID))
		kc := kong.Consumer{Username: username, CustomID: customID, Tags: tags}
		groups := append([]string(nil), c.Spec.Groups...)
		sort.Strings(groups)
		for i, g := range groups {
			if i > 0 && groups[i-1] == g {
				continue
			}
			kc.ACLs = append(kc.ACLs, kong.ACL{Group: g, Tags: tags})
		}
		problem := ""
		claimed := map[string]string{}
		for i, cred := range c.Spec.Credentials {
			where := fmt.Sprintf("spec.credentials[%d] (%s)", i, cred.Type)
			keys, ok := credentialKeys[cred.Type]
			if !ok {
				problem = fmt.Sprintf("%s: type %q is not one of key-auth, basic-auth, jwt, hmac-auth", where, cred.Type)
				break
			}
			sec, ok := t.secrets[types.NamespacedName{Namespace: c.Namespace, Name: cred.SecretName}]
			if !ok {
				problem = fmt.Sprintf("%s: Secret %s/%s does not exist", where, c.Namespace, cred.SecretName)
				break
			}
			vals := map[string]string{}
			for _, k := range keys {
				name, optional := strings.CutSuffix(k, "?")
				v, ok := sec.Data[name]
				if !ok || len(v) == 0 {
					if !optional {
						problem = fmt.Sprintf("%s: Secret %s/%s has no key %q", where, c.Namespace, cred.SecretName, name)
						break
					}
					continue
				}
				vals[name] = string(v)
			}
			if problem != "" {
				break
			}
			// The unique field of each credential DAO (kong/plugins/*/daos.lua).
			uniqueField := map[string]string{"key-auth": "key", "basic-auth": "username", "jwt": "key", "hmac-auth": "username"}[cred.Type]
			ukey := cred.Type + "\x00" + vals[uniqueField]
			if other, taken := uniq[ukey]; taken {
				problem = fmt.Sprintf("%s: the %s %s in Secret %s/%s is already used by %s on Gateway %s/%s", where, cred.Type, uniqueField, c.Namespace, cred.SecretName, other, t.gw.Namespace, t.gw.Name)
				break
			}
			if _, dup := claimed[ukey]; dup {
				problem = fmt.Sprintf("%s: the %s %s in Secret %s/%s is used twice by this consumer", where, cred.Type, uniqueField, c.Namespace, cred.SecretName)
				break
			}
			claimed[ukey] = ref
			switch cred.Type {
			case "key-auth":
				kc.KeyAuth = append(kc.KeyAuth, kong.KeyAuthCredential{Key: vals["key"], Tags: tags})
			case "basic-auth":
				kc.BasicAuth = append(kc.BasicAuth, kong.BasicAuthCredential{Username: vals["username"], Password: vals["password"], Tags: tags})
			case "hmac-auth":
				kc.HMACAuth = append(kc.HMACAuth, kong.HMACAuthCredential{Username: vals["username"], Secret: vals["secret"], Tags: tags})
			case "jwt":
				j := kong.JWTSecret{Key: vals["key"], Secret: vals["secret"], Algorithm: vals["algorithm"], RSAPublicKey: vals["rsa_public_key"], Tags: tags}
				if j.Algorithm != "" && !validJWTAlgorithm(j.Algorithm) {
					problem = fmt.Sprintf("%s: Secret %s/%s key \"algorithm\" is not an algorithm Kong's jwt plugin knows", where, c.Namespace, cred.SecretName)
				} else if strings.HasPrefix(j.Algorithm, "HS") || j.Algorithm == "" {
					if j.Secret == "" {
						problem = fmt.Sprintf("%s: Secret %s/%s has no key \"secret\" (needed by HS algorithms)", where, c.Namespace, cred.SecretName)
					}
				} else if j.RSAPublicKey == "" {
					problem = fmt.Sprintf("%s: Secret %s/%s has no key \"rsa_public_key\" (needed by algorithm %s)", where, c.Namespace, cred.SecretName, j.Algorithm)
				}
				kc.JWTSecrets = append(kc.JWTSecrets, j)
			}
			if problem != "" {
				break
			}
		}
		if problem != "" {
			fail("Invalid", "%s", problem)
			continue
		}
		for k, v := range claimed {
			uniq[k] = v
		}
		if username != "" {
			usernames[username] = ref
		}
		if customID != "" {
			customIDs[customID] = ref
		}
		out = append(out, kc)
		t.consumerResults = append(t.consumerResults, KongConsumerResult{Consumer: key, Generation: c.Generation,
			Accepted: metav1.Condition{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted",
				Message: fmt.Sprintf("The consumer and its %d credential(s) are on Gateway %s/%s", len(c.Spec.Credentials), t.gw.Namespace, t.gw.Name)}})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Username != out[j].Username {
			return out[i].Username < out[j].Username
		}
		return out[i].CustomID < out[j].CustomID
	})
	sort.Slice(t.consumerResults, func(i, j int) bool {
		a, b := t.consumerResults[i].Consumer, t.consumerResults[j].Consumer
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	return out
}

func validJWTAlgorithm(a string) bool {
	switch a {
	case "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA":
		return true
	}
	return false
}
