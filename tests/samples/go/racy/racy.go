// Package racy holds a planted data race: `go test -race` must report it.
package racy

import "sync"

// Count increments a shared counter from several goroutines without a lock.
func Count(workers int) int {
	counter := 0
	var wait sync.WaitGroup
	for range workers {
		wait.Add(1)
		go func() {
			defer wait.Done()
			counter++
		}()
	}
	wait.Wait()
	return counter
}
