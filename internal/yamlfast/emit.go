package yamlfast

import (
	"strings"
	"unicode/utf8"
)

// go-yaml v2's emitter settings that sigs.k8s.io/yaml leaves at their
// defaults.
const (
	indentStep   = 2   // spaces per nesting level
	foldColumn   = 80  // long scalars are folded at the first space past this column
	maxSimpleKey = 128 // longer keys need the explicit "? key" form
)

// emitter writes block-style YAML with go-yaml v2's layout. It tracks the
// same few facts go-yaml's emitter decides line breaks and spaces by: the
// column, the indentation of the block being written, whether the last
// character was whitespace and whether the line holds only indentation.
type emitter struct {
	out        []byte
	done       [][]byte // chunks filled before out
	column     int      // characters (not bytes) since the last line break
	indent     int      // indentation of the current block, -1 outside any
	whitespace bool     // the last character written was a space or a line break
	indention  bool     // the current line holds only indentation (and "- " indicators)
}

func newEmitter(out []byte, done [][]byte) *emitter {
	return &emitter{out: out, done: done, indent: -1, whitespace: true, indention: true}
}

func (e *emitter) lineBreak() {
	e.out = append(e.out, '\n')
	e.column = 0
}

// writeIndent moves to the start of a line indented for the current block:
// it breaks the line unless only indentation has been written so far.
func (e *emitter) writeIndent() {
	// Every key and item starts here, which makes it the place to start a
	// new chunk once the current one is full.
	if len(e.out) >= chunkSize {
		e.done = append(e.done, e.out)
		e.out = make([]byte, 0, chunkSize+chunkSize/4)
	}
	indent := max(e.indent, 0)
	if !e.indention || e.column > indent || (e.column == indent && !e.whitespace) {
		e.lineBreak()
	}
	for e.column < indent {
		e.out = append(e.out, ' ')
		e.column++
	}
	e.whitespace = true
	e.indention = true
}

// indicator writes one of YAML's ASCII indicators ("-", ":", "{", "|2-"...),
// preceded by a space if needed.
func (e *emitter) indicator(s string, needWhitespace, isWhitespace, isIndention bool) {
	if needWhitespace && !e.whitespace {
		e.out = append(e.out, ' ')
		e.column++
	}
	e.out = append(e.out, s...)
	e.column += len(s)
	e.whitespace = isWhitespace
	e.indention = e.indention && isIndention
}

// enterBlock starts a block mapping or sequence and returns the indentation
// to restore when it ends. A sequence that is a mapping value is not
// indented further than its key.
func (e *emitter) enterBlock(indentless bool) int {
	saved := e.indent
	switch {
	case e.indent < 0:
		e.indent = 0
	case !indentless:
		e.indent += indentStep
	}
	return saved
}

// emptyCollection writes "{}" or "[]".
func (e *emitter) emptyCollection(open, closing string) {
	e.indicator(open, true, true, false)
	e.indicator(closing, false, false, false)
}

// plainWord writes a scalar that needs no quoting and has no spaces:
// numbers, booleans and null.
func (e *emitter) plainWord(s string) {
	if !e.whitespace {
		e.out = append(e.out, ' ')
		e.column++
	}
	e.out = append(e.out, s...)
	e.column += len(s)
	e.whitespace = false
	e.indention = false
}

// scalarStyle is how a string scalar is written.
type scalarStyle int

const (
	stylePlain scalarStyle = iota
	styleSingleQuoted
	styleDoubleQuoted
	styleLiteral
)

// analysis is what go-yaml v2's emitter learns about a scalar's characters
// before choosing how to write it (flow contexts never occur here: empty
// collections are the only flow nodes written).
type analysis struct {
	multiline bool // has line breaks
	plainOK   bool // may be written unquoted
	singleOK  bool // may be single-quoted
	blockOK   bool // may be written as a literal block
}

// printable is go-yaml v2's set of characters written as they are: line
// feed, printable ASCII and the Basic Multilingual Plane minus controls,
// surrogates and the byte order mark. Characters beyond the BMP are escaped.
func printable(r rune) bool {
	return r == '\n' || r >= 0x20 && r <= 0x7E || r >= 0xA0 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD && r != 0xFEFF
}

// isBreak reports go-yaml's line break characters. Of these only '\n' and
// '\r' reach the emitter (strings with NEL, LS or PS are handed to
// sigs.k8s.io/yaml, see checkString), and '\r', not being printable, is
// always escaped in double quotes.
func isBreak(r rune) bool {
	return r == '\n' || r == '\r' || r == 0x85 || r == 0x2028 || r == 0x2029
}

// analyzeChars goes through s character by character as go-yaml does.
func analyzeChars(s string) analysis {
	if s == "" {
		return analysis{plainOK: true, singleOK: true}
	}
	var (
		indicators, lineBreaks, special                          bool
		leadingSpace, leadingBreak, trailingSpace, trailingBreak bool
		breakSpace, spaceBreak, previousSpace, previousBreak     bool
		precededByWhitespace                                     = true
	)
	if strings.HasPrefix(s, "---") || strings.HasPrefix(s, "...") {
		indicators = true
	}
	for i := 0; i < len(s); {
		r, width := utf8.DecodeRuneInString(s[i:])
		next := i + width
		followedByWhitespace := next >= len(s) || s[next] == ' ' || s[next] == '\t'
		if i == 0 {
			switch r {
			case '#', ',', '[', ']', '{', '}', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
				indicators = true
			case '?', ':', '-':
				if followedByWhitespace {
					indicators = true
				}
			}
		} else {
			switch r {
			case ':':
				if followedByWhitespace {
					indicators = true
				}
			case '#':
				if precededByWhitespace {
					indicators = true
				}
			}
		}
		if !printable(r) {
			special = true
		}
		switch {
		case r == ' ':
			leadingSpace = leadingSpace || i == 0
			trailingSpace = next == len(s)
			breakSpace = breakSpace || previousBreak
			previousSpace, previousBreak = true, false
		case isBreak(r):
			lineBreaks = true
			leadingBreak = leadingBreak || i == 0
			trailingBreak = next == len(s)
			spaceBreak = spaceBreak || previousSpace
			previousSpace, previousBreak = false, true
		default:
			previousSpace, previousBreak = false, false
		}
		precededByWhitespace = r == ' ' || r == '\t' || r == 0 || isBreak(r)
		i = next
	}
	a := analysis{multiline: lineBreaks, plainOK: true, singleOK: true, blockOK: true}
	if leadingSpace || leadingBreak || trailingSpace || trailingBreak || lineBreaks || indicators {
		a.plainOK = false
	}
	if trailingSpace {
		a.blockOK = false
	}
	if breakSpace {
		a.plainOK, a.singleOK = false, false
	}
	if spaceBreak || special {
		a.plainOK, a.singleOK, a.blockOK = false, false, false
	}
	return a
}

// analyzeWord is analyze for the most common strings, printable ASCII
// without spaces (names, tags, hosts): only a leading indicator, a document
// marker or a final ':' rules out plain style for them.
func analyzeWord(s string) (analysis, bool) {
	if s == "" {
		return analysis{}, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7F {
			return analysis{}, false
		}
	}
	plain := true
	switch s[0] {
	case '#', ',', '[', ']', '{', '}', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
		plain = false
	case '?', ':', '-':
		plain = len(s) > 1
	}
	if s[len(s)-1] == ':' || strings.HasPrefix(s, "---") || strings.HasPrefix(s, "...") {
		plain = false
	}
	return analysis{plainOK: plain, singleOK: true, blockOK: true}, true
}

// chooseStyle picks the style go-yaml v2 ends up with for a string: it asks
// for a literal block when the string has a line feed, plain style when the
// string would read back as a string, double quotes otherwise; the
// emitter then falls back to quoting when the characters forbid the style
// asked for. Keys are never folded or written as blocks.
func chooseStyle(s string, a analysis, key bool) scalarStyle {
	var style scalarStyle
	switch {
	case strings.IndexByte(s, '\n') >= 0:
		style = styleLiteral
	case resolve(s).kind == kindString && !isBase60Float(s):
		style = stylePlain
	default:
		style = styleDoubleQuoted
	}
	if key && a.multiline {
		style = styleDoubleQuoted
	}
	if style == stylePlain && (!a.plainOK || s == "" && key) {
		style = styleSingleQuoted
	}
	if style == styleSingleQuoted && !a.singleOK {
		style = styleDoubleQuoted
	}
	if style == styleLiteral && (!a.blockOK || key) {
		style = styleDoubleQuoted
	}
	return style
}

// str writes a string scalar. Its continuation lines (folds and literal
// lines) are indented one step deeper than the enclosing block.
func (e *emitter) str(s string, a analysis, key bool) {
	style := chooseStyle(s, a, key)
	saved := e.indent
	if e.indent < 0 {
		e.indent = indentStep
	} else {
		e.indent += indentStep
	}
	switch style {
	case stylePlain:
		e.plain(s, !key)
	case styleSingleQuoted:
		e.singleQuoted(s, !key)
	case styleDoubleQuoted:
		e.doubleQuoted(s, !key)
	case styleLiteral:
		e.literal(s)
	}
	e.indent = saved
}

func (e *emitter) writeRune(r rune) {
	e.out = utf8.AppendRune(e.out, r)
	e.column++
}

// plain writes s unquoted, folding at a single space once past the fold
// column. Plain scalars never contain line breaks or end in a space.
func (e *emitter) plain(s string, fold bool) {
	if !e.whitespace {
		e.out = append(e.out, ' ')
		e.column++
	}
	if !fold || e.column+len(s) <= foldColumn || strings.IndexByte(s, ' ') < 0 {
		e.out = append(e.out, s...)
		e.column += utf8.RuneCountInString(s)
	} else {
		spaces := false
		for i, r := range s {
			if r == ' ' {
				if !spaces && e.column > foldColumn && s[i+1] != ' ' {
					e.writeIndent()
				} else {
					e.writeRune(r)
				}
				spaces = true
				continue
			}
			e.writeRune(r)
			e.indention = false
			spaces = false
		}
	}
	e.whitespace = false
	e.indention = false
}

// singleQuoted writes s in single quotes, doubling the quotes in it. Strings
// with line breaks are never single-quoted.
func (e *emitter) singleQuoted(s string, fold bool) {
	e.indicator("'", true, false, false)
	spaces := false
	for i, r := range s {
		if r == ' ' {
			if fold && !spaces && e.column > foldColumn && i > 0 && i < len(s)-1 && s[i+1] != ' ' {
				e.writeIndent()
			} else {
				e.writeRune(r)
			}
			spaces = true
			continue
		}
		if r == '\'' {
			e.out = append(e.out, '\'')
			e.column++
		}
		e.writeRune(r)
		e.indention = false
		spaces = false
	}
	e.indicator("'", false, false, false)
	e.whitespace = false
	e.indention = false
}

// escapeLetters are the one-letter escapes of YAML double-quoted scalars.
var escapeLetters = map[rune]byte{
	0x00: '0', 0x07: 'a', 0x08: 'b', 0x09: 't', 0x0A: 'n', 0x0B: 'v', 0x0C: 'f', 0x0D: 'r',
	0x1B: 'e', '"': '"', '\\': '\\', 0x85: 'N', 0xA0: '_', 0x2028: 'L', 0x2029: 'P',
}

// doubleQuoted writes s in double quotes with escapes. As in go-yaml v2, a
// string that starts with a byte order mark has every character escaped.
func (e *emitter) doubleQuoted(s string, fold bool) {
	e.indicator(`"`, true, false, false)
	escapeAll := strings.HasPrefix(s, "\uFEFF")
	spaces := false
	for i, r := range s {
		switch {
		case escapeAll || !printable(r) || isBreak(r) || r == '"' || r == '\\':
			e.escape(r)
			spaces = false
		case r == ' ':
			if fold && !spaces && e.column > foldColumn && i > 0 && i < len(s)-1 {
				e.writeIndent()
				if s[i+1] == ' ' {
					e.out = append(e.out, '\\')
					e.column++
				}
			} else {
				e.writeRune(r)
			}
			spaces = true
		default:
			e.writeRune(r)
			spaces = false
		}
	}
	e.indicator(`"`, false, false, false)
	e.whitespace = false
	e.indention = false
}

func (e *emitter) escape(r rune) {
	const hex = "0123456789ABCDEF"
	e.out = append(e.out, '\\')
	e.column++
	if c, ok := escapeLetters[r]; ok {
		e.out = append(e.out, c)
		e.column++
		return
	}
	var digits int
	switch {
	case r <= 0xFF:
		e.out, digits = append(e.out, 'x'), 2
	case r <= 0xFFFF:
		e.out, digits = append(e.out, 'u'), 4
	default:
		e.out, digits = append(e.out, 'U'), 8
	}
	e.column++
	for shift := (digits - 1) * 4; shift >= 0; shift -= 4 {
		e.out = append(e.out, hex[(r>>uint(shift))&0xF])
		e.column++
	}
}

// literal writes s as a "|" block scalar: an indentation indicator when s
// starts with a space or a line break, a chomping indicator ("-" without a
// final line break, "+" with more than one), then the lines.
func (e *emitter) literal(s string) {
	e.indicator("|", true, false, false)
	if s[0] == ' ' || s[0] == '\n' {
		e.indicator(string(rune('0'+indentStep)), false, false, false)
	}
	switch {
	case !strings.HasSuffix(s, "\n"):
		e.indicator("-", false, false, false)
	case len(s) == 1 || s[len(s)-2] == '\n':
		e.indicator("+", false, false, false)
	}
	e.lineBreak()
	e.indention = true
	e.whitespace = true
	breaks := true
	for _, r := range s {
		if r == '\n' {
			e.lineBreak()
			e.indention = true
			breaks = true
			continue
		}
		if breaks {
			e.writeIndent()
		}
		e.writeRune(r)
		e.indention = false
		breaks = false
	}
}
