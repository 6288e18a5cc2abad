package assertcheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// assertionStarts are the Gomega calls that only describe an assertion; a
// matcher method (To, Should, ...) must be called on what they return.
var assertionStarts = map[string]bool{
	"Expect": true, "ExpectWithOffset": true, "Ω": true,
	"Eventually": true, "EventuallyWithOffset": true, "Consistently": true, "ConsistentlyWithOffset": true,
}

// unfinishedAssertions lists, as file:line, every statement in src that is
// an assertion start (possibly with WithTimeout and friends chained on it)
// and never reaches a matcher.
func unfinishedAssertions(fset *token.FileSet, file *ast.File) []string {
	var found []string
	ast.Inspect(file, func(n ast.Node) bool {
		stmt, ok := n.(*ast.ExprStmt)
		if !ok {
			return true
		}
		call, ok := stmt.X.(*ast.CallExpr)
		if !ok {
			return true
		}
		if name := calledName(call); assertionStarts[name] || isConfigurationOnly(call) {
			found = append(found, fset.Position(stmt.Pos()).String())
		}
		return true
	})
	return found
}

// calledName is the function or method name a call ends in: Expect for
// Expect(x) and g.Expect(x).
func calledName(call *ast.CallExpr) string {
	switch f := call.Fun.(type) {
	case *ast.Ident:
		return f.Name
	case *ast.SelectorExpr:
		return f.Sel.Name
	}
	return ""
}

// isConfigurationOnly reports a chain such as Eventually(f).WithTimeout(t)
// that configures an async assertion and stops there.
func isConfigurationOnly(call *ast.CallExpr) bool {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || !strings.HasPrefix(sel.Sel.Name, "With") {
		return false
	}
	inner, ok := sel.X.(*ast.CallExpr)
	if !ok {
		return false
	}
	return assertionStarts[calledName(inner)] || isConfigurationOnly(inner)
}

func TestEveryAssertionHasAMatcher(t *testing.T) {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", ".lab", "bin", "vendor", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		file, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		checked++
		for _, at := range unfinishedAssertions(fset, file) {
			t.Errorf("%s: assertion without a matcher (add .To(...) or .Should(...))", at)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("only %d test files found under %s: the walk is looking in the wrong place", checked, root)
	}
}

// TestTheCheckFindsUnfinishedAssertions proves the check itself can fail.
func TestTheCheckFindsUnfinishedAssertions(t *testing.T) {
	src := `package x
func f(g G) {
	Expect(apply(), "message")
	g.Expect(1)
	Eventually(func() error { return nil }).WithTimeout(1).WithPolling(2)
	Expect(apply()).To(Succeed())
	Eventually(func() error { return nil }).WithTimeout(1).Should(Succeed())
	g.Expect(1).To(Equal(1))
}`
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "x_test.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := unfinishedAssertions(fset, file)
	want := []string{"x_test.go:3:2", "x_test.go:4:2", "x_test.go:5:2"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("found %v, want %v", got, want)
	}
}
