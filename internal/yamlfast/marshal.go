package yamlfast

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	sigsyaml "sigs.k8s.io/yaml"
)

// Marshal renders v exactly as sigs.k8s.io/yaml.Marshal does.
func Marshal(v any) ([]byte, error) {
	var b Buffer
	if err := b.Marshal(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Buffer collects YAML documents. It holds them in chunks, so a document of
// many megabytes is not copied again and again as it grows.
type Buffer struct {
	done [][]byte // filled chunks
	out  []byte   // the chunk being filled
}

// chunkSize is how full a chunk gets before the next one starts.
const chunkSize = 1 << 20

// Marshal appends the YAML of v, as sigs.k8s.io/yaml.Marshal renders it.
// Values it does not render itself are handed to sigs.k8s.io/yaml, so the
// bytes (and errors) are always that function's; on error nothing is
// appended.
func (b *Buffer) Marshal(v any) error {
	m := newMarshaler(b.out, b.done)
	err := m.node(reflect.ValueOf(v), position{}, 0)
	if err == nil {
		m.writeIndent() // end the document's last line
		b.out, b.done = m.out, m.done
		return nil
	}
	// The failed attempt wrote past b's lengths only, so b is as it was.
	data, err := sigsyaml.Marshal(v)
	if err != nil {
		return err
	}
	b.out = append(b.out, data...)
	return nil
}

// WriteString appends s, such as a document separator.
func (b *Buffer) WriteString(s string) {
	b.out = append(b.out, s...)
}

// Len is the number of bytes collected.
func (b *Buffer) Len() int {
	n := len(b.out)
	for _, c := range b.done {
		n += len(c)
	}
	return n
}

// Bytes returns everything collected in one slice.
func (b *Buffer) Bytes() []byte {
	all := make([]byte, 0, b.Len())
	for _, c := range b.done {
		all = append(all, c...)
	}
	return append(all, b.out...)
}

// WriteTo writes everything collected to w.
func (b *Buffer) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for _, c := range b.done {
		n, err := w.Write(c)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
	n, err := w.Write(b.out)
	return total + int64(n), err
}

// directMarshal renders v without sigs.k8s.io/yaml, or fails with
// errFallback. Tests use it to check which values take the direct path.
func directMarshal(v any) ([]byte, error) {
	m := newMarshaler(nil, nil)
	if err := m.node(reflect.ValueOf(v), position{}, 0); err != nil {
		return nil, err
	}
	m.writeIndent()
	return (&Buffer{done: m.done, out: m.out}).Bytes(), nil
}

// errFallback means a value needs sigs.k8s.io/yaml's own rendering.
var errFallback = errors.New("yamlfast: handled by sigs.k8s.io/yaml")

// maxDepth bounds recursion; encoding/json reports cycles, go-yaml deep
// nesting, so deep values are left to them.
const maxDepth = 200

// position is where a node sits, which decides how go-yaml lays it out.
type position struct {
	mappingValue bool // the value of a mapping key
	key          bool // a mapping key
}

// marshaler walks a Go value the way encoding/json sees it (field names
// from json tags, omitempty, base64 for []byte...) and writes what go-yaml
// v2 makes of that JSON.
type marshaler struct {
	*emitter
	structs map[reflect.Type]*structFields
	ownJSON map[reflect.Type]bool // see hasOwnJSON
}

func newMarshaler(out []byte, done [][]byte) *marshaler {
	return &marshaler{emitter: newEmitter(out, done), structs: map[reflect.Type]*structFields{}, ownJSON: map[reflect.Type]bool{}}
}

var (
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	jsonNumberType    = reflect.TypeFor[json.Number]()
)

func (m *marshaler) node(v reflect.Value, pos position, depth int) error {
	if depth > maxDepth {
		return errFallback
	}
	if !v.IsValid() {
		m.plainWord("null")
		return nil
	}
	t := v.Type()
	if t == jsonNumberType {
		// encoding/json writes the number as it is, after checking it ("" is 0).
		data, err := json.Marshal(json.Number(v.String()))
		if err != nil {
			return errFallback
		}
		return m.number(string(data))
	}
	if m.hasOwnJSON(t) {
		return m.viaJSON(v, pos, depth)
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			m.plainWord("null")
			return nil
		}
		return m.node(v.Elem(), pos, depth+1)
	case reflect.Struct:
		return m.structValue(v, pos, depth)
	case reflect.Map:
		if v.IsNil() {
			m.plainWord("null")
			return nil
		}
		if t.Key().Kind() != reflect.String || m.hasOwnJSON(t.Key()) {
			return m.viaJSON(v, pos, depth)
		}
		return m.mapValue(v, pos, depth)
	case reflect.Slice:
		if v.IsNil() {
			m.plainWord("null")
			return nil
		}
		if t.Elem().Kind() == reflect.Uint8 {
			return m.viaJSON(v, pos, depth) // base64, unless the bytes have JSON methods
		}
		return m.sequence(v, pos, depth)
	case reflect.Array:
		return m.sequence(v, pos, depth)
	case reflect.String:
		return m.stringScalar(v.String(), pos)
	case reflect.Bool:
		if v.Bool() {
			m.plainWord("true")
		} else {
			m.plainWord("false")
		}
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		m.plainWord(strconv.FormatInt(v.Int(), 10))
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		m.plainWord(strconv.FormatUint(v.Uint(), 10))
		return nil
	case reflect.Float32, reflect.Float64:
		data, err := json.Marshal(v.Interface())
		if err != nil {
			return errFallback // NaN and infinities: sigs.k8s.io/yaml reports them
		}
		return m.number(string(data))
	}
	return errFallback // channels, functions, complex numbers: encoding/json refuses them
}

// hasOwnJSON reports types that encode themselves (MarshalJSON, MarshalText).
func (m *marshaler) hasOwnJSON(t reflect.Type) bool {
	if t.Kind() == reflect.Interface {
		return false
	}
	own, ok := m.ownJSON[t]
	if !ok {
		own = t.Implements(jsonMarshalerType) || t.Implements(textMarshalerType) ||
			reflect.PointerTo(t).Implements(jsonMarshalerType) || reflect.PointerTo(t).Implements(textMarshalerType)
		m.ownJSON[t] = own
	}
	return own
}

// viaJSON renders a value through encoding/json itself, for the types this
// walker does not mirror. encoding/json calls pointer-receiver methods only
// on addressable values, so the value is passed the same way.
func (m *marshaler) viaJSON(v reflect.Value, pos position, depth int) error {
	x := v.Interface()
	if v.CanAddr() {
		x = v.Addr().Interface()
	}
	data, err := json.Marshal(x)
	if err != nil {
		return errFallback
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return errFallback
	}
	return m.node(reflect.ValueOf(generic), pos, depth+1)
}

// number writes a number as encoding/json wrote it the way go-yaml v2 reads
// it back: integers stay as written, other numbers are reformatted as
// float64.
func (m *marshaler) number(text string) error {
	r := resolve(text)
	switch r.kind {
	case kindInt:
		m.plainWord(strconv.FormatInt(r.i, 10))
	case kindUint:
		m.plainWord(strconv.FormatUint(r.u, 10))
	case kindFloat:
		m.plainWord(formatFloat(r.f))
	case kindString: // out of float64's range: go-yaml keeps the text
		return m.stringScalar(text, position{})
	default:
		return errFallback
	}
	return nil
}

func formatFloat(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	switch s {
	case "+Inf":
		return ".inf"
	case "-Inf":
		return "-.inf"
	case "NaN":
		return ".nan"
	}
	return s
}

// checkString reports whether s survives the JSON round trip unchanged and
// only holds characters the emitter handles. encoding/json replaces invalid
// UTF-8; go-yaml refuses DEL, C1 controls and U+FFFE/U+FFFF when it reads
// the JSON back, and folds a raw NEL into a space; U+2028 and U+2029 are line
// breaks go-yaml writes raw in some styles. sigs.k8s.io/yaml handles all
// those.
func checkString(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c == 0x7F {
				return false
			}
			i++
			continue
		}
		r, width := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && width == 1 || r <= 0x9F || r == 0x2028 || r == 0x2029 || r == 0xFFFE || r == 0xFFFF {
			return false
		}
		i += width
	}
	return true
}

func (m *marshaler) stringScalar(s string, pos position) error {
	a, word := analyzeWord(s) // such words need no further checks
	if !word {
		if !checkString(s) {
			return errFallback
		}
		a = analyzeChars(s)
	}
	if pos.key && (len(s) > maxSimpleKey || a.multiline) {
		return errFallback // written as "? key", which this emitter does not do
	}
	m.str(s, a, pos.key)
	return nil
}

// key writes a mapping key and its ":".
func (m *marshaler) key(k string) error {
	m.writeIndent()
	if err := m.stringScalar(k, position{key: true}); err != nil {
		return err
	}
	m.indicator(":", false, false, false)
	return nil
}

func (m *marshaler) sequence(v reflect.Value, pos position, depth int) error {
	n := v.Len()
	if n == 0 {
		m.emptyCollection("[", "]")
		return nil
	}
	saved := m.enterBlock(pos.mappingValue && !m.indention)
	for i := 0; i < n; i++ {
		m.writeIndent()
		m.indicator("-", true, false, true)
		if err := m.node(v.Index(i), position{}, depth+1); err != nil {
			return err
		}
	}
	m.indent = saved
	return nil
}

func (m *marshaler) mapValue(v reflect.Value, pos position, depth int) error {
	if v.Len() == 0 {
		m.emptyCollection("{", "}")
		return nil
	}
	type entry struct {
		key   string
		value reflect.Value
	}
	entries := make([]entry, 0, v.Len())
	for it := v.MapRange(); it.Next(); {
		entries = append(entries, entry{it.Key().String(), it.Value()})
	}
	sortKeys(entries, func(e entry) string { return e.key })
	saved := m.enterBlock(false)
	for _, e := range entries {
		if err := m.key(e.key); err != nil {
			return err
		}
		if err := m.node(e.value, position{mappingValue: true}, depth+1); err != nil {
			return err
		}
	}
	m.indent = saved
	return nil
}

// structFields are the JSON fields of a struct type in go-yaml's key order.
type structFields struct {
	fields []jsonField
	// unsupported marks structs whose JSON this walker does not mirror
	// (embedded structs, tag options other than omitempty, clashing names).
	unsupported bool
}

type jsonField struct {
	name      string
	index     int
	omitEmpty bool
}

func (m *marshaler) fieldsOf(t reflect.Type) *structFields {
	if sf, ok := m.structs[t]; ok {
		return sf
	}
	sf := &structFields{}
	seen := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous {
			sf.unsupported = true
			break
		}
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if !validTagName(name) {
			name = f.Name
		}
		field := jsonField{name: name, index: i}
		for opt := range strings.SplitSeq(opts, ",") {
			switch opt {
			case "":
			case "omitempty":
				field.omitEmpty = true
			default: // ",string", ",omitzero" and the like: encoding/json renders these
				sf.unsupported = true
			}
		}
		if seen[name] {
			sf.unsupported = true
		}
		seen[name] = true
		sf.fields = append(sf.fields, field)
	}
	sortKeys(sf.fields, func(f jsonField) string { return f.name })
	m.structs[t] = sf
	return sf
}

// validTagName mirrors encoding/json: an invalid name in a json tag is
// ignored in favour of the field name.
func validTagName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

// isEmptyJSON is encoding/json's omitempty test.
func isEmptyJSON(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

func (m *marshaler) structValue(v reflect.Value, pos position, depth int) error {
	sf := m.fieldsOf(v.Type())
	if sf.unsupported {
		return m.viaJSON(v, pos, depth)
	}
	present := func(f jsonField) bool { return !f.omitEmpty || !isEmptyJSON(v.Field(f.index)) }
	empty := true
	for _, f := range sf.fields {
		if present(f) {
			empty = false
			break
		}
	}
	if empty {
		m.emptyCollection("{", "}")
		return nil
	}
	saved := m.enterBlock(false)
	for _, f := range sf.fields {
		if !present(f) {
			continue
		}
		if err := m.key(f.name); err != nil {
			return err
		}
		if err := m.node(v.Field(f.index), position{mappingValue: true}, depth+1); err != nil {
			return err
		}
	}
	m.indent = saved
	return nil
}
