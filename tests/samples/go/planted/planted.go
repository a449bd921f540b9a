// Package planted carries one planted finding: staticcheck reports SA4006 (and golangci-lint's
// staticcheck and ineffassign linters report it too). The code compiles and go vet accepts it.
package planted

// Double returns twice n.
func Double(n int) int {
	result := n * 3 // planted: this value is overwritten before anything reads it (SA4006)
	result = n * 2
	return result
}
