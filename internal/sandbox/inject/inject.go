// Package inject is the one piece every sandbox stand-in shares: a test's instruction
// for the next n calls of an operation ("answer 503", "hold for 2 s"). The sandbox owns
// one Countdown per kind of injection and hands it to each stand-in, which takes one use
// per call of that operation.
package inject

import "sync"

// Countdown maps an operation name to a value for its next n calls. The zero value is
// ready to use and safe for concurrent use.
type Countdown[T any] struct {
	mu sync.Mutex
	m  map[string]entry[T]
}

type entry[T any] struct {
	n int
	v T
}

// Arm makes the next n calls of op take v; n <= 0 clears op.
func (c *Countdown[T]) Arm(op string, n int, v T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n <= 0 {
		delete(c.m, op)
		return
	}
	if c.m == nil {
		c.m = map[string]entry[T]{}
	}
	c.m[op] = entry[T]{n: n, v: v}
}

// Take consumes one use of op's injection, returning its value, or the zero value when
// op is not armed.
func (c *Countdown[T]) Take(op string) T {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[op]
	if !ok {
		var zero T
		return zero
	}
	if e.n--; e.n <= 0 {
		delete(c.m, op)
	} else {
		c.m[op] = e
	}
	return e.v
}
