package kongstandin

import (
	"errors"
	"fmt"
	"github.com/drawbridge-dev/drawbridge/internal/kong"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// fieldType is the ATC type of a router field.
type fieldType int

const (
	typeString fieldType = iota
	typeInt
	typeIP
)

// fieldTypeOf returns the type of a field in the HTTP or stream router schema
// (Kong 3.9 kong/router/fields.lua as documented in the expressions language
// reference, "Available fields"), or false if the field does not exist there.
func fieldTypeOf(field string, stream bool) (fieldType, bool) {
	switch field {
	case "net.protocol", "tls.sni":
		return typeString, true
	case "net.src.ip", "net.dst.ip":
		return typeIP, true
	case "net.src.port", "net.dst.port":
		return typeInt, true
	}
	if stream {
		return 0, false
	}
	switch field {
	case "http.method", "http.host", "http.path":
		return typeString, true
	case "http.path.segments.len":
		return typeInt, true
	}
	for _, prefix := range []string{"http.headers.", "http.queries."} {
		// atc-router resolves a field missing from the schema through
		// its prefix up to the last '.' plus ".*", so http.headers.* and
		// http.queries.* cover exactly one more label: "http.queries.a.b"
		// is an Unknown LHS field.
		if rest, ok := strings.CutPrefix(field, prefix); ok && rest != "" && !strings.Contains(rest, ".") {
			return typeString, true
		}
	}
	if rest, ok := strings.CutPrefix(field, "http.path.segments."); ok && segmentSpecRE.MatchString(rest) {
		return typeString, true
	}
	return 0, false
}

var segmentSpecRE = regexp.MustCompile(`^[0-9]+(_[0-9]+)?$`)

// validateExpr type-checks a parsed expression against the router schema the
// way atc-router's semantic validation does, and compiles regexes. Messages
// mirror atc-router's.
func validateExpr(n exprNode, stream bool) error {
	switch e := n.(type) {
	case andExpr:
		if err := validateExpr(e.l, stream); err != nil {
			return err
		}
		return validateExpr(e.r, stream)
	case orExpr:
		if err := validateExpr(e.l, stream); err != nil {
			return err
		}
		return validateExpr(e.r, stream)
	case notExpr:
		return validateExpr(e.x, stream)
	case *predicate:
		return validatePredicate(e, stream)
	}
	return fmt.Errorf("unknown expression node %T", n)
}

func validatePredicate(p *predicate, stream bool) error {
	ft, ok := fieldTypeOf(p.field, stream)
	if !ok {
		return errors.New("Unknown LHS field")
	}
	rt := p.rhs.kind
	if p.lower && ft != typeString {
		return errors.New("lower-case transformation function only supported with String type fields")
	}
	typeMatches := (ft == typeString && rt == litString) || (ft == typeInt && rt == litInt) || (ft == typeIP && rt == litIP)
	switch p.op {
	case opEq, opNe:
		if !typeMatches {
			return errors.New("Type mismatch between the LHS and RHS values of predicate")
		}
	case opRegex:
		if ft != typeString || rt != litString {
			return errors.New("Regex operators only supports string operands")
		}
		// Kong compiles with Rust's regex crate, which refuses constructs
		// Go's RE2 accepts (\Q..\E, \0, (?<name>..), ...); internal/kong's
		// checker lists them, each confirmed on Kong 3.9.3.
		if err := kong.CheckKongRegex(p.rhs.str); err != nil {
			return fmt.Errorf("invalid regex: %v", err)
		}
		re, err := regexp.Compile(p.rhs.str)
		if err != nil {
			return fmt.Errorf("invalid regex: %v", err)
		}
		p.rhs.re = re
	case opPrefix, opSuffix:
		if ft != typeString || rt != litString {
			return errors.New("Regex/Prefix/Postfix operators only supports string operands")
		}
	case opGt, opGe, opLt, opLe:
		if ft != typeInt || rt != litInt {
			return errors.New("Greater/GreaterOrEqual/Lesser/LesserOrEqual operators only supports integer operands")
		}
	case opIn, opNotIn:
		if ft != typeIP || rt != litCIDR {
			return errors.New("In/NotIn operators only supports IP in CIDR")
		}
	case opContains:
		if ft != typeString || rt != litString {
			return errors.New("Contains operator only supports string operands")
		}
	}
	return nil
}

// compileExpression parses and validates an expression for the HTTP or stream
// router. Errors are worded as Kong reports them at POST /config.
func compileExpression(src string, stream bool) (exprNode, error) {
	n, err := parseExpression(src)
	if err != nil {
		return nil, fmt.Errorf("Router Expression failed validation: %v", err)
	}
	if err := validateExpr(n, stream); err != nil {
		return nil, fmt.Errorf("Router Expression failed validation: %v", err)
	}
	return n, nil
}

// fieldValue is one value of a field in the match context.
type fieldValue struct {
	str string
	num int64
	ip  netip.Addr
}

// matchContext supplies field values for one request or connection. A field
// that is absent makes every predicate on it false (atc-router interpreter).
type matchContext struct {
	values   map[string][]fieldValue
	lookup   func(field string) []fieldValue // lazily computed fields (headers, queries, segments)
	captures map[string]string               // regex captures of the last matching ~ predicate
	matches  map[string]string               // matched value per field (atc-router Match.matches)
}

func (c *matchContext) get(field string) []fieldValue {
	if v, ok := c.values[field]; ok {
		return v
	}
	if c.lookup != nil {
		return c.lookup(field)
	}
	return nil
}

func (c *matchContext) setString(field, v string) {
	c.values[field] = []fieldValue{{str: v}}
}

func (c *matchContext) setInt(field string, v int) {
	c.values[field] = []fieldValue{{num: int64(v)}}
}

func (c *matchContext) setIP(field string, v netip.Addr) {
	c.values[field] = []fieldValue{{ip: v.Unmap()}}
}

func newMatchContext() *matchContext {
	return &matchContext{values: map[string][]fieldValue{}}
}

// reset clears per-route match results before evaluating the next route.
func (c *matchContext) reset() {
	c.captures = nil
	c.matches = map[string]string{}
}

// evalExpr evaluates n. Captures of the regex predicates that matched are
// recorded in ctx.captures (used for uri_captures by request-transformer).
func evalExpr(n exprNode, ctx *matchContext) bool {
	switch e := n.(type) {
	case andExpr:
		return evalExpr(e.l, ctx) && evalExpr(e.r, ctx)
	case orExpr:
		return evalExpr(e.l, ctx) || evalExpr(e.r, ctx)
	case notExpr:
		return !evalExpr(e.x, ctx)
	case *predicate:
		return evalPredicate(e, ctx)
	}
	return false
}

// evalPredicate follows atc-router's interpreter: with several values (for
// example a repeated header) every value must satisfy the predicate unless
// the any() transformation is used, and a missing field never matches.
func evalPredicate(p *predicate, ctx *matchContext) bool {
	vals := ctx.get(p.field)
	if len(vals) == 0 {
		return false
	}
	for _, v := range vals {
		ok := evalOne(p, v, ctx)
		if p.any && ok {
			return true
		}
		if !p.any && !ok {
			return false
		}
	}
	return !p.any
}

func evalOne(p *predicate, v fieldValue, ctx *matchContext) bool {
	s := v.str
	if p.lower {
		s = strings.ToLower(s)
	}
	r := p.rhs
	switch p.op {
	case opEq, opNe:
		var eq bool
		switch r.kind {
		case litString:
			eq = s == r.str
		case litInt:
			eq = v.num == r.num
		case litIP:
			eq = v.ip == r.ip.Unmap()
		}
		if eq && p.op == opEq && r.kind == litString {
			ctx.matches[p.field] = r.str
		}
		return eq == (p.op == opEq)
	case opRegex:
		m := r.re.FindStringSubmatchIndex(s)
		if m == nil {
			return false
		}
		caps := map[string]string{}
		names := r.re.SubexpNames()
		for i := 0; i*2 < len(m); i++ {
			if m[2*i] < 0 {
				continue
			}
			val := s[m[2*i]:m[2*i+1]]
			caps[strconv.Itoa(i)] = val
			if names[i] != "" {
				caps[names[i]] = val
			}
		}
		ctx.captures = caps
		ctx.matches[p.field] = caps["0"]
		return true
	case opPrefix, opSuffix:
		ok := strings.HasPrefix(s, r.str)
		if p.op == opSuffix {
			ok = strings.HasSuffix(s, r.str)
		}
		if ok {
			ctx.matches[p.field] = r.str
		}
		return ok
	case opContains:
		return strings.Contains(s, r.str)
	case opGt:
		return v.num > r.num
	case opGe:
		return v.num >= r.num
	case opLt:
		return v.num < r.num
	case opLe:
		return v.num <= r.num
	case opIn:
		return r.cidr.Contains(v.ip.Unmap())
	case opNotIn:
		return !r.cidr.Contains(v.ip.Unmap())
	}
	return false
}
