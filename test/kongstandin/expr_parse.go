package kongstandin

// Parser for Kong's expressions router language (ATC), following the grammar
// documented at https://developer.konghq.com/gateway/routing/expressions/ and
// the language reference (docs.konghq.com/gateway/3.9.x/reference/expressions-language/):
//
//	expression = term { ("&&" | "||") term }        "&&" binds tighter than "||"
//	term       = predicate | "(" expression ")" | "!" "(" expression ")"
//	predicate  = lhs operator rhs
//	lhs        = field | func "(" lhs ")"            func: lower, any
//	operator   = == != ~ ^= =^ > >= < <= in "not in" contains
//	rhs        = "string" | r#"raw string"# | int | ipv4/ipv6 [ "/" bits ]
//
// The parser is hand written and scans the right-hand side in context, which
// is how the upstream PEG grammar disambiguates e.g. an IPv6 literal "fd00::1"
// from an identifier.

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

type opKind int

const (
	opEq opKind = iota
	opNe
	opRegex
	opPrefix
	opSuffix
	opGt
	opGe
	opLt
	opLe
	opIn
	opNotIn
	opContains
)

var opNames = map[opKind]string{
	opEq: "==", opNe: "!=", opRegex: "~", opPrefix: "^=", opSuffix: "=^", opGt: ">", opGe: ">=",
	opLt: "<", opLe: "<=", opIn: "in", opNotIn: "not in", opContains: "contains",
}

type litKind int

const (
	litString litKind = iota
	litInt
	litIP
	litCIDR
)

type literal struct {
	kind litKind
	str  string
	num  int64
	ip   netip.Addr
	cidr netip.Prefix
	re   *regexp.Regexp // compiled for the ~ operator
}

// exprNode is a node of a parsed expression.
type exprNode interface{ exprNode() }

type andExpr struct{ l, r exprNode }
type orExpr struct{ l, r exprNode }
type notExpr struct{ x exprNode }
type predicate struct {
	field string
	lower bool // lower() transformation
	any   bool // any() transformation: one matching value is enough
	op    opKind
	rhs   literal
}

func (andExpr) exprNode()    {}
func (orExpr) exprNode()     {}
func (notExpr) exprNode()    {}
func (*predicate) exprNode() {}

// parseError carries the position (0-based byte offset) of a syntax error.
type parseError struct {
	pos int
	msg string
}

func (e *parseError) Error() string {
	return fmt.Sprintf("syntax error at position %d: %s", e.pos+1, e.msg)
}

type exprParser struct {
	src   string
	pos   int
	depth int
}

// maxExprDepth bounds nesting so hostile input cannot exhaust the stack.
const maxExprDepth = 200

// parseExpression parses src into an AST. It only checks syntax; validateExpr
// checks fields, types and regexes against a schema.
func parseExpression(src string) (exprNode, error) {
	p := &exprParser{src: src}
	p.skipSpace()
	if p.pos >= len(p.src) {
		return nil, &parseError{pos: p.pos, msg: "empty expression"}
	}
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos < len(p.src) {
		return nil, p.errorf("unexpected %q, expected && or || or end of expression", p.rest(8))
	}
	return n, nil
}

func (p *exprParser) errorf(format string, a ...any) error {
	return &parseError{pos: p.pos, msg: fmt.Sprintf(format, a...)}
}

func (p *exprParser) rest(n int) string {
	r := p.src[p.pos:]
	if len(r) > n {
		r = r[:n]
	}
	return r
}

func (p *exprParser) skipSpace() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\r', '\n':
			p.pos++
		default:
			return
		}
	}
}

func (p *exprParser) consume(tok string) bool {
	p.skipSpace()
	if strings.HasPrefix(p.src[p.pos:], tok) {
		p.pos += len(tok)
		return true
	}
	return false
}

func (p *exprParser) parseOr() (exprNode, error) {
	l, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.consume("||") {
		r, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		l = orExpr{l, r}
	}
	return l, nil
}

func (p *exprParser) parseAnd() (exprNode, error) {
	l, err := p.parseTerm()
	if err != nil {
		return nil, err
	}
	for p.consume("&&") {
		r, err := p.parseTerm()
		if err != nil {
			return nil, err
		}
		l = andExpr{l, r}
	}
	return l, nil
}

func (p *exprParser) parseTerm() (exprNode, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxExprDepth {
		return nil, p.errorf("expression nested too deeply")
	}
	p.skipSpace()
	if p.pos >= len(p.src) {
		return nil, p.errorf("unexpected end of expression, expected a predicate or '('")
	}
	switch {
	case p.src[p.pos] == '(':
		p.pos++
		n, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if !p.consume(")") {
			return nil, p.errorf("expected ')'")
		}
		return n, nil
	case p.src[p.pos] == '!' && !strings.HasPrefix(p.src[p.pos:], "!="):
		p.pos++
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != '(' {
			return nil, p.errorf("'!' must be followed by a parenthesised expression")
		}
		n, err := p.parseTerm()
		if err != nil {
			return nil, err
		}
		return notExpr{n}, nil
	}
	return p.parsePredicate()
}

func isIdentStart(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentChar(c byte) bool {
	return isIdentStart(c) || c >= '0' && c <= '9' || c == '_' || c == '.'
}

func (p *exprParser) ident() (string, error) {
	p.skipSpace()
	start := p.pos
	if p.pos >= len(p.src) || !isIdentStart(p.src[p.pos]) {
		return "", p.errorf("expected a field name")
	}
	for p.pos < len(p.src) && isIdentChar(p.src[p.pos]) {
		p.pos++
	}
	return p.src[start:p.pos], nil
}

func (p *exprParser) parsePredicate() (exprNode, error) {
	pred := &predicate{}
	if err := p.parseLHS(pred, 0); err != nil {
		return nil, err
	}
	op, err := p.parseOperator()
	if err != nil {
		return nil, err
	}
	pred.op = op
	lit, err := p.parseLiteral()
	if err != nil {
		return nil, err
	}
	pred.rhs = lit
	return pred, nil
}

func (p *exprParser) parseLHS(pred *predicate, depth int) error {
	if depth > 4 {
		return p.errorf("too many nested transformation functions")
	}
	name, err := p.ident()
	if err != nil {
		return err
	}
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == '(' {
		p.pos++
		switch name {
		case "lower":
			pred.lower = true
		case "any":
			pred.any = true
		default:
			return p.errorf("unknown transformation function %q", name)
		}
		if err := p.parseLHS(pred, depth+1); err != nil {
			return err
		}
		if !p.consume(")") {
			return p.errorf("expected ')' after transformation argument")
		}
		return nil
	}
	pred.field = name
	return nil
}

func (p *exprParser) parseOperator() (opKind, error) {
	p.skipSpace()
	r := p.src[p.pos:]
	for _, c := range []struct {
		tok string
		op  opKind
	}{{"==", opEq}, {"!=", opNe}, {"^=", opPrefix}, {"=^", opSuffix}, {">=", opGe}, {"<=", opLe}, {">", opGt}, {"<", opLt}, {"~", opRegex}} {
		if strings.HasPrefix(r, c.tok) {
			p.pos += len(c.tok)
			return c.op, nil
		}
	}
	word := func(w string) bool {
		if strings.HasPrefix(r, w) && (len(r) == len(w) || !isIdentChar(r[len(w)])) {
			return true
		}
		return false
	}
	switch {
	case word("in"):
		p.pos += 2
		return opIn, nil
	case word("contains"):
		p.pos += len("contains")
		return opContains, nil
	case word("not"):
		p.pos += 3
		p.skipSpace()
		r2 := p.src[p.pos:]
		if strings.HasPrefix(r2, "in") && (len(r2) == 2 || !isIdentChar(r2[2])) {
			p.pos += 2
			return opNotIn, nil
		}
		return 0, p.errorf("expected 'in' after 'not'")
	}
	return 0, p.errorf("expected an operator (==, !=, ~, ^=, =^, >, >=, <, <=, in, not in, contains), found %q", p.rest(8))
}

func (p *exprParser) parseLiteral() (literal, error) {
	p.skipSpace()
	if p.pos >= len(p.src) {
		return literal{}, p.errorf("expected a value")
	}
	r := p.src[p.pos:]
	switch {
	case r[0] == '"':
		return p.parseString()
	case strings.HasPrefix(r, `r#"`):
		end := strings.Index(r[3:], `"#`)
		if end < 0 {
			return literal{}, p.errorf("unterminated raw string")
		}
		s := r[3 : 3+end]
		p.pos += 3 + end + 2
		return literal{kind: litString, str: s}, nil
	}
	start := p.pos
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == 'x' || c == ':' || c == '.' || c == '/' || (c == '-' && p.pos == start) {
			p.pos++
			continue
		}
		break
	}
	tok := p.src[start:p.pos]
	if tok == "" {
		return literal{}, p.errorf("expected a string, integer or IP literal, found %q", p.rest(8))
	}
	if strings.ContainsAny(tok, ":") || strings.Count(tok, ".") == 3 {
		if strings.Contains(tok, "/") {
			pfx, err := netip.ParsePrefix(tok)
			if err != nil {
				p.pos = start
				return literal{}, p.errorf("invalid CIDR literal %q", tok)
			}
			// ATC stores the network address, so host bits are irrelevant.
			return literal{kind: litCIDR, cidr: pfx.Masked()}, nil
		}
		ip, err := netip.ParseAddr(tok)
		if err != nil {
			p.pos = start
			return literal{}, p.errorf("invalid IP literal %q", tok)
		}
		return literal{kind: litIP, ip: ip}, nil
	}
	n, err := parseIntLiteral(tok)
	if err != nil {
		p.pos = start
		return literal{}, p.errorf("invalid integer literal %q", tok)
	}
	return literal{kind: litInt, num: n}, nil
}

// parseIntLiteral accepts decimal, 0x hexadecimal and 0-prefixed octal, with
// an optional minus sign, as the ATC grammar does.
func parseIntLiteral(tok string) (int64, error) {
	neg := strings.HasPrefix(tok, "-")
	t := strings.TrimPrefix(tok, "-")
	base := 10
	switch {
	case strings.HasPrefix(t, "0x"):
		t, base = t[2:], 16
	case len(t) > 1 && t[0] == '0':
		t, base = t[1:], 8
	}
	if t == "" {
		return 0, fmt.Errorf("empty integer")
	}
	n, err := strconv.ParseInt(t, base, 64)
	if err != nil {
		return 0, err
	}
	if neg {
		n = -n
	}
	return n, nil
}

func (p *exprParser) parseString() (literal, error) {
	var b strings.Builder
	p.pos++ // opening quote
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch c {
		case '"':
			p.pos++
			return literal{kind: litString, str: b.String()}, nil
		case '\\':
			if p.pos+1 >= len(p.src) {
				return literal{}, p.errorf("unterminated escape sequence")
			}
			switch p.src[p.pos+1] {
			case '"':
				b.WriteByte('"')
			case '\\':
				b.WriteByte('\\')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			default:
				return literal{}, p.errorf("invalid escape sequence \\%c (allowed: \\\" \\\\ \\n \\r \\t)", p.src[p.pos+1])
			}
			p.pos += 2
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	return literal{}, p.errorf("unterminated string literal")
}
