// Package shopapi is the sandbox's stand-in for the lab's shop backend in both regions:
// the API Gateway stage (per region, under "/Production"), and behind it the user and
// cart data, kept per region and replicated to the other region after a lag.
//
// It models:
//   - the API of the lab (see ../shared/reference/lab-facts.md): sign up, log in, list
//     unicorns, add to and remove from the cart (only the first unicorn of a request
//     counts, as in the real backend), view the cart, and the health endpoints; JSON
//     {"message"} errors; API Gateway's 403 "Missing Authentication Token" outside the
//     stage and for a resource or method the API does not have;
//   - CORS as the lab's API Gateway answers it: each resource's OPTIONS is the mock
//     integration of the console's "Enable CORS" (its methods, its default allowed
//     headers, any origin), the backend adds Access-Control-Allow-Origin to its answers,
//     and API Gateway's own errors carry no CORS header;
//   - users in an Aurora global database (Options.Users, the sandbox's rds stand-in):
//     a sign-up checks the email against the region's own cluster (a read), then
//     inserts the user through the region's database client, which reaches the writer
//     or, in a region whose cluster is a read-only secondary (or whose client's DNS
//     cache still names a demoted writer), fails with 500 and MySQL's read-only error
//     1290; during a switchover, with error 2003; a duplicate only the writer has seen
//     (1062) is a 400, as one the read found. Log-in reads the region's own cluster, so
//     it works once the user has replicated;
//   - carts in a DynamoDB global table: writable in both regions, replicated after
//     ReplicationLag in both directions, last writer wins per cart;
//   - a catalogue derived from the index, identical in both regions and every run, whose
//     image paths the sandbox fills with generated pictures;
//   - injected faults (a status with a JSON message) per operation.
//
// It does not model yet: a backend that retries a failed database write, API Gateway
// throttling (429), its 29 s integration timeout and its 502 for a crashed backend
// (which, carrying no CORS header, a browser sees as a network error), and
// authentication of any kind (the lab has none either).
package shopapi

import (
	"crypto/rand"
	"encoding/json"
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
	// Regions are the two regions the shop runs in, primary first; carts replicate
	// between them.
	Regions [2]string
	// ReplicationLag is how long a cart write takes to reach the other region.
	ReplicationLag time.Duration
	// Users is the database the users live in; required.
	Users Users
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

// Users is the Aurora global database as the shop's backend in each region uses it
// (rds.Service): rows under unique keys.
type Users interface {
	// Insert writes rows in one transaction through region's database client; the
	// error is the database's (a MySQL error) when it refuses.
	Insert(region string, rows map[string][]byte) error
	// Get reads key from region's own cluster.
	Get(region, key string) ([]byte, bool)
}

// Keys of a user's rows: one by email (lower case), one by uuid.
func emailKey(email string) string { return "user/email/" + strings.ToLower(email) }
func uuidKey(id string) string     { return "user/uuid/" + id }

// New is a shop over opt.Users. It panics without Users, a wiring bug.
func New(opt Options) *Shop {
	if opt.Users == nil {
		panic("shopapi: Options.Users is required")
	}
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

// user is the user stored under key in region's cluster, if any.
func (s *Shop) user(region, key string) (User, bool) {
	b, ok := s.opt.Users.Get(region, key)
	if !ok {
		return User{}, false
	}
	var u User
	return u, json.Unmarshal(b, &u) == nil
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

// store is one region's carts (the DynamoDB global table). Guarded by Shop.mu.
type store struct {
	carts map[string]cart // by user uuid
}

// cart is a basket item; version orders writes for last-writer-wins replication, as
// DynamoDB global tables do per item.
type cart struct {
	unicorns []string
	version  int64
}

func newStore() *store {
	return &store{carts: map[string]cart{}}
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
