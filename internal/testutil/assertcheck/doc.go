// Package assertcheck holds a test over the repository's own tests: every
// Gomega assertion must end in a matcher. Expect(x) on its own compiles,
// runs and checks nothing, so a test with one can never fail on that line.
package assertcheck
