package yamlfast

import (
	"slices"
	"unicode"
)

// sortKeys orders mapping entries as go-yaml v2 orders string keys: rune by
// rune, letters before other characters, and runs of digits by their
// numeric value, so "a2" comes before "a10".
func sortKeys[E any](entries []E, key func(E) string) {
	slices.SortFunc(entries, func(a, b E) int {
		ka, kb := key(a), key(b)
		switch {
		case keyLess(ka, kb):
			return -1
		case keyLess(kb, ka):
			return 1
		}
		return 0
	})
}

func keyLess(a, b string) bool {
	if a == b {
		return false
	}
	ar, br := []rune(a), []rune(b)
	for i := 0; i < len(ar) && i < len(br); i++ {
		if ar[i] == br[i] {
			continue
		}
		aLetter, bLetter := unicode.IsLetter(ar[i]), unicode.IsLetter(br[i])
		if aLetter && bLetter {
			return ar[i] < br[i]
		}
		if aLetter || bLetter {
			return bLetter
		}
		// Compare the digit runs starting here by value. A run continuing
		// a number with a non-zero digit before it counts as non-zero, so
		// "1 05" style suffixes do not compare as equal to shorter runs.
		var an, bn int64
		if ar[i] == '0' || br[i] == '0' {
			for j := i - 1; j >= 0 && unicode.IsDigit(ar[j]); j-- {
				if ar[j] != '0' {
					an, bn = 1, 1
					break
				}
			}
		}
		ai, bi := i, i
		for ; ai < len(ar) && unicode.IsDigit(ar[ai]); ai++ {
			an = an*10 + int64(ar[ai]-'0')
		}
		for ; bi < len(br) && unicode.IsDigit(br[bi]); bi++ {
			bn = bn*10 + int64(br[bi]-'0')
		}
		if an != bn {
			return an < bn
		}
		if ai != bi {
			return ai < bi
		}
		return ar[i] < br[i]
	}
	return len(ar) < len(br)
}
