package greeting

import "testing"

func TestGreet(t *testing.T) {
	got := Greet("reactor", "go")
	want := "hello, reactor; hello, go"
	if got != want {
		t.Fatalf("Greet() = %q, want %q", got, want)
	}
}
