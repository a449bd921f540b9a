// Package greeting is the clean sample module: go vet, staticcheck and golangci-lint find nothing here.
package greeting

import "strings"

// Greet greets every name, in order.
func Greet(names ...string) string {
	parts := make([]string, 0, len(names))
	for _, name := range names {
		parts = append(parts, "hello, "+name)
	}
	return strings.Join(parts, "; ")
}
