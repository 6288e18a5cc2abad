package kongstandin

import (
	"strings"
	"testing"
)

// Source: expressions language reference (grammar, literals, operators,
// type rules) at https://developer.konghq.com/gateway/routing/expressions/.
func TestExpressionParser(t *testing.T) {
	cases := []struct {
		expr    string
		stream  bool
		wantErr string
	}{
		{`http.path == "/a"`, false, ""},
		{`http.path ^= "/a" && (http.method == "GET" || http.method == "HEAD")`, false, ""},
		{`!(http.host == "a") && http.headers.x_a contains "b"`, false, ""},
		{`lower(http.host) =^ ".example.com"`, false, ""},
		{`any(http.headers.x) == "1"`, false, ""},
		{`http.path ~ r#"^/a"b$"#`, false, ""},
		{`http.path == "esc\"aped\\"`, false, ""},
		{`net.dst.port >= 0x10 && net.dst.port < 017 || net.src.port != -1`, false, ""},
		{`net.src.ip in 10.0.0.0/8 || net.src.ip not in fd00::/8 || net.dst.ip == ::1`, false, ""},
		{`tls.sni == "a" && net.dst.port == 443`, true, ""},
		{`http.path == "/a" &&`, false, "syntax error"},
		{`(http.path == "/a"`, false, "expected ')'"},
		{`http.path = "/a"`, false, "expected an operator"},
		{`http.path == "unterminated`, false, "unterminated"},
		{`http.path == "\q"`, false, "invalid escape"},
		{`upper(http.path) == "a"`, false, "unknown transformation"},
		{`lower(net.dst.port) == 1`, false, "lower-case transformation function only supported with String"},
		{`net.src.ip in 10.0.0.1`, false, "In/NotIn operators only supports IP in CIDR"},
		{`http.path > 1`, false, "Greater/GreaterOrEqual"},
		{`net.dst.port ~ "1"`, false, "Regex operators only supports string operands"},
		{`http.path == "/"`, true, "Unknown LHS field"},
		// Confirmed on Kong 3.9.3: the schema's http.queries.* covers one
		// label, so a dotted name fails POST /config.
		{`http.queries.user_id == "1"`, false, ""},
		{`http.queries.user.id == "1"`, false, "Unknown LHS field"},
		{`http.headers.x.y == "1"`, false, "Unknown LHS field"},
		{`! http.path == "/"`, false, "parenthesised"},
		{``, false, "empty expression"},
	}
	for _, tc := range cases {
		_, err := compileExpression(tc.expr, tc.stream)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%q: unexpected error %v", tc.expr, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%q: error %v, want %q", tc.expr, err, tc.wantErr)
		}
	}
}

// Source: atc-router semantics as documented: with several values of a field
// (repeated header) all must match unless any() is used; a missing field is false.
func TestExpressionMultiValueSemantics(t *testing.T) {
	ctx := newMatchContext()
	ctx.values["http.headers.x"] = []fieldValue{{str: "a"}, {str: "b"}}
	ctx.reset()
	for _, tc := range []struct {
		expr string
		want bool
	}{
		{`http.headers.x == "a"`, false},
		{`any(http.headers.x) == "a"`, true},
		{`http.headers.x != "c"`, true},
		{`http.headers.y != "c"`, false},
	} {
		n, err := compileExpression(tc.expr, false)
		if err != nil {
			t.Fatal(err)
		}
		if got := evalExpr(n, ctx); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.expr, got, tc.want)
		}
	}
}

func FuzzExpressionParser(f *testing.F) {
	for _, s := range []string{
		`http.path == "/a"`,
		`(http.host == "a" || lower(http.host) =^ ".b") && !(http.method == "GET")`,
		`net.src.ip in 10.0.0.0/8 && net.dst.port >= 80`,
		`http.path ~ r#"^/v[0-9]+/"#`,
		`http.headers.x_a contains "\""`,
		`(((`,
		`a == `,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := compileExpression(s, false)
		if err != nil {
			return
		}
		// Whatever parses must evaluate without panicking on an empty context.
		ctx := newMatchContext()
		ctx.reset()
		_ = evalExpr(n, ctx)
	})
}
