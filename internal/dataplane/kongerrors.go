package dataplane

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
)

// Tag prefixes the translator puts on every Kong entity (internal/translate
// tags.go), used to map Kong's errors back to Kubernetes objects. The
// translator no longer writes k8s-group (each kind it reads has one group);
// it is still read when a tag carries it.
const (
	tagKind      = "k8s-kind:"
	tagGroup     = "k8s-group:"
	tagNamespace = "k8s-namespace:"
	tagName      = "k8s-name:"
	tagUID       = "k8s-uid:"
)

// ConfigError is Kong's rejection of a declarative configuration: the body
// of a 400 from POST /config (code 14 "invalid declarative configuration"
// when the configuration itself is invalid, or just a message such as
// "Cannot parse JSON body").
type ConfigError struct {
	// Status is the HTTP status (400).
	Status int
	// Code and Name are Kong's error code and name (14, "invalid
	// declarative configuration"); zero when Kong sent only a message.
	Code int
	Name string
	// Message is Kong's top-level message.
	Message string
	// Fields is Kong's nested error tree; after flattening it holds only
	// what could not be attributed to an entity (e.g. unknown top-level keys).
	Fields json.RawMessage
	// Entities are the flattened per-entity errors, in Kong's order.
	Entities []EntityError
	// Objects maps Entities to the Kubernetes objects they were
	// translated from (see ObjectErrors).
	Objects []ObjectError
}

// EntityError is one entry of Kong's flattened_errors.
type EntityError struct {
	EntityType string       `json:"entity_type"`
	EntityName string       `json:"entity_name,omitempty"`
	EntityID   string       `json:"entity_id,omitempty"`
	EntityTags []string     `json:"entity_tags,omitempty"`
	Errors     []FieldError `json:"errors,omitempty"`
}

// FieldError is one problem with an entity: Type "field" with the
// dot-joined Field path (1-based array indexes), or Type "entity" for a
// problem with the entity as a whole.
type FieldError struct {
	Type    string `json:"type"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// String renders the error as "field: message", or just the message for
// entity-level errors.
func (f FieldError) String() string {
	if f.Field == "" {
		return f.Message
	}
	return f.Field + ": " + f.Message
}

// ObjectError is Kong's verdict on the entities translated from one
// Kubernetes object. Kind is empty when the entity carried no k8s-* tags
// (or Kong left them out because they were invalid).
type ObjectError struct {
	Kind, Group, Namespace, Name, UID string
	// EntityType and EntityName identify the Kong entity (e.g. "route",
	// "httproute.default.web.0").
	EntityType, EntityName string
	// Messages are Kong's texts, "field: message" or "message".
	Messages []string
}

// Attributed reports whether the error is tied to a Kubernetes object.
func (o ObjectError) Attributed() bool { return o.Kind != "" && o.Name != "" }

// Object names the Kubernetes object as "Kind namespace/name".
func (o ObjectError) Object() string {
	if !o.Attributed() {
		return ""
	}
	if o.Namespace == "" {
		return o.Kind + " " + o.Name
	}
	return o.Kind + " " + o.Namespace + "/" + o.Name
}

// Message is a human sentence for a condition or event, carrying Kong's
// own text.
func (o ObjectError) Message() string {
	var b strings.Builder
	b.WriteString("Kong rejected ")
	if o.EntityType != "" {
		b.WriteString(o.EntityType)
	} else {
		b.WriteString("an entity")
	}
	if o.EntityName != "" {
		fmt.Fprintf(&b, " %q", o.EntityName)
	}
	if obj := o.Object(); obj != "" {
		fmt.Fprintf(&b, " generated from %s", obj)
	}
	b.WriteString(": ")
	if len(o.Messages) == 0 {
		b.WriteString("no detail given")
	} else {
		b.WriteString(strings.Join(o.Messages, "; "))
	}
	return b.String()
}

// Error summarises the rejection.
func (e *ConfigError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = e.Name
	}
	if msg == "" {
		msg = "no message"
	}
	if len(e.Entities) == 0 {
		return fmt.Sprintf("Kong rejected the configuration (HTTP %d): %s", e.Status, msg)
	}
	return fmt.Sprintf("Kong rejected the configuration (HTTP %d): %d invalid entities: %s", e.Status, len(e.Entities), e.entitySummary())
}

func (e *ConfigError) entitySummary() string {
	const max = 3
	parts := make([]string, 0, max)
	for i, o := range e.Objects {
		if i == max {
			parts = append(parts, fmt.Sprintf("and %d more", len(e.Objects)-max))
			break
		}
		parts = append(parts, o.Message())
	}
	return strings.Join(parts, "; ")
}

// ParseConfigError parses the body of a 400 answer to POST /config. It is
// lenient: flattened_errors may be missing, null, an empty object ({}) or a
// list; entries that do not decode are skipped rather than failing the
// whole body. A body that is not a JSON object at all yields a ConfigError
// whose Message is the body's text.
func ParseConfigError(status int, body []byte) *ConfigError {
	ce := &ConfigError{Status: status}
	var raw struct {
		Code            json.RawMessage `json:"code"`
		Name            string          `json:"name"`
		Message         string          `json:"message"`
		Fields          json.RawMessage `json:"fields"`
		FlattenedErrors json.RawMessage `json:"flattened_errors"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		ce.Message = strings.TrimSpace(string(body))
		if len(ce.Message) > 512 {
			ce.Message = ce.Message[:512] + "…"
		}
		return ce
	}
	_ = json.Unmarshal(raw.Code, &ce.Code)
	ce.Name, ce.Message = raw.Name, raw.Message
	if f := bytes.TrimSpace(raw.Fields); len(f) > 0 && !bytes.Equal(f, []byte("null")) && !bytes.Equal(f, []byte("{}")) {
		ce.Fields = raw.Fields
	}
	ce.Entities = parseFlattened(raw.FlattenedErrors)
	ce.Objects = ObjectErrors(ce.Entities)
	return ce
}

// flatEntry is the lenient wire form of a flattened_errors entry.
type flatEntry struct {
	EntityType string            `json:"entity_type"`
	EntityName json.RawMessage   `json:"entity_name"`
	EntityID   json.RawMessage   `json:"entity_id"`
	EntityTags json.RawMessage   `json:"entity_tags"`
	Entity     json.RawMessage   `json:"entity"`
	Errors     []json.RawMessage `json:"errors"`
}

func parseFlattened(data json.RawMessage) []EntityError {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '[' {
		return nil // absent, null, or Lua's empty table serialized as {}
	}
	var entries []json.RawMessage
	if json.Unmarshal(data, &entries) != nil {
		return nil
	}
	out := make([]EntityError, 0, len(entries))
	for _, raw := range entries {
		var fe flatEntry
		if json.Unmarshal(raw, &fe) != nil {
			continue
		}
		ee := EntityError{EntityType: fe.EntityType, EntityName: scalarString(fe.EntityName), EntityID: scalarString(fe.EntityID)}
		ee.EntityTags = stringList(fe.EntityTags)
		if len(ee.EntityTags) == 0 || ee.EntityName == "" {
			// Kong leaves entity_tags/entity_name out when they are
			// invalid; the submitted entity may still carry usable values.
			var ent struct {
				Name json.RawMessage `json:"name"`
				Tags json.RawMessage `json:"tags"`
			}
			if json.Unmarshal(fe.Entity, &ent) == nil {
				if len(ee.EntityTags) == 0 {
					ee.EntityTags = stringList(ent.Tags)
				}
				if ee.EntityName == "" {
					ee.EntityName = scalarString(ent.Name)
				}
			}
		}
		for _, r := range fe.Errors {
			var f FieldError
			if json.Unmarshal(r, &f) != nil {
				var s string
				if json.Unmarshal(r, &s) != nil {
					continue
				}
				f = FieldError{Type: "entity", Message: s}
			}
			ee.Errors = append(ee.Errors, f)
		}
		out = append(out, ee)
	}
	return out
}

// scalarString returns a JSON string's value, or "" for anything else.
func scalarString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// stringList returns the string elements of a JSON array, skipping others.
func stringList(raw json.RawMessage) []string {
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		var s string
		if json.Unmarshal(it, &s) == nil {
			out = append(out, s)
		}
	}
	return out
}

// ObjectErrors maps each entity error to the Kubernetes object named by its
// k8s-* tags. Entities translated from the same object stay separate
// entries (one per Kong entity) so each message names the entity Kong
// complained about. The result is sorted by object, then entity, so it is
// stable for conditions and events.
func ObjectErrors(entities []EntityError) []ObjectError {
	out := make([]ObjectError, 0, len(entities))
	for _, e := range entities {
		o := ObjectError{EntityType: e.EntityType, EntityName: e.EntityName}
		if o.EntityName == "" {
			o.EntityName = e.EntityID
		}
		for _, t := range e.EntityTags {
			switch {
			case strings.HasPrefix(t, tagKind):
				o.Kind = strings.TrimPrefix(t, tagKind)
			case strings.HasPrefix(t, tagGroup):
				o.Group = strings.TrimPrefix(t, tagGroup)
			case strings.HasPrefix(t, tagNamespace):
				o.Namespace = strings.TrimPrefix(t, tagNamespace)
			case strings.HasPrefix(t, tagName):
				o.Name = strings.TrimPrefix(t, tagName)
			case strings.HasPrefix(t, tagUID):
				o.UID = strings.TrimPrefix(t, tagUID)
			}
		}
		for _, f := range e.Errors {
			o.Messages = append(o.Messages, f.String())
		}
		out = append(out, o)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.EntityType != b.EntityType {
			return a.EntityType < b.EntityType
		}
		return a.EntityName < b.EntityName
	})
	return out
}

// ByObject groups object errors by the Kubernetes object they belong to,
// keyed "Kind namespace/name"; unattributed errors are under "".
func ByObject(errs []ObjectError) map[string][]ObjectError {
	m := make(map[string][]ObjectError, len(errs))
	for _, e := range errs {
		m[e.Object()] = append(m[e.Object()], e)
	}
	return m
}

// AdminAuthError is a replica's admin listener refusing the operator's
// client certificate. nginx (ssl_verify_client) completes the TLS handshake
// whatever the client sends and answers the first request with its own
// HTML 400 page, "400 No required SSL certificate was sent" when there was
// no certificate and "400 The SSL certificate error" when it does not
// verify against the configured CA. Kong never sees such a request, so it
// says nothing about the configuration.
type AdminAuthError struct {
	// Status is the HTTP status nginx sent (400).
	Status int
	// Reason is nginx's text, e.g. "No required SSL certificate was sent".
	Reason string
}

func (e *AdminAuthError) Error() string {
	return fmt.Sprintf("Kong admin API refused the operator's client certificate (HTTP %d %q): "+
		"the admin listener's client CA (KONG_NGINX_ADMIN_SSL_CLIENT_CERTIFICATE) must be the operator CA "+
		"that signs the admin client certificate; check the certificate Secrets and their rotation", e.Status, e.Reason)
}

// AdminServerCertError is a replica's admin server certificate failing
// verification: it does not chain to the operator CA the Pusher trusts, or
// is not issued for the replica's server name. During a rotation a replica
// can briefly serve a certificate the operator no longer trusts (or not yet
// one it does); either way nothing reached Kong, so it says nothing about
// the configuration.
type AdminServerCertError struct {
	// Err is the failed call's error; a *tls.CertificateVerificationError
	// is in its chain.
	Err error
}

func (e *AdminServerCertError) Error() string {
	reason := e.Err.Error()
	var cv *tls.CertificateVerificationError
	if errors.As(e.Err, &cv) && cv.Err != nil {
		reason = cv.Err.Error()
	}
	return "the replica's admin server certificate did not verify against the operator CA (" + reason + "): " +
		"the replica must serve the admin certificate the operator issued for it; check the certificate Secrets and their rotation"
}

func (e *AdminServerCertError) Unwrap() error { return e.Err }

// adminAuthFailure returns the admin authentication failure in err's chain:
// an *AdminAuthError or an *AdminServerCertError (a bare TLS verification
// error is wrapped in one), or nil.
func adminAuthFailure(err error) error {
	if err == nil {
		return nil
	}
	var ae *AdminAuthError
	if errors.As(err, &ae) {
		return ae
	}
	var se *AdminServerCertError
	if errors.As(err, &se) {
		return se
	}
	var cv *tls.CertificateVerificationError
	if errors.As(err, &cv) {
		return &AdminServerCertError{Err: cv}
	}
	return nil
}

// nginxClientCertReasons are the texts of nginx's error pages for
// NGX_HTTPS_NO_CERT (496) and NGX_HTTPS_CERT_ERROR (495), both sent as 400
// (src/http/ngx_http_special_response.c).
var nginxClientCertReasons = []string{"No required SSL certificate was sent", "The SSL certificate error"}

// maxAuthPeek bounds how much of an HTML 400 body is read to recognise
// nginx's page (it is about 250 bytes).
const maxAuthPeek = 4096

// peekAdminAuthError recognises nginx's client-certificate 400 page. It
// reads at most maxAuthPeek bytes and puts them back in front of the body,
// so go-kong still sees the whole response.
func peekAdminAuthError(resp *http.Response) *AdminAuthError {
	if resp.StatusCode != http.StatusBadRequest || resp.Body == nil ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		return nil
	}
	head, _ := io.ReadAll(io.LimitReader(resp.Body, maxAuthPeek))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	return adminAuthErrorFromBody(resp.StatusCode, head)
}

// adminAuthErrorFromBody returns the refusal an nginx error page describes,
// or nil when body is something else.
func adminAuthErrorFromBody(status int, body []byte) *AdminAuthError {
	for _, reason := range nginxClientCertReasons {
		if bytes.Contains(body, []byte("<title>400 "+reason+"</title>")) {
			return &AdminAuthError{Status: status, Reason: reason}
		}
	}
	return nil
}
