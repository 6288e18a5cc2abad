package yamlfast

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"

	sigsyaml "sigs.k8s.io/yaml"
)

// ToJSON converts one YAML document to JSON, returning exactly what
// sigs.k8s.io/yaml.YAMLToJSON returns for it.
func ToJSON(doc []byte) ([]byte, error) {
	return new(Converter).ToJSON(doc)
}

// A Converter converts documents one after another, reusing its scratch
// space. The zero value is ready to use; it is not safe for concurrent use.
type Converter struct {
	lines   []line
	pos     int
	buf     []byte
	entries []entry
	scratch []byte
}

// ToJSON converts one YAML document to JSON, returning exactly what
// sigs.k8s.io/yaml.YAMLToJSON returns for it. The result is the caller's.
func (c *Converter) ToJSON(doc []byte) ([]byte, error) {
	data, _, err := c.Convert(doc)
	return data, err
}

// Convert is ToJSON that also reports whether the document was converted
// directly, without go-yaml. Such JSON is printable ASCII as encoding/json
// writes it, with no key near go-yaml's 1024-character limit and no
// negative zero, so sigs.k8s.io/yaml.Unmarshal would read it back unchanged:
// callers may decode it with encoding/json instead.
func (c *Converter) Convert(doc []byte) (data []byte, direct bool, err error) {
	if err := c.convert(string(doc)); err == nil {
		return slices.Clone(c.buf), true, nil
	}
	data, err = sigsyaml.YAMLToJSON(doc)
	return data, false, err
}

// line is one line of a document holding content: its indentation and the
// text after it.
type line struct {
	indent int
	text   string
}

// entry is one key and its JSON ("key":value) in the buffer.
type entry struct {
	key        string
	start, end int
}

// maxIndent bounds nesting well below go-yaml's depth limit (10,000): every
// level is indented at least one column further.
const maxIndent = 5000

// convert parses doc as the YAML manifests are written in: block mappings
// and sequences, plain and quoted one-line scalars, one-line flow
// collections and comments. Anything else (anchors, tags, block scalars,
// escapes, multi-line scalars and collections, tabs, non-ASCII text) fails
// with errFallback, as do documents go-yaml would reject.
func (c *Converter) convert(doc string) error {
	c.lines = c.lines[:0]
	c.pos = 0
	c.buf = c.buf[:0]
	c.entries = c.entries[:0]
	for i := 0; i < len(doc); i++ {
		if b := doc[i]; (b < 0x20 || b > 0x7E) && b != '\n' {
			return errFallback
		}
	}
	started := false // past a "---" or the first content line
	for rest := doc; rest != ""; {
		var text string
		text, rest, _ = strings.Cut(rest, "\n")
		if strings.HasPrefix(text, "---") && !started && len(c.lines) == 0 && isDocumentStart(text) {
			started = true
			continue
		}
		if strings.HasPrefix(text, "---") || strings.HasPrefix(text, "...") || strings.HasPrefix(text, "%") {
			return errFallback // document markers and directives
		}
		content := strings.TrimLeft(text, " ")
		if content == "" || content[0] == '#' {
			continue
		}
		if len(text)-len(content) > maxIndent {
			return errFallback
		}
		c.lines = append(c.lines, line{indent: len(text) - len(content), text: strings.TrimRight(content, " ")})
	}
	if len(c.lines) == 0 {
		return errFallback // null document
	}
	first := c.lines[0]
	if !isSequenceEntry(first.text) && !isMappingLine(first.text) {
		return errFallback // a lone scalar
	}
	if err := c.block(first.indent); err != nil {
		return err
	}
	if c.pos != len(c.lines) {
		return errFallback // lines less indented than the first: a syntax error
	}
	return nil
}

// isDocumentStart reports a "---" line with nothing after it but spaces and
// a comment.
func isDocumentStart(text string) bool {
	after := text[3:]
	return after == "" || after[0] == ' ' && (strings.TrimLeft(after, " ") == "" || strings.HasPrefix(strings.TrimLeft(after, " "), "#"))
}

// block converts the mapping or sequence whose first line is the current
// one, at indentation indent.
func (c *Converter) block(indent int) error {
	if isSequenceEntry(c.lines[c.pos].text) {
		return c.sequence(indent)
	}
	return c.mapping(indent)
}

func isSequenceEntry(text string) bool {
	return text == "-" || strings.HasPrefix(text, "- ")
}

func isMappingLine(text string) bool {
	_, _, ok := splitKey(text)
	return ok
}

// afterIndicator returns what follows a "-" or a "key:" on a line, and its
// offset, with comments removed.
func afterIndicator(text string, at int) (string, int) {
	rest := strings.TrimLeft(text[at:], " ")
	if strings.HasPrefix(rest, "#") {
		return "", len(text)
	}
	return rest, len(text) - len(rest)
}

// nested converts the node that follows a "key:" or "-" with nothing after
// it on the line: a deeper block, a sequence at the key's own indentation
// (sequenceAllowed), or null.
func (c *Converter) nested(indent int, sequenceAllowed bool) error {
	if c.pos < len(c.lines) {
		next := c.lines[c.pos]
		if next.indent > indent {
			return c.block(next.indent)
		}
		if next.indent == indent && sequenceAllowed && isSequenceEntry(next.text) {
			return c.sequence(indent)
		}
	}
	c.buf = append(c.buf, "null"...)
	return nil
}

func (c *Converter) sequence(indent int) error {
	c.buf = append(c.buf, '[')
	for n := 0; c.pos < len(c.lines); n++ {
		l := c.lines[c.pos]
		if l.indent != indent || !isSequenceEntry(l.text) {
			if l.indent > indent {
				return errFallback
			}
			break
		}
		if n > 0 {
			c.buf = append(c.buf, ',')
		}
		rest, at := afterIndicator(l.text, 1)
		switch {
		case rest == "":
			c.pos++
			if err := c.nested(indent, false); err != nil {
				return err
			}
		case isSequenceEntry(rest) || isMappingLine(rest):
			// A compact nested node ("- key: value", "- - item") starts
			// mid-line; it continues on the lines indented to its column.
			c.lines[c.pos] = line{indent: indent + at, text: rest}
			if err := c.block(indent + at); err != nil {
				return err
			}
		default:
			if err := c.scalar(rest); err != nil {
				return err
			}
			c.pos++
		}
	}
	c.buf = append(c.buf, ']')
	return nil
}

func (c *Converter) mapping(indent int) error {
	base := len(c.entries)
	start := len(c.buf)
	c.buf = append(c.buf, '{')
	for n := 0; c.pos < len(c.lines); n++ {
		l := c.lines[c.pos]
		if l.indent < indent {
			break
		}
		if l.indent > indent {
			return errFallback
		}
		key, at, ok := splitKey(l.text)
		if !ok {
			return errFallback // a sequence entry or scalar among keys
		}
		if n > 0 {
			c.buf = append(c.buf, ',')
		}
		e := entry{key: key, start: len(c.buf)}
		c.buf = appendJSONString(c.buf, key)
		if len(c.buf)-e.start > maxKeyJSON {
			return errFallback
		}
		c.buf = append(c.buf, ':')
		rest, _ := afterIndicator(l.text, at)
		if rest == "" {
			c.pos++
			if err := c.nested(indent, true); err != nil {
				return err
			}
		} else {
			if err := c.scalar(rest); err != nil {
				return err
			}
			c.pos++
		}
		e.end = len(c.buf)
		c.entries = append(c.entries, e)
	}
	c.buf = append(c.buf, '}')
	err := c.sortEntries(start, c.entries[base:])
	c.entries = c.entries[:base]
	return err
}

// maxKeyJSON bounds keys: go-yaml stops looking for the ":" of a key 1024
// characters on, which matters to sigs.k8s.io/yaml when it reads the JSON
// back.
const maxKeyJSON = 1000

// sortEntries orders the entries of the mapping written at start by key, as
// encoding/json orders map keys. Duplicate keys are left to go-yaml.
func (c *Converter) sortEntries(start int, entries []entry) error {
	sorted := true
	for i := 1; i < len(entries); i++ {
		switch strings.Compare(entries[i-1].key, entries[i].key) {
		case 0:
			return errFallback
		case 1:
			sorted = false
		}
	}
	if sorted {
		return nil
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	for i := 1; i < len(entries); i++ {
		if entries[i-1].key == entries[i].key {
			return errFallback
		}
	}
	c.scratch = append(c.scratch[:0], c.buf[start:]...)
	c.buf = append(c.buf[:start], '{')
	for i, e := range entries {
		if i > 0 {
			c.buf = append(c.buf, ',')
		}
		c.buf = append(c.buf, c.scratch[e.start-start:e.end-start]...)
	}
	c.buf = append(c.buf, '}')
	return nil
}

// splitKey splits "key: value" (or "key:"), returning the key and the
// offset just past the colon. Keys go-yaml would read as something other
// than a string (numbers, booleans, null, the merge key) are refused.
func splitKey(text string) (key string, at int, ok bool) {
	if text == "" {
		return "", 0, false
	}
	switch text[0] {
	case '"', '\'':
		key, n, ok := quoted(text)
		if !ok || n >= len(text) || text[n] != ':' || n+1 < len(text) && text[n+1] != ' ' {
			return "", 0, false
		}
		return key, n + 1, true
	}
	if isIndicator(text[0]) {
		return "", 0, false
	}
	i := strings.Index(text, ": ")
	if i < 0 {
		if !strings.HasSuffix(text, ":") {
			return "", 0, false
		}
		i = len(text) - 1
	}
	key = text[:i]
	if strings.Contains(key, " #") || strings.HasSuffix(key, " ") || key == "<<" {
		return "", 0, false
	}
	if resolve(key).kind != kindString {
		return "", 0, false
	}
	return key, i + 1, true
}

// isIndicator reports characters that cannot start a plain scalar (or
// start one only in cases left to go-yaml).
func isIndicator(b byte) bool {
	return strings.IndexByte("-?:,[]{}#&*!|>'\"%@`", b) >= 0
}

// quoted reads a one-line quoted scalar at the start of text, returning its
// value and the offset after the closing quote. Double-quoted scalars with
// escapes are left to go-yaml.
func quoted(text string) (string, int, bool) {
	q := text[0]
	if q == '"' {
		end := strings.IndexByte(text[1:], '"')
		if end < 0 {
			return "", 0, false
		}
		value := text[1 : 1+end]
		if strings.IndexByte(value, '\\') >= 0 {
			return "", 0, false
		}
		return value, end + 2, true
	}
	var b strings.Builder
	for i := 1; i < len(text); i++ {
		if text[i] != '\'' {
			b.WriteByte(text[i])
			continue
		}
		if i+1 < len(text) && text[i+1] == '\'' {
			b.WriteByte('\'')
			i++
			continue
		}
		return b.String(), i + 1, true
	}
	return "", 0, false
}

// scalar converts the value after a "key: " or "- ".
func (c *Converter) scalar(text string) error {
	switch text[0] {
	case '"', '\'':
		value, n, ok := quoted(text)
		if !ok {
			return errFallback
		}
		if !endsValue(text[n:]) {
			return errFallback
		}
		c.buf = appendJSONString(c.buf, value)
		return nil
	case '{', '[':
		p := flowParser{c: c, text: text}
		if err := p.node(0); err != nil {
			return err
		}
		if !endsValue(text[p.pos:]) {
			return errFallback
		}
		return nil
	case '-':
		if len(text) == 1 || text[1] == ' ' {
			return errFallback
		}
	default:
		if isIndicator(text[0]) {
			return errFallback
		}
	}
	if i := strings.Index(text, " #"); i >= 0 {
		text = strings.TrimRight(text[:i], " ")
	}
	if strings.Contains(text, ": ") || strings.HasSuffix(text, ":") {
		return errFallback
	}
	return c.plainScalar(text)
}

// plainScalar writes an unquoted scalar as go-yaml types it.
func (c *Converter) plainScalar(text string) error {
	r := resolve(text)
	switch r.kind {
	case kindString, kindTimestamp:
		// go-yaml hands timestamps to interface{} targets as their text.
		c.buf = appendJSONString(c.buf, text)
	case kindNull:
		c.buf = append(c.buf, "null"...)
	case kindBool:
		c.buf = strconv.AppendBool(c.buf, r.b)
	case kindInt:
		c.buf = strconv.AppendInt(c.buf, r.i, 10)
	case kindUint:
		c.buf = strconv.AppendUint(c.buf, r.u, 10)
	case kindFloat:
		if math.IsInf(r.f, 0) || math.IsNaN(r.f) {
			return errFallback // encoding/json refuses them; let sigs.k8s.io/yaml say so
		}
		if r.f == 0 && math.Signbit(r.f) {
			// JSON "-0" reads back as the integer 0 when sigs.k8s.io/yaml
			// decodes it, so decoding it directly would differ.
			return errFallback
		}
		data, err := json.Marshal(r.f)
		if err != nil {
			return errFallback
		}
		c.buf = append(c.buf, data...)
	}
	return nil
}

// endsValue reports whether what follows a quoted scalar or a flow
// collection on its line is nothing or a comment.
func endsValue(after string) bool {
	return after == "" || after[0] == ' ' && strings.HasPrefix(strings.TrimLeft(after, " "), "#")
}

// appendJSONString writes printable ASCII s as encoding/json does, which
// escapes HTML characters.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '"':
			esc = `\"`
		case '\\':
			esc = `\\`
		case '<':
			esc = `\u003c`
		case '>':
			esc = `\u003e`
		case '&':
			esc = `\u0026`
		default:
			continue
		}
		dst = append(dst, s[last:i]...)
		dst = append(dst, esc...)
		last = i + 1
	}
	dst = append(dst, s[last:]...)
	return append(dst, '"')
}

// flowParser converts a flow collection written on one line, such as
// "[{name: gw, port: 80}]". It keeps to the unambiguous part of YAML's flow
// syntax: plain scalars without ':', '#' or '?', quoted scalars, ", "
// between entries and ": " after keys. Anything else, such as collections
// continued on the next line, is left to go-yaml.
type flowParser struct {
	c    *Converter
	text string
	pos  int
}

// maxFlowDepth bounds nesting, far below go-yaml's limit.
const maxFlowDepth = 1000

func (p *flowParser) skipSpaces() {
	for p.pos < len(p.text) && p.text[p.pos] == ' ' {
		p.pos++
	}
}

// peek returns the next character, or 0 at the end of the line.
func (p *flowParser) peek() byte {
	if p.pos < len(p.text) {
		return p.text[p.pos]
	}
	return 0
}

func (p *flowParser) node(depth int) error {
	if depth > maxFlowDepth {
		return errFallback
	}
	switch p.peek() {
	case '[':
		return p.sequence(depth)
	case '{':
		return p.mapping(depth)
	case '"', '\'':
		value, n, ok := quoted(p.text[p.pos:])
		if !ok {
			return errFallback
		}
		p.pos += n
		p.c.buf = appendJSONString(p.c.buf, value)
		return nil
	}
	text, ok := p.plain()
	if !ok {
		return errFallback
	}
	return p.c.plainScalar(text)
}

// plain reads a plain scalar, which ends at a flow indicator.
func (p *flowParser) plain() (string, bool) {
	start := p.pos
	for p.pos < len(p.text) && strings.IndexByte(",[]{}", p.text[p.pos]) < 0 {
		if strings.IndexByte(":#?", p.text[p.pos]) >= 0 {
			return "", false
		}
		p.pos++
	}
	text := strings.TrimRight(p.text[start:p.pos], " ")
	if text == "" || isIndicator(text[0]) && !(text[0] == '-' && len(text) > 1 && text[1] != ' ') {
		return "", false
	}
	return text, true
}

// next moves past the ", " between entries, reporting whether another
// entry follows, or past the closing character.
func (p *flowParser) next(closing byte) (more bool, err error) {
	p.skipSpaces()
	switch p.peek() {
	case ',':
		p.pos++
		p.skipSpaces()
		if c := p.peek(); c == closing || c == 0 || c == ',' {
			return false, errFallback // empty entries and trailing commas
		}
		return true, nil
	case closing:
		p.pos++
		return false, nil
	}
	return false, errFallback // the collection goes on on the next line, or worse
}

func (p *flowParser) sequence(depth int) error {
	p.pos++
	p.c.buf = append(p.c.buf, '[')
	p.skipSpaces()
	if p.peek() == ']' {
		p.pos++
		p.c.buf = append(p.c.buf, ']')
		return nil
	}
	for n := 0; ; n++ {
		if n > 0 {
			p.c.buf = append(p.c.buf, ',')
		}
		if err := p.node(depth + 1); err != nil {
			return err
		}
		more, err := p.next(']')
		if err != nil {
			return err
		}
		if !more {
			p.c.buf = append(p.c.buf, ']')
			return nil
		}
	}
}

func (p *flowParser) mapping(depth int) error {
	c := p.c
	p.pos++
	base := len(c.entries)
	start := len(c.buf)
	c.buf = append(c.buf, '{')
	p.skipSpaces()
	if p.peek() == '}' {
		p.pos++
		c.buf = append(c.buf, '}')
		return nil
	}
	for n := 0; ; n++ {
		if n > 0 {
			c.buf = append(c.buf, ',')
		}
		key, ok := p.key()
		if !ok {
			return errFallback
		}
		e := entry{key: key, start: len(c.buf)}
		c.buf = appendJSONString(c.buf, key)
		if len(c.buf)-e.start > maxKeyJSON {
			return errFallback
		}
		c.buf = append(c.buf, ':')
		if err := p.node(depth + 1); err != nil {
			return err
		}
		e.end = len(c.buf)
		c.entries = append(c.entries, e)
		more, err := p.next('}')
		if err != nil {
			return err
		}
		if !more {
			break
		}
	}
	c.buf = append(c.buf, '}')
	err := c.sortEntries(start, c.entries[base:])
	c.entries = c.entries[:base]
	return err
}

// key reads a mapping key and the ": " after it.
func (p *flowParser) key() (string, bool) {
	var key string
	switch p.peek() {
	case '"', '\'':
		value, n, ok := quoted(p.text[p.pos:])
		if !ok {
			return "", false
		}
		key = value
		p.pos += n
	default:
		end := strings.Index(p.text[p.pos:], ": ")
		if end < 0 {
			return "", false
		}
		key = p.text[p.pos : p.pos+end]
		if key == "" || isIndicator(key[0]) || strings.ContainsAny(key, ",[]{}#?:") || strings.HasSuffix(key, " ") ||
			key == "<<" || resolve(key).kind != kindString {
			return "", false
		}
		p.pos += end
	}
	if !strings.HasPrefix(p.text[p.pos:], ": ") {
		return "", false
	}
	p.pos += 2
	p.skipSpaces()
	return key, true
}
