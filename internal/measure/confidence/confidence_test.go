package confidence_test

import (
	"fmt"
	"testing"

	"github.com/unishop/failover-drill/internal/measure/confidence"
)

func TestWindowSamplesNeeded(t *testing.T) {
	// Zero other answers in n show share s at 95% once s^n <= 5%: the rule of three.
	for _, tt := range []struct{ share, want int }{{99, 299}, {95, 59}, {90, 29}, {70, 9}, {100, 1}} {
		if got := confidence.WindowSamplesNeeded(tt.share); got != tt.want {
			t.Errorf("WindowSamplesNeeded(%d) = %d, want %d", tt.share, got, tt.want)
		}
	}
}

func TestMaxOther(t *testing.T) {
	for _, tt := range []struct{ n, share, want int }{
		{298, 99, -1}, {299, 99, 0}, {500, 99, 1}, {1000, 99, 4}, {100, 80, 13}, {10, 100, 0},
	} {
		if got := confidence.MaxOther(tt.n, tt.share); got != tt.want {
			t.Errorf("MaxOther(%d, %d) = %d, want %d", tt.n, tt.share, got, tt.want)
		}
	}
}

func ExampleWindowSamplesNeeded() {
	fmt.Println(confidence.WindowSamplesNeeded(99))
	// Output: 299
}
