package kong

import (
	"fmt"
	"regexp"
	"strings"
)

// Kong compiles expression regexes with Rust's regex crate: version 1.10.4
// in official Kong 3.9.3 builds and 1.7.1 in builds against Debian's crate.
// Go's RE2 accepts several constructs that one or both refuse (Kong then
// rejects the whole POST /config) or read differently. Each refusal below
// was confirmed on Kong 3.9.3 built with regex 1.7.1:
//
//   - \Q...\E quoting: "unrecognized escape sequence".
//   - \ followed by a digit (\0, \1, \12): Go reads octal, Rust says
//     "backreferences are not supported".
//   - (?<name>...): "unrecognized flag" before regex 1.8; (?P<name>...) works.
//   - escaped punctuation that is not a regex metacharacter (\/ \@ \: \_ ...):
//     "unrecognized escape sequence" before regex 1.8.
//   - \< \> and \b{...}: errors before 1.8, word boundaries from 1.8, while
//     Go reads \< as a literal.
//   - a '{' that does not start a counted repetition (a{ a{x} a{,3}): Go
//     reads it literally, Rust says "repetition quantifier expects a valid
//     decimal" or "unclosed counted repetition".
//   - && -- ~~ inside a character class: set operations in Rust (so [a&&b]
//     is an "empty character class" error), literal characters in Go.

// rustMeta are the characters regex 1.7.1 allows to be escaped
// (regex-syntax 0.6 is_meta_character).
const rustMeta = `\.+*?()|[]{}^$#&-~`

// KongRegex prepares a regular expression for Kong's router: it checks the
// pattern with Go's parser and refuses what Kong's Rust regex refuses or
// reads differently, naming the construct. Escaped punctuation that only
// old Rust versions refuse (such as \/) is rewritten to the equivalent
// \x{HH} escape, which every version and Go read the same way.
func KongRegex(re string) (string, error) {
	return scanRegex(re, true)
}

// CheckKongRegex reports why Kong would refuse a regex as written (no
// rewriting), or nil.
func CheckKongRegex(re string) error {
	_, err := scanRegex(re, false)
	return err
}

func scanRegex(re string, rewrite bool) (string, error) {
	if _, err := regexp.Compile(re); err != nil {
		return "", fmt.Errorf("%v", err)
	}
	var b strings.Builder
	inClass := false
	for i := 0; i < len(re); i++ {
		c := re[i]
		switch {
		case c == '\\' && i+1 < len(re):
			n := re[i+1]
			switch {
			case n == 'Q' || n == 'E':
				return "", fmt.Errorf(`\Q...\E quoting is not supported by Kong's regex engine; escape each metacharacter with \ instead`)
			case n >= '0' && n <= '9':
				return "", fmt.Errorf(`\%c is read as a backreference by Kong's regex engine, which does not support them; write the character as \x{HH}`, n)
			case n == '<' || n == '>':
				return "", fmt.Errorf(`\%c is a word boundary in Kong's regex engine (an error in older versions) but a literal in others; write [%c] for the character`, n, n)
			case (n == 'b' || n == 'B') && i+2 < len(re) && re[i+2] == '{' && !inClass:
				return "", fmt.Errorf(`\%c{...} word-boundary assertions are not supported by every Kong version; use \%c alone`, n, n)
			case n < 0x80 && !isAlnum(n) && !strings.ContainsRune(rustMeta, rune(n)):
				if !rewrite {
					return "", fmt.Errorf(`escaping %q is refused by Kong's regex engine (only metacharacters may be escaped); write %q alone or \x{%02X}`, "\\"+string(n), string(n), n)
				}
				fmt.Fprintf(&b, `\x{%02X}`, n)
				i++
				continue
			}
			b.WriteByte(c)
			b.WriteByte(n)
			i++
			if n == 'p' || n == 'P' || n == 'x' {
				// \p{Greek}, \x{2F}: copy the braces, they are no repetition.
				if i+1 < len(re) && re[i+1] == '{' {
					j := strings.IndexByte(re[i+1:], '}')
					if j >= 0 {
						b.WriteString(re[i+1 : i+2+j])
						i += j + 1
					}
				}
			}
			continue
		case inClass:
			if strings.HasPrefix(re[i:], "[:") {
				// POSIX class [:alpha:]: copy it whole.
				if j := strings.Index(re[i:], ":]"); j > 0 {
					b.WriteString(re[i : i+j+2])
					i += j + 1
					continue
				}
			}
			if c == '[' {
				return "", fmt.Errorf("'[' inside a character class opens a nested class in Kong's regex engine but is a literal in others; escape it as \\[")
			}
			if c == ']' {
				inClass = false
			} else if i+1 < len(re) && (c == '&' || c == '-' || c == '~') && re[i+1] == c {
				return "", fmt.Errorf("%q inside a character class is a set operation in Kong's regex engine but literal characters in others; escape the characters (\\%c)", re[i:i+2], c)
			}
		case c == '[':
			inClass = true
			// A leading ']' or '^]' is a literal, not the end.
			b.WriteByte(c)
			if i+1 < len(re) && re[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			if i+1 < len(re) && re[i+1] == ']' {
				b.WriteByte(']')
				i++
			}
			continue
		case c == '(' && strings.HasPrefix(re[i:], "(?<") && !strings.HasPrefix(re[i:], "(?<=") && !strings.HasPrefix(re[i:], "(?<!"):
			return "", fmt.Errorf("named group syntax (?<name>...) is refused by Kong 3.9 builds with an older regex engine; write (?P<name>...)")
		case c == '{':
			if !countedRepetitionRE.MatchString(re[i:]) {
				return "", fmt.Errorf("%q at offset %d is not a counted repetition {n}, {n,} or {n,m}; Kong's regex engine refuses it, so escape a literal brace as \\{", "{", i)
			}
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

var countedRepetitionRE = regexp.MustCompile(`^\{[0-9]+(,[0-9]*)?\}`)

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
