package dataplane

import (
	"strings"
	"testing"
)

// sampleFlattened follows Kong's 400 body shape (reference 1.3).
const sampleFlattened = `{"code":14,"name":"invalid declarative configuration",
 "message":"declarative config is invalid: {}",
 "fields":{},
 "flattened_errors":[
  {"entity_type":"route","entity_name":"httproute.apps.web.0","entity_id":"9a1c",
   "entity_tags":["k8s-kind:HTTPRoute","k8s-group:gateway.networking.k8s.io","k8s-version:v1","k8s-namespace:apps","k8s-name:web","k8s-uid:1111"],
   "entity":{"name":"httproute.apps.web.0"},
   "errors":[{"type":"field","field":"paths.2","message":"should start with: / (fixed path) or ~/ (regex path)"},
             {"type":"entity","message":"must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https'"}]},
  {"entity_type":"certificate","entity_id":"c1",
   "entity":{"tags":["k8s-kind:Secret","k8s-version:v1","k8s-namespace:apps","k8s-name:tls","k8s-uid:3333"]},
   "errors":[{"type":"field","field":"cert","message":"invalid certificate: x509.new: asn1_lib.c:95:error:068000A8"}]},
  {"entity_type":"plugin","entity_name":"cors",
   "errors":[{"type":"entity","message":"plugin 'cors2' not enabled; add it to the 'plugins' configuration property"}]},
  "not an object",
  {"entity_type":"upstream","entity_name":"u","errors":["bare string"]}
 ]}`

func TestParseConfigErrorMapsEntitiesToObjects(t *testing.T) {
	ce := ParseConfigError(400, []byte(sampleFlattened))
	if ce.Code != 14 || ce.Name != "invalid declarative configuration" || ce.Status != 400 || ce.Fields != nil {
		t.Fatalf("header: %+v", ce)
	}
	if len(ce.Entities) != 4 {
		t.Fatalf("entities: %+v", ce.Entities)
	}
	byObj := ByObject(ce.Objects)
	route := byObj["HTTPRoute apps/web"]
	if len(route) != 1 {
		t.Fatalf("objects: %+v", ce.Objects)
	}
	r := route[0]
	if r.UID != "1111" || r.Group != "gateway.networking.k8s.io" || r.EntityType != "route" || r.EntityName != "httproute.apps.web.0" {
		t.Fatalf("route: %+v", r)
	}
	if len(r.Messages) != 2 || r.Messages[0] != "paths.2: should start with: / (fixed path) or ~/ (regex path)" ||
		!strings.HasPrefix(r.Messages[1], "must set one of") {
		t.Fatalf("messages: %q", r.Messages)
	}
	want := `Kong rejected route "httproute.apps.web.0" generated from HTTPRoute apps/web: paths.2: should start with`
	if !strings.HasPrefix(r.Message(), want) {
		t.Fatalf("message %q", r.Message())
	}
	// entity_tags left out: tags and name come from the submitted entity;
	// without a name the id identifies the entity.
	secret := byObj["Secret apps/tls"]
	if len(secret) != 1 || secret[0].UID != "3333" || secret[0].EntityName != "c1" || !strings.Contains(secret[0].Message(), "invalid certificate") {
		t.Fatalf("secret: %+v", secret)
	}
	// No tags at all: kept, unattributed.
	un := byObj[""]
	if len(un) != 2 || un[0].Attributed() || un[0].Object() != "" {
		t.Fatalf("unattributed: %+v", un)
	}
	if un[0].EntityType != "plugin" || !strings.Contains(un[0].Message(), "plugin 'cors2' not enabled") {
		t.Fatalf("plugin: %+v", un[0])
	}
	if un[1].Messages[0] != "bare string" {
		t.Fatalf("bare string error: %+v", un[1])
	}
	if msg := ce.Error(); !strings.Contains(msg, "4 invalid entities") || !strings.Contains(msg, "and 1 more") {
		t.Fatalf("Error() = %q", msg)
	}
}

func TestParseConfigErrorIsLenient(t *testing.T) {
	cases := map[string]struct {
		body, message string
		fields        bool
	}{
		"empty object":      {`{"code":14,"name":"invalid declarative configuration","message":"declarative config is invalid: {_info=\"unknown field\"}","fields":{"_info":"unknown field"},"flattened_errors":{}}`, "declarative config is invalid", true},
		"missing":           {`{"message":"Cannot parse JSON body"}`, "Cannot parse JSON body", false},
		"null":              {`{"code":14,"flattened_errors":null,"fields":null}`, "", false},
		"wrong type":        {`{"code":"14","flattened_errors":"x","message":"m"}`, "m", false},
		"not JSON":          {`<html>400 Bad Request</html>`, "<html>400 Bad Request</html>", false},
		"empty body":        {``, "", false},
		"broken list":       {`{"flattened_errors":[{"entity_type":1}]}`, "", false},
		"empty entity list": {`{"code":14,"flattened_errors":[]}`, "", false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ce := ParseConfigError(400, []byte(tc.body))
			if len(ce.Entities) != 0 || len(ce.Objects) != 0 {
				t.Fatalf("entities %+v", ce.Entities)
			}
			if !strings.HasPrefix(ce.Message, tc.message) || (ce.Fields != nil) != tc.fields {
				t.Fatalf("parsed %+v", ce)
			}
			if !strings.Contains(ce.Error(), "Kong rejected the configuration (HTTP 400)") {
				t.Fatalf("Error() = %q", ce.Error())
			}
		})
	}
	long := strings.Repeat("x", 2000)
	if ce := ParseConfigError(413, []byte(long)); len(ce.Message) > 600 {
		t.Fatalf("message not truncated: %d", len(ce.Message))
	}
}

func TestObjectErrorMessageWithoutDetails(t *testing.T) {
	o := ObjectError{Kind: "Gateway", Name: "gw"}
	if got := o.Message(); got != "Kong rejected an entity generated from Gateway gw: no detail given" {
		t.Fatal(got)
	}
}

func FuzzParseConfigError(f *testing.F) {
	f.Add([]byte(sampleFlattened))
	f.Add([]byte(`{"flattened_errors":{}}`))
	f.Add([]byte(`{"flattened_errors":[{"entity_tags":[1,"k8s-kind:"],"errors":[null,{}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ce := ParseConfigError(400, body)
		_ = ce.Error()
		if len(ce.Objects) != len(ce.Entities) {
			t.Fatalf("objects %d != entities %d", len(ce.Objects), len(ce.Entities))
		}
		for _, o := range ce.Objects {
			_ = o.Message()
		}
	})
}

func TestAdminAuthErrorFromNginxPages(t *testing.T) {
	for _, reason := range []string{"No required SSL certificate was sent", "The SSL certificate error"} {
		ae := adminAuthErrorFromBody(400, []byte(nginxPage(reason)))
		if ae == nil || ae.Reason != reason || !strings.Contains(ae.Error(), "client certificate") {
			t.Errorf("%s: %+v", reason, ae)
		}
	}
	for _, body := range []string{`{"message":"Cannot parse JSON body"}`, "<html><head><title>400 Bad Request</title></head></html>"} {
		if ae := adminAuthErrorFromBody(400, []byte(body)); ae != nil {
			t.Errorf("%q read as an admin authentication failure", body)
		}
	}
}
