// Package lint holds the repository's own static checks, run as unit
// tests (make lint): so far, the length of functions in the core of a
// run.
package lint

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
)

// Long is a function longer than the limit.
type Long struct {
	Pos   string // file:line
	Name  string
	Lines int
}

func (l Long) String() string { return fmt.Sprintf("%d %s %s", l.Lines, l.Pos, l.Name) }

// LongFuncs lists the functions (declarations, closures included in
// their function) of the non-test Go files under dir longer than limit
// lines, counted from the func keyword to the closing brace.
func LongFuncs(dir string, limit int) ([]Long, error) {
	var out []Long
	fset := token.NewFileSet()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "testdata" {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			a, b := fset.Position(fn.Pos()).Line, fset.Position(fn.End()).Line
			if n := b - a + 1; n > limit {
				out = append(out, Long{Pos: fmt.Sprintf("%s:%d", p, a), Name: fn.Name.Name, Lines: n})
			}
		}
		return nil
	})
	return out, err
}
