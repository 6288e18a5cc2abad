package kong

import (
	"fmt"
	"strconv"
	"strings"
)

// Router is which of Kong's two routers an expression is compiled for: the
// HTTP router (proxy_listen) or the stream router (stream_listen). They know
// different fields.
type Router int

// The two expressions routers.
const (
	HTTPRouter Router = iota
	StreamRouter
)

type fieldKind int

const (
	stringField fieldKind = iota
	intField
	ipField
)

// fieldOf returns the type of an expressions-language field for a router,
// following the field list of Kong 3.9's expressions reference.
func fieldOf(name string, r Router) (fieldKind, bool) {
	switch name {
	case "net.protocol", "tls.sni":
		return stringField, true
	case "net.src.port", "net.dst.port":
		return intField, true
	case "net.src.ip", "net.dst.ip":
		return ipField, true
	}
	if r == StreamRouter {
		return 0, false
	}
	switch name {
	case "http.method", "http.host", "http.path":
		return stringField, true
	case "http.path.segments.len":
		return intField, true
	}
	for _, prefix := range []string{"http.headers.", "http.queries."} {
		if rest, ok := strings.CutPrefix(name, prefix); ok && rest != "" {
			if prefix == "http.headers." && strings.ToLower(rest) != rest {
				return 0, false // header fields are matched lower-cased
			}
			if strings.Contains(rest, ".") {
				// Kong's schema knows http.headers.* and http.queries.*
				// for one label only; "http.queries.a.b" is an unknown
				// field that fails the whole POST /config.
				return 0, false
			}
			return stringField, true
		}
	}
	return 0, false
}

// exprChecker is a recursive-descent checker for the expressions language
// subset that matters for validation:
//
//	expr      = and { "||" and }
//	and       = term { "&&" term }
//	term      = "(" expr ")" | "!" "(" expr ")" | predicate
//	predicate = field op value
//
// It checks syntax, field names, operator/type compatibility and regexes
// (Go's parser plus CheckKongRegex, which refuses what Kong's Rust regex
// engine refuses or reads differently).
type exprChecker struct {
	src    string
	pos    int
	router Router
	depth  int
}

// CheckExpression reports the first problem in an expression, or nil.
func CheckExpression(src string, r Router) error {
	if strings.TrimSpace(src) == "" {
		return fmt.Errorf("expression is empty")
	}
	c := &exprChecker{src: src, router: r}
	if err := c.expr(); err != nil {
		return err
	}
	c.space()
	if c.pos != len(c.src) {
		return c.errorf("unexpected %q", c.rest())
	}
	return nil
}

func (c *exprChecker) errorf(format string, args ...any) error {
	return fmt.Errorf("expression syntax error at offset %d: %s", c.pos, fmt.Sprintf(format, args...))
}

func (c *exprChecker) rest() string {
	r := c.src[c.pos:]
	if len(r) > 20 {
		r = r[:20] + "..."
	}
	return r
}

func (c *exprChecker) space() {
	for c.pos < len(c.src) && strings.ContainsRune(" \t\r\n", rune(c.src[c.pos])) {
		c.pos++
	}
}

func (c *exprChecker) eat(tok string) bool {
	c.space()
	if strings.HasPrefix(c.src[c.pos:], tok) {
		c.pos += len(tok)
		return true
	}
	return false
}

func (c *exprChecker) expr() error {
	c.depth++
	defer func() { c.depth-- }()
	if c.depth > 64 {
		return c.errorf("expression nested too deeply")
	}
	if err := c.and(); err != nil {
		return err
	}
	for c.eat("||") {
		if err := c.and(); err != nil {
			return err
		}
	}
	return nil
}

func (c *exprChecker) and() error {
	if err := c.term(); err != nil {
		return err
	}
	for c.eat("&&") {
		if err := c.term(); err != nil {
			return err
		}
	}
	return nil
}

func (c *exprChecker) term() error {
	c.space()
	switch {
	case c.eat("("):
		if err := c.expr(); err != nil {
			return err
		}
		if !c.eat(")") {
			return c.errorf("missing )")
		}
		return nil
	case strings.HasPrefix(c.src[c.pos:], "!") && !strings.HasPrefix(c.src[c.pos:], "!="):
		c.pos++
		if !c.eat("(") {
			return c.errorf("! must be followed by a parenthesised expression")
		}
		if err := c.expr(); err != nil {
			return err
		}
		if !c.eat(")") {
			return c.errorf("missing )")
		}
		return nil
	}
	return c.predicate()
}

var operators = []string{"==", "!=", "~", "^=", "=^", ">=", "<=", ">", "<", "contains", "not in", "in"}

func (c *exprChecker) predicate() error {
	c.space()
	start := c.pos
	for c.pos < len(c.src) {
		ch := c.src[c.pos]
		if ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '_' || ch == '.' {
			c.pos++
			continue
		}
		break
	}
	field := c.src[start:c.pos]
	if field == "" {
		return c.errorf("expected a field name, found %q", c.rest())
	}
	kind, ok := fieldOf(field, c.router)
	if !ok {
		return fmt.Errorf("unknown field %q for the %s router", field, c.router)
	}
	c.space()
	op := ""
	for _, candidate := range operators {
		if strings.HasPrefix(c.src[c.pos:], candidate) {
			op = candidate
			c.pos += len(candidate)
			break
		}
	}
	if op == "" {
		return c.errorf("expected an operator after %s", field)
	}
	c.space()
	if c.pos >= len(c.src) {
		return c.errorf("missing value after %s %s", field, op)
	}
	if c.src[c.pos] == '"' {
		value, err := c.stringLiteral()
		if err != nil {
			return err
		}
		if kind != stringField {
			return fmt.Errorf("field %s is not a string but is compared with %q", field, value)
		}
		switch op {
		case "==", "!=", "^=", "=^", "contains":
		case "~":
			if err := CheckKongRegex(value); err != nil {
				return fmt.Errorf("invalid regex %q for %s: %v", value, field, err)
			}
		default:
			return fmt.Errorf("operator %s cannot compare string field %s", op, field)
		}
		return nil
	}
	numStart := c.pos
	for c.pos < len(c.src) && (c.src[c.pos] >= '0' && c.src[c.pos] <= '9' || c.src[c.pos] == '-') {
		c.pos++
	}
	if numStart == c.pos {
		return c.errorf("expected a value after %s %s", field, op)
	}
	if _, err := strconv.ParseInt(c.src[numStart:c.pos], 10, 64); err != nil {
		return c.errorf("invalid integer %q", c.src[numStart:c.pos])
	}
	if kind != intField {
		return fmt.Errorf("field %s is not an integer", field)
	}
	switch op {
	case "==", "!=", ">", ">=", "<", "<=":
		return nil
	}
	return fmt.Errorf("operator %s cannot compare integer field %s", op, field)
}

func (c *exprChecker) stringLiteral() (string, error) {
	var b strings.Builder
	c.pos++ // opening quote
	for c.pos < len(c.src) {
		ch := c.src[c.pos]
		switch ch {
		case '"':
			c.pos++
			return b.String(), nil
		case '\\':
			if c.pos+1 >= len(c.src) {
				return "", c.errorf("unterminated escape")
			}
			switch c.src[c.pos+1] {
			case '"', '\\':
				b.WriteByte(c.src[c.pos+1])
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			default:
				return "", c.errorf("invalid escape \\%c", c.src[c.pos+1])
			}
			c.pos += 2
		default:
			b.WriteByte(ch)
			c.pos++
		}
	}
	return "", c.errorf("unterminated string")
}

func (r Router) String() string {
	if r == StreamRouter {
		return "stream"
	}
	return "http"
}

// Quote renders s as an expressions-language string literal. Only the
// escapes the language knows are produced.
func Quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; ch {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(ch)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteByte(ch)
		}
	}
	b.WriteByte('"')
	return b.String()
}
