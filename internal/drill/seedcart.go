package drill

import "encoding/json"

// seed-cart's payload and result: the synthetic user and the cart it filled.

// SeedInput is seed-cart's payload.
type SeedInput struct {
	Config    json.RawMessage `json:"config"`
	Execution string          `json:"execution"`
}

// User is the synthetic shop user.
type User struct {
	UUID  string `json:"uuid"`
	Email string `json:"email"`
}

// SeedResult is seed-cart's output.
type SeedResult struct {
	Timing
	User User     `json:"user"`
	Cart []string `json:"cart"` // unicorn uuids, sorted
	// Names are the seeded unicorns' names by uuid, as the shop lists them: people
	// read names, the drill compares uuids.
	Names        map[string]string `json:"names,omitempty"`
	ServedRegion string            `json:"servedRegion"`
	APIHost      string            `json:"apiHost"`
}
