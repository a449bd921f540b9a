// Command greet prints a greeting; claude installs it with `go install` into GOPATH/bin.
package main

import (
	"fmt"

	"example.com/greeting"
)

func main() {
	fmt.Println(greeting.Greet("reactor", "go"))
}
