package yamlfast

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// readAll collects what a reader returns until io.EOF or an error.
func readAll(read func() ([]byte, error)) (docs []string, err error) {
	for {
		doc, err := read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return docs, err
		}
		docs = append(docs, string(doc))
	}
}

func compareDocuments(t *testing.T, input string) {
	t.Helper()
	want, wantErr := readAll(utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(input))).Read)
	got, gotErr := readAll(NewDocumentReader([]byte(input)).Read)
	if (wantErr == nil) != (gotErr == nil) || wantErr != nil && wantErr.Error() != gotErr.Error() {
		t.Fatalf("errors differ for %q: YAMLReader %v, DocumentReader %v", input, wantErr, gotErr)
	}
	if strings.Join(want, "\x00") != strings.Join(got, "\x00") || len(want) != len(got) {
		t.Fatalf("documents differ for %q:\nYAMLReader     %q\nDocumentReader %q", input, want, got)
	}
}

var streams = []string{
	"", "\n", "a: 1", "a: 1\n", "a: 1\n---\nb: 2\n", "---\na: 1\n---\nb: 2", "---\n---\n", "--- # c\na: 1\n---   \nb: 2\n",
	"a: 1\r\nb: 2\r\n---\r\nc: 3\r\n", "a\rb\n", "a\r", "---x\na: 1\n", "a: 1\n--- x\n", "a: 1\n---", "a: 1\n---\n",
	"a: 1\n ---\nb: 2\n", "a: 1\n----\n", "\n\n---\n\n", "# c\n---\n# d\n", "a: |\n  x\n  ---\n", strings.Repeat("k", 70000) + ": v\n---\nb: 1\n",
}

func TestDocumentReaderMatchesYAMLReader(t *testing.T) {
	for _, s := range streams {
		compareDocuments(t, s)
	}
}

func FuzzDocumentReader(f *testing.F) {
	for _, s := range streams {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { compareDocuments(t, s) })
}
