package yamlfast

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// scalarKind is what go-yaml v2 makes of an unquoted scalar.
type scalarKind int

const (
	kindString scalarKind = iota
	kindNull
	kindBool
	kindInt   // fits int64
	kindUint  // above int64, fits uint64
	kindFloat // includes .inf and .nan
	kindTimestamp
)

// resolved is an unquoted scalar with the type go-yaml v2 gives it.
type resolved struct {
	kind scalarKind
	b    bool
	i    int64
	u    uint64
	f    float64
}

// yaml11Words are the unquoted words YAML 1.1 (go-yaml v2) reads as
// booleans, null or special floats rather than strings.
var yaml11Words = map[string]resolved{
	"y": {kind: kindBool, b: true}, "Y": {kind: kindBool, b: true},
	"yes": {kind: kindBool, b: true}, "Yes": {kind: kindBool, b: true}, "YES": {kind: kindBool, b: true},
	"true": {kind: kindBool, b: true}, "True": {kind: kindBool, b: true}, "TRUE": {kind: kindBool, b: true},
	"on": {kind: kindBool, b: true}, "On": {kind: kindBool, b: true}, "ON": {kind: kindBool, b: true},
	"n": {kind: kindBool}, "N": {kind: kindBool},
	"no": {kind: kindBool}, "No": {kind: kindBool}, "NO": {kind: kindBool},
	"false": {kind: kindBool}, "False": {kind: kindBool}, "FALSE": {kind: kindBool},
	"off": {kind: kindBool}, "Off": {kind: kindBool}, "OFF": {kind: kindBool},
	"": {kind: kindNull}, "~": {kind: kindNull}, "null": {kind: kindNull}, "Null": {kind: kindNull}, "NULL": {kind: kindNull},
	".nan": {kind: kindFloat, f: math.NaN()}, ".NaN": {kind: kindFloat, f: math.NaN()}, ".NAN": {kind: kindFloat, f: math.NaN()},
	".inf": {kind: kindFloat, f: math.Inf(1)}, ".Inf": {kind: kindFloat, f: math.Inf(1)}, ".INF": {kind: kindFloat, f: math.Inf(1)},
	"+.inf": {kind: kindFloat, f: math.Inf(1)}, "+.Inf": {kind: kindFloat, f: math.Inf(1)}, "+.INF": {kind: kindFloat, f: math.Inf(1)},
	"-.inf": {kind: kindFloat, f: math.Inf(-1)}, "-.Inf": {kind: kindFloat, f: math.Inf(-1)}, "-.INF": {kind: kindFloat, f: math.Inf(-1)},
}

// yamlFloat is the float syntax go-yaml v2 accepts for scalars that start
// with a digit or a sign.
var yamlFloat = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)

// base60Float is YAML 1.1's sexagesimal float (1:20:30.5). go-yaml v2 does
// not read it as a number but quotes such strings on output.
var base60Float = regexp.MustCompile(`^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`)

// resolve types an unquoted scalar the way go-yaml v2 does. The first byte
// decides which rules can apply, so most strings are settled at once.
func resolve(s string) resolved {
	if s == "" {
		return resolved{kind: kindNull}
	}
	switch c := s[0]; {
	case c == 'y' || c == 'Y' || c == 'n' || c == 'N' || c == 't' || c == 'T' ||
		c == 'f' || c == 'F' || c == 'o' || c == 'O' || c == '~':
		if r, ok := yaml11Words[s]; ok {
			return r
		}
	case c == '.':
		if r, ok := yaml11Words[s]; ok {
			return r
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return resolved{kind: kindFloat, f: f}
		}
	case c == '+' || c == '-' || c >= '0' && c <= '9':
		if r, ok := yaml11Words[s]; ok {
			return r
		}
		if isTimestamp(s) {
			return resolved{kind: kindTimestamp}
		}
		if !numeric(s) {
			break // an IP address, a host:port...: strconv would only fail
		}
		plain := strings.ReplaceAll(s, "_", "")
		if i, err := strconv.ParseInt(plain, 0, 64); err == nil {
			return resolved{kind: kindInt, i: i}
		}
		if u, err := strconv.ParseUint(plain, 0, 64); err == nil {
			return resolved{kind: kindUint, u: u}
		}
		if yamlFloat.MatchString(plain) {
			if f, err := strconv.ParseFloat(plain, 64); err == nil {
				return resolved{kind: kindFloat, f: f}
			}
		}
		// go-yaml v2 retries "0b" and "-0b" prefixes in base 2, which
		// strconv's base 0 above has already covered.
	}
	return resolved{kind: kindString}
}

// numeric reports whether s has only characters that can occur in the
// integers (any base, with prefixes and underscores) and floats resolve
// accepts, with at most one '.'.
func numeric(s string) bool {
	dots := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c == '+', c == '-':
		case c == '.':
			dots++
		default:
			return false
		}
	}
	return dots <= 1
}

// timestampLayouts are the timestamp forms go-yaml v2 recognises.
var timestampLayouts = []string{
	"2006-1-2T15:4:5.999999999Z07:00",
	"2006-1-2t15:4:5.999999999Z07:00",
	"2006-1-2 15:4:5.999999999",
	"2006-1-2",
}

func isTimestamp(s string) bool {
	if len(s) < 5 || s[4] != '-' {
		return false
	}
	for i := 0; i < 4; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	for _, layout := range timestampLayouts {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}

// isBase60Float reports whether go-yaml v2 would quote s as a sexagesimal
// number.
func isBase60Float(s string) bool {
	if s == "" {
		return false
	}
	if c := s[0]; !(c == '+' || c == '-' || c >= '0' && c <= '9') || !strings.Contains(s, ":") {
		return false
	}
	return base60Float.MatchString(s)
}
