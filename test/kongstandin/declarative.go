package kongstandin

// Loading of a DB-less declarative configuration (reference sections 1.2-1.4
// and 2): nesting is flattened, every entity is schema-checked, then
// references and uniqueness are checked, mirroring Kong's two phases.

import (
	"bytes"
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// entity is one declarative entity after flattening.
type entity struct {
	typ   string         // singular entity name, e.g. "route"
	id    string         // explicit or generated primary key
	input map[string]any // the object as received, nested children removed
	rec   map[string]any // validated, defaults filled, foreign keys as {"ref": ...}
	tree  []any          // location in the input, e.g. ["services", 0, "routes", 1]
	errs  []fieldErr
	// nestedSNI marks an SNI given as an object inside a certificate's
	// snis (not as a plain name), with its certificate.
	nestedSNI  bool
	parentCert *entity
	// dupKey marks an entity whose endpoint key (name, username, key)
	// repeats an earlier one's.
	dupKey bool
}

// underDupKey says whether e is nested in an entity with a repeated
// endpoint key: Kong files the child's errors in its parent's errs slot,
// which the parent's uniqueness message then holds, so they are lost.
func (e *entity) underDupKey() bool {
	for _, v := range e.rec {
		if m, ok := v.(map[string]any); ok {
			if p, ok := m["ref"].(*entity); ok && p.dupKey {
				return true
			}
		}
	}
	return false
}

func (e *entity) addErr(field, msg string) { e.errs = append(e.errs, fieldErr{field, msg}) }

// entityTypes lists the supported top-level keys in Kong's processing order,
// with singular name and schema.
var entityTypes = []struct {
	plural, singular string
	specs            func() []*fspec
}{
	{"certificates", "certificate", certificateSpecs},
	{"snis", "sni", sniSpecs},
	{"ca_certificates", "ca_certificate", caCertificateSpecs},
	{"services", "service", serviceSpecs},
	{"routes", "route", routeSpecs},
	{"upstreams", "upstream", upstreamSpecs},
	{"targets", "target", targetSpecs},
	{"consumers", "consumer", consumerSpecs},
	{"plugins", "plugin", pluginSpecs},
	{"keyauth_credentials", "keyauth_credential", keyauthCredentialSpecs},
	{"basicauth_credentials", "basicauth_credential", basicauthCredentialSpecs},
	{"jwt_secrets", "jwt_secret", jwtSecretSpecs},
	{"hmacauth_credentials", "hmacauth_credential", hmacauthCredentialSpecs},
	{"acls", "acl", aclSpecs},
}

func specsFor(singular string) []*fspec {
	for _, t := range entityTypes {
		if t.singular == singular {
			return t.specs()
		}
	}
	return nil
}

func pluralOf(singular string) string {
	for _, t := range entityTypes {
		if t.singular == singular {
			return t.plural
		}
	}
	return singular + "s"
}

// nestedChildren says which arrays may be nested in which entity and the
// foreign key the child gets (reference 1.4).
var nestedChildren = map[string]map[string]string{
	"service":     {"routes": "service", "plugins": "service"},
	"route":       {"plugins": "route"},
	"upstream":    {"targets": "upstream"},
	"certificate": {"snis": "certificate"},
	"consumer": {"plugins": "consumer", "keyauth_credentials": "consumer", "basicauth_credentials": "consumer",
		"jwt_secrets": "consumer", "hmacauth_credentials": "consumer", "acls": "consumer"},
}

// singularOf is the entity type of a nested array.
func singularOf(plural string) string {
	for _, t := range entityTypes {
		if t.plural == plural {
			return t.singular
		}
	}
	return strings.TrimSuffix(plural, "s")
}

// outOfScopeEntityTypes are real Kong 3.9 declarative keys that Drawbridge
// never emits, so the stand-in rejects them loudly instead of emulating them.
var outOfScopeEntityTypes = map[string]bool{
	"vaults": true, "keys": true, "key_sets": true, "consumer_groups": true, "filter_chains": true,
	"parameters": true, "oauth2_credentials": true, "workspaces": true,
}

// declaration is the result of loading: entities by type plus errors that
// cannot be attributed to an entity (top-level keys).
type declaration struct {
	byType    map[string][]*entity // keyed by singular type
	topErrors map[string]any       // fields that stay in "fields" after flattening
	tree      map[string]any       // the full nested error tree ("fields" unflattened)
	// keyErrs are Kong's endpoint-key uniqueness errors (name set to '...'
	// already declared), which kong/db/schema/others/declarative_config.lua
	// populate_references files as errs[<plural>][i], i being the entity's
	// position in the array that holds it, nested or not: plural -> 0-based
	// position -> message (a later entity at the same position overwrites).
	keyErrs map[string]map[int]string
	// enabled are the plugins KONG_PLUGINS loads.
	enabled map[string]bool
	// topArrays are the entity types given as top-level arrays.
	topArrays map[string]bool
	// extraFlat are flattened_errors entries that belong to no entity of
	// the input (see sniRevalidationErrors).
	extraFlat []map[string]any
}

func (d *declaration) all() []*entity {
	var out []*entity
	for _, t := range entityTypes {
		out = append(out, d.byType[t.singular]...)
	}
	return out
}

func (d *declaration) hasErrors() bool {
	if len(d.topErrors) > 0 || len(d.keyErrs) > 0 {
		return true
	}
	for _, e := range d.all() {
		if len(e.errs) > 0 {
			return true
		}
	}
	return false
}

// decodeJSON decodes with json.Number so integers survive exactly.
func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after JSON value")
	}
	return nil
}

func jsonNum(s string) json.Number { return json.Number(s) }

// loadDeclarative validates a parsed declarative configuration.
func loadDeclarative(doc map[string]any, enabled map[string]bool) *declaration {
	d := &declaration{enabled: enabled, byType: map[string][]*entity{}, topErrors: map[string]any{}, keyErrs: map[string]map[int]string{}, topArrays: map[string]bool{}}
	fv, ok := doc["_format_version"]
	switch {
	case !ok || fv == nil:
		d.topErrors["_format_version"] = "required field missing"
	case fv != "1.1" && fv != "2.1" && fv != "3.0":
		d.topErrors["_format_version"] = "expected one of: 1.1, 2.1, 3.0"
	case fv != "3.0":
		// Older formats rewrite regex paths; the stand-in only speaks 3.0.
		d.topErrors["_format_version"] = "stand-in: only _format_version \"3.0\" is implemented"
	}
	if t, ok := doc["_transform"]; ok {
		if _, isBool := t.(bool); !isBool {
			d.topErrors["_transform"] = "expected a boolean"
		}
	}
	known := map[string]bool{"_format_version": true, "_transform": true, "_comment": true, "_ignore": true}
	for _, t := range entityTypes {
		known[t.plural] = credentialEnabled(t.singular, enabled)
	}
	for k := range doc {
		switch {
		case known[k]:
		case outOfScopeEntityTypes[k]:
			d.topErrors[k] = fmt.Sprintf("stand-in: entity type '%s' is outside the stand-in's scope (Drawbridge does not emit it)", k)
		default:
			d.topErrors[k] = "unknown field"
		}
	}
	for _, t := range entityTypes {
		raw, ok := doc[t.plural]
		if !ok || raw == nil || !known[t.plural] {
			continue
		}
		arr, ok := raw.([]any)
		if !ok {
			if m, isMap := raw.(map[string]any); isMap && len(m) == 0 {
				continue
			}
			d.topErrors[t.plural] = "expected an array"
			continue
		}
		d.topArrays[t.plural] = true
		for i, item := range arr {
			d.addEntity(t.singular, item, []any{t.plural, i}, nil)
		}
	}
	d.generateIDs()
	if !d.hasErrors() {
		d.checkReferences()
	} else {
		d.sniRevalidationErrors()
	}
	d.placeKeyErrors()
	d.tree = d.errorTree()
	return d
}

// addEntity validates one entity (and, recursively, its nested children).
// parent is the foreign key injected into a nested child.
func (d *declaration) addEntity(typ string, raw any, tree []any, parent map[string]any) *entity {
	e := &entity{typ: typ, tree: tree}
	d.byType[typ] = append(d.byType[typ], e)
	obj, ok := raw.(map[string]any)
	if !ok {
		e.input = map[string]any{}
		e.addErr("", "expected a record")
		return e
	}
	input := map[string]any{}
	var nested []string
	for k, v := range obj {
		if _, isChild := nestedChildren[typ][k]; isChild && !(typ == "certificate" && k == "snis") && credentialEnabled(singularOf(k), d.enabled) {
			nested = append(nested, k)
			continue
		}
		input[k] = v
	}
	sort.Strings(nested)
	e.input = input
	valInput := map[string]any{}
	for k, v := range input {
		valInput[k] = v
	}
	if typ == "service" {
		valInput = expandServiceURL(e, input)
	}
	for k, v := range parent {
		valInput[k] = v
	}
	rec, errs := validateRecord(specsFor(typ), valInput, "")
	e.rec = rec
	e.errs = append(e.errs, errs...)
	if len(errs) == 0 {
		entityChecks(e, d.enabled)
		if _, ok := credentialTypes[typ]; ok {
			checkCredential(e)
		}
	}
	if id := getString(rec, "id"); id != "" && checkUUID(id) == "" {
		e.id = strings.ToLower(id)
	}
	// Certificates carry SNIs as a list of names or {name=...} objects.
	if typ == "certificate" {
		if snis, ok := obj["snis"].([]any); ok {
			for i, s := range snis {
				child := s
				if name, isStr := s.(string); isStr {
					child = map[string]any{"name": name}
				}
				c := d.addEntity("sni", child, append(cloneTree(tree), "snis", i), map[string]any{"certificate": e.parentRef()})
				_, isObj := s.(map[string]any)
				c.nestedSNI, c.parentCert = isObj, e
			}
		}
		delete(e.rec, "snis")
	}
	for _, k := range nested {
		arr, ok := obj[k].([]any)
		if !ok && obj[k] == nil {
			continue
		}
		if !ok {
			e.addErr(k, "expected an array")
			continue
		}
		fk := nestedChildren[typ][k]
		for i, c := range arr {
			childType := singularOf(k)
			d.addEntity(childType, c, append(cloneTree(tree), k, i), map[string]any{fk: e.parentRef()})
		}
	}
	return e
}

func cloneTree(t []any) []any { return append([]any(nil), t...) }

// parentRef is the foreign key value a nested child uses to find its parent.
// IDs are generated later, so the parent is referenced by pointer.
func (e *entity) parentRef() map[string]any { return map[string]any{"ref": e} }

func expandServiceURL(e *entity, input map[string]any) map[string]any {
	raw, ok := input["url"]
	out := map[string]any{}
	for k, v := range input {
		if k != "url" {
			out[k] = v
		}
	}
	if !ok {
		return out
	}
	s, isStr := raw.(string)
	if !isStr {
		e.addErr("url", "expected a string")
		return out
	}
	parts, msg := parseServiceURL(s)
	if msg != "" {
		e.addErr("url", msg)
		return out
	}
	for k, v := range parts {
		out[k] = v
	}
	return out
}

// uuidNamespace is the namespace for generated IDs. Kong derives missing IDs
// with UUIDv5 as well (reference 1.4); exact values are not part of the contract.
var uuidNamespace = [16]byte{0xfd, 0x02, 0x80, 0x1f, 0x09, 0x57, 0x4a, 0x15, 0xa4, 0xa8, 0xd7, 0xac, 0x4e, 0x8f, 0x0f, 0xa4}

func uuidV5(name string) string {
	h := sha1.New()
	h.Write(uuidNamespace[:])
	h.Write([]byte(name))
	s := h.Sum(nil)[:16]
	s[6] = (s[6] & 0x0f) | 0x50
	s[8] = (s[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", s[0:4], s[4:6], s[6:8], s[8:10], s[10:16])
}

// refKey renders a foreign key for ID generation.
func refKey(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	switch r := m["ref"].(type) {
	case *entity:
		return r.id
	case string:
		return r
	}
	return ""
}

// generateIDs fills missing primary keys in dependency order, following the
// rules of reference 1.4 (routes/services from names, targets from target +
// upstream, plugins from name + route + service + consumer).
func (d *declaration) generateIDs() {
	for _, t := range entityTypes {
		for i, e := range d.byType[t.singular] {
			if e.id != "" || e.rec == nil {
				continue
			}
			var key string
			switch e.typ {
			case "target":
				key = refKey(e.rec["upstream"]) + ":" + getString(e.rec, "target")
			case "plugin":
				key = getString(e.rec, "name") + ":" + refKey(e.rec["route"]) + ":" + refKey(e.rec["service"]) + ":" + refKey(e.rec["consumer"])
			case "keyauth_credential", "jwt_secret", "basicauth_credential", "hmacauth_credential", "acl":
				key = fmt.Sprint(refKey(e.rec["consumer"]), ":", getString(e.rec, "key"), getString(e.rec, "username"), getString(e.rec, "group"), ":", i)
			default:
				if n := getString(e.rec, "name"); n != "" {
					key = n
				} else if n := getString(e.rec, "username"); n != "" {
					key = n
				} else {
					key = fmt.Sprintf("#%d", i)
				}
			}
			e.id = uuidV5(t.plural + ":" + key)
		}
	}
}

// checkReferences is the second phase: foreign keys must resolve and primary
// keys and unique fields must not repeat (reference 1.3).
func (d *declaration) checkReferences() {
	byKey := map[string]map[string]*entity{} // type -> id or name -> entity
	for _, t := range entityTypes {
		idx := map[string]*entity{}
		byKey[t.singular] = idx
		seenName := map[string]bool{}
		uniq := "name"
		if t.singular == "consumer" {
			uniq = "username"
		}
		if c, ok := credentialTypes[t.singular]; ok {
			uniq = c.endpointKey
		}
		for _, e := range d.byType[t.singular] {
			// Unique names are checked first: generated IDs derive from names,
			// so the name is the meaningful collision to report.
			if n := getString(e.rec, uniq); uniq != "" && n != "" && t.singular != "plugin" && t.singular != "target" {
				if seenName[n] {
					pos, _ := e.tree[len(e.tree)-1].(int)
					if d.keyErrs[t.plural] == nil {
						d.keyErrs[t.plural] = map[int]string{}
					}
					d.keyErrs[t.plural][pos] = fmt.Sprintf("uniqueness violation: '%s' entity with %s set to '%s' already declared", t.plural, uniq, n)
					e.dupKey = true
					continue
				}
				seenName[n] = true
				idx["name:"+n] = e
			}
			if _, dup := idx["id:"+e.id]; dup {
				if e.underDupKey() {
					continue
				}
				e.addErr("", fmt.Sprintf("uniqueness violation: '%s' entity with primary key set to '%s' already declared", t.plural, e.id))
				continue
			}
			idx["id:"+e.id] = e
		}
	}
	resolve := func(e *entity, field, targetType string) {
		v, ok := e.rec[field].(map[string]any)
		if !ok {
			return
		}
		switch r := v["ref"].(type) {
		case *entity:
			e.rec[field] = map[string]any{"id": r.id}
		case string:
			idx := byKey[targetType]
			target := idx["id:"+strings.ToLower(r)]
			if target == nil {
				target = idx["name:"+r]
			}
			if target == nil {
				e.addErr(field, fmt.Sprintf("invalid reference '%s: %s' (no such entry in '%s')", field, r, pluralOf(targetType)))
				return
			}
			e.rec[field] = map[string]any{"id": target.id}
		}
	}
	for _, e := range d.all() {
		switch e.typ {
		case "route":
			resolve(e, "service", "service")
		case "target":
			resolve(e, "upstream", "upstream")
		case "sni":
			resolve(e, "certificate", "certificate")
		case "plugin":
			resolve(e, "route", "route")
			resolve(e, "service", "service")
			resolve(e, "consumer", "consumer")
		case "keyauth_credential", "jwt_secret", "basicauth_credential", "hmacauth_credential", "acl":
			resolve(e, "consumer", "consumer")
		case "service", "upstream":
			resolve(e, "client_certificate", "certificate")
		}
	}
	if len(d.keyErrs) > 0 {
		// Kong's validate_references failed: flatten stops before its
		// cache_key uniqueness pass, and the errors of a duplicate-named
		// entity's children are overwritten by its own (same errs slot).
		return
	}
	// Plugins are unique per (name, route, service, consumer): Kong's cache key.
	seen := map[string]bool{}
	for _, e := range d.byType["plugin"] {
		key := fmt.Sprint(getString(e.rec, "name"), refID(e.rec, "route"), refID(e.rec, "service"), refID(e.rec, "consumer"), getString(e.rec, "instance_name"))
		if seen[key] {
			e.addErr("", fmt.Sprintf("uniqueness violation: 'plugins' entity with cache_key set to 'plugins:%s:%s:%s:%s::' already declared",
				getString(e.rec, "name"), refID(e.rec, "route"), refID(e.rec, "service"), refID(e.rec, "consumer")))
		}
		seen[key] = true
	}
	// Targets are unique per upstream (reference 1.4 [spec test]).
	seenT := map[string]bool{}
	for _, e := range d.byType["target"] {
		key := refID(e.rec, "upstream") + "|" + normalizeTarget(getString(e.rec, "target"))
		if seenT[key] && !hasErrMsg(e, "uniqueness violation") {
			e.addErr("", fmt.Sprintf("uniqueness violation: 'targets' entity with primary key set to '%s' already declared", e.id))
		}
		seenT[key] = true
	}
	// A service protocol must match its plugins and routes only loosely in
	// Kong; the stand-in checks only what affects proxying: route <-> service
	// stream/http consistency is left to Kong's runtime (502), as Kong does.
}

// sniRevalidationErrors adds what Kong 3.9.3 adds to every configuration
// that fails its schema check (verified on Kong 3.9.3 with a bad route
// priority, a bad PEM, a bad SNI name and a bad plugin config beside
// certificates). flatten() in kong/db/schema/others/declarative_config.lua
// validates a failed input a second time with the include_foreign schema,
// after populate_ids_for_validation has given every nested SNI its parent
// key (certificate = {id = ...}); that pass reports the nested SNI's
// "certificate" as "required field missing", and the two error trees are
// merged. kong/db/errors.lua add_entity_errors then follows the SNI's
// foreign key: when the certificate has a valid id (make_pk), the error is
// promoted to an entry of entity_type "certificate" whose entity is only
// {id = ...}, with the entity error "required field missing" (one per
// nested SNI); without an id it stays a field error "certificate" on the
// SNI itself. Nested routes, plugins and targets get no such error, nor do
// top-level snis. (SNIs given as plain names make Kong 3.9.3 answer 500 to
// such a configuration; the stand-in does not imitate that.)
func (d *declaration) sniRevalidationErrors() {
	const msg = "required field missing"
	for _, e := range d.byType["sni"] {
		if !e.nestedSNI || e.parentCert == nil {
			continue
		}
		id, _ := e.parentCert.input["id"].(string)
		if id == "" || checkUUID(id) != "" {
			e.addErr("certificate", msg)
			continue
		}
		d.extraFlat = append(d.extraFlat, map[string]any{
			"entity_type": "certificate",
			"entity":      map[string]any{"id": id},
			"entity_id":   id,
			"errors":      []any{map[string]any{"type": "entity", "message": msg}},
		})
	}
}

// placeKeyErrors does what kong/db/errors.lua flatten_errors does with
// errs[<plural>][i]: it looks up input[<plural>][i] among the top-level
// arrays only. When that array exists, the error goes to the entity at
// that position (whichever it is) or, without one, is lost; when it does
// not (routes nested in services, as Drawbridge writes them), the error
// stays in "fields" as {<plural>: [null, ..., message]} and names no entity.
func (d *declaration) placeKeyErrors() {
	for plural, byPos := range d.keyErrs {
		if d.topArrays[plural] {
			for _, e := range d.all() {
				if len(e.tree) == 2 && e.tree[0] == plural {
					if msg, ok := byPos[e.tree[1].(int)]; ok {
						e.addErr("", msg)
					}
				}
			}
			continue
		}
		last := -1
		for pos := range byPos {
			last = max(last, pos)
		}
		arr := make([]any, last+1)
		for pos, msg := range byPos {
			arr[pos] = msg
		}
		d.topErrors[plural] = arr
	}
}

func hasErrMsg(e *entity, sub string) bool {
	for _, er := range e.errs {
		if strings.Contains(er.msg, sub) {
			return true
		}
	}
	return false
}

func normalizeTarget(t string) string {
	h, p, err := splitTarget(t)
	if err != nil {
		return t
	}
	return strings.ToLower(h) + ":" + strconv.Itoa(p)
}

func refID(rec map[string]any, field string) string {
	m, _ := rec[field].(map[string]any)
	s, _ := m["id"].(string)
	return s
}
