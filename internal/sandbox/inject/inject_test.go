package inject

import (
	"sync"
	"testing"
	"time"
)

func TestCountdown(t *testing.T) {
	var c Countdown[int]
	if got := c.Take("Get"); got != 0 {
		t.Fatalf("unarmed Take = %d", got)
	}
	c.Arm("Get", 2, 503)
	c.Arm("Put", 1, 500)
	for i, want := range []int{503, 503, 0} {
		if got := c.Take("Get"); got != want {
			t.Errorf("Get call %d = %d, want %d", i+1, got, want)
		}
	}
	c.Arm("Put", 0, 0) // clears
	if got := c.Take("Put"); got != 0 {
		t.Errorf("cleared Put = %d", got)
	}
	c.Arm("Put", 3, 500)
	c.Arm("Put", 1, 409) // re-arming replaces
	if a, b := c.Take("Put"), c.Take("Put"); a != 409 || b != 0 {
		t.Errorf("re-armed Put = %d then %d, want 409 then 0", a, b)
	}
}

func TestCountdownConcurrent(t *testing.T) {
	var c Countdown[time.Duration]
	c.Arm("Put", 50, time.Second)
	var wg sync.WaitGroup
	var mu sync.Mutex
	taken := 0
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if c.Take("Put") == time.Second {
				mu.Lock()
				taken++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if taken != 50 {
		t.Errorf("%d calls took the injection, want exactly 50", taken)
	}
}
