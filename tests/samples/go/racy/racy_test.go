package racy

import "testing"

func TestCount(t *testing.T) {
	if got := Count(8); got < 1 {
		t.Fatalf("Count(8) = %d", got)
	}
}
