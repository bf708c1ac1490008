// Package shopapi is the sandbox's stand-in for the lab's shop backend in both regions:
// the API Gateway stage (per region, under "/Production"), and behind it the user and
// cart data, kept per region and replicated to the other region after a lag.
//
// It models:
//   - the API of the lab (see ../shared/reference/lab-facts.md): sign up, log in, list
//     unicorns, add to and remove from the cart (only the first unicorn of a request
//     counts, as in the real backend), view the cart, and the health endpoints; JSON
//     {"message"} errors; API Gateway's 403 "Missing Authentication Token" outside the
//     stage; CORS for the browser UI;
//   - replication between the regions after ReplicationLag, in both directions, with
//     last-writer-wins per cart, as a DynamoDB global table orders item writes;
//   - a catalogue derived from the index, identical in both regions and every run;
//   - injected faults (a status with a JSON message) per operation.
//
// It does not model yet: the Aurora global database's read-only secondary (a sign-up
// through the secondary API succeeds here, where Aurora would refuse the write until the
// secondary is promoted), a replication lag that varies or stalls, API Gateway
// throttling (429) and its 29 s integration timeout, and authentication of any kind
// (the lab has none either).
package shopapi

import (
	"crypto/rand"
	"crypto/sha1"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/unishop/failover-drill/internal/sandbox/inject"
	"github.com/unishop/failover-drill/internal/shop"
)

// Stage is the API Gateway stage path the real config.json host ends with; the API
// answers under it only, so a client that drops the host's path fails here too.
const Stage = "/Production"

// Ops are the operations faults are armed by.
var Ops = []string{"SignUp", "Login", "ListUnicorns", "AddToCart", "RemoveFromCart", "GetCart", "Health"}

// The stand-in speaks the same wire types as the shop client.
type (
	Unicorn = shop.Unicorn
	User    = shop.User
)

// CartItem is one unicorn in a basket request or response.
type CartItem struct {
	UUID string `json:"uuid"`
}

// CartBody is {"uuid": user, "unicorns": [{"uuid"}...]}.
type CartBody struct {
	UUID     string     `json:"uuid"`
	Unicorns []CartItem `json:"unicorns"`
}

// Options configure the shop.
type Options struct {
	// Regions are the two regions the shop runs in; writes replicate between them.
	Regions [2]string
	// ReplicationLag is how long a write takes to reach the other region.
	ReplicationLag time.Duration
	// Unicorns is the catalogue size.
	Unicorns int
	// Faults is armed by the sandbox's FailNext, by op name (Ops); nil means none.
	Faults *inject.Countdown[int]
	// Logger receives a debug line per request; nil discards.
	Logger *slog.Logger
}

// Shop is the backend of both regions. Safe for concurrent use.
type Shop struct {
	opt      Options
	log      *slog.Logger
	unicorns []Unicorn

	mu     sync.Mutex
	closed bool
	stores map[string]*store
	seq    int64
	timers map[*time.Timer]struct{}
}

// New is a shop with no users.
func New(opt Options) *Shop {
	if opt.Faults == nil {
		opt.Faults = &inject.Countdown[int]{}
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Shop{
		opt: opt, log: log, unicorns: catalogue(opt.Unicorns),
		stores: map[string]*store{opt.Regions[0]: newStore(), opt.Regions[1]: newStore()},
		timers: map[*time.Timer]struct{}{},
	}
}

// Close stops pending replication; a write arriving later is not replicated.
func (s *Shop) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for t := range s.timers {
		t.Stop()
	}
	s.timers = nil
}

// Unicorns is the catalogue, identical in both regions.
func (s *Shop) Unicorns() []Unicorn { return slices.Clone(s.unicorns) }

// Cart is the unicorn uuids in the user's cart in that region's store, sorted.
func (s *Shop) Cart(region, userUUID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.stores[region]
	if !ok {
		return nil
	}
	out := slices.Clone(st.carts[userUUID].unicorns)
	sort.Strings(out)
	return out
}

// store is one region's data: users (the Aurora global database) and carts (the
// DynamoDB global table). Guarded by Shop.mu.
type store struct {
	users  map[string]User   // by uuid
	emails map[string]string // lower-case email -> uuid
	carts  map[string]cart   // by user uuid
}

// cart is a basket item; version orders writes for last-writer-wins replication, as
// DynamoDB global tables do per item.
type cart struct {
	unicorns []string
	version  int64
}

func newStore() *store {
	return &store{users: map[string]User{}, emails: map[string]string{}, carts: map[string]cart{}}
}

func (st *store) putUser(u User) {
	st.users[u.UUID] = u
	st.emails[strings.ToLower(u.Email)] = u.UUID
}

func (st *store) putCart(user string, c cart) {
	if old, ok := st.carts[user]; ok && old.version > c.version {
		return
	}
	st.carts[user] = c
}

// replicateLocked applies f to the other region's store after ReplicationLag (s.mu held).
func (s *Shop) replicateLocked(from string, f func(*store)) {
	if s.closed {
		return
	}
	to := s.opt.Regions[1]
	if from == to {
		to = s.opt.Regions[0]
	}
	var t *time.Timer
	t = time.AfterFunc(s.opt.ReplicationLag, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed {
			return
		}
		delete(s.timers, t)
		f(s.stores[to])
	})
	s.timers[t] = struct{}{}
}

var unicornNames = []string{
	"Sparkles", "Stardust", "Moonbeam", "Rainbow Dash", "Glitter Hoof", "Aurora", "Comet",
	"Celestia", "Twilight", "Nimbus", "Prism", "Zephyr", "Marshmallow", "Bubblegum", "Nova", "Opal",
}

// catalogue is n unicorns with uuids derived from their index (name-based, like a UUID
// v5), so both regions and every run agree.
func catalogue(n int) []Unicorn {
	out := make([]Unicorn, n)
	for i := range out {
		name := unicornNames[i%len(unicornNames)]
		if i >= len(unicornNames) {
			name = fmt.Sprintf("%s %d", name, i/len(unicornNames)+1)
		}
		sum := sha1.Sum([]byte(fmt.Sprintf("unishop-sandbox-unicorn-%d", i)))
		sum[6] = sum[6]&0x0f | 0x50
		sum[8] = sum[8]&0x3f | 0x80
		out[i] = Unicorn{
			UUID: formatUUID(sum[:16]), Name: name,
			Description: "A sandbox unicorn called " + name + ".",
			Price:       float64(100+17*i) + 0.99,
			Image:       fmt.Sprintf("images/unicorn-%02d.png", i+1),
		}
	}
	return out
}

func formatUUID(b []byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return formatUUID(b)
}
