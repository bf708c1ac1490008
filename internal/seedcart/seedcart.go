// Package seedcart is seed-cart's logic: through the distribution, find the primary
// API; sign up (or find again) the execution's synthetic user; fill its cart with
// distinct unicorns and read the cart back.
//
// The step is safe to re-invoke for the same execution: the email is derived from the
// execution name only, so a retry logs the same user in, and the cart is reconciled to
// the same deterministic choice of unicorns rather than added to blindly.
package seedcart

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/unishop/failover-drill/internal/clock"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/shop"
)

// Names of the synthetic user.
const (
	FirstName = "Failover"
	LastName  = "Drill"
)

// Read-back: the cart is read again a few times before a mismatch is reported, since
// the shop's store may answer a read right after a write from a stale replica.
const (
	readBackAttempts = 3
	readBackDelay    = 250 * time.Millisecond
)

// Handler seeds the cart. Shop is required; Log and Now default to a discarding logger
// and time.Now.
type Handler struct {
	Shop *shop.Client
	Log  *slog.Logger
	Now  func() time.Time
}

// Email is the synthetic user's address for an execution: "drill-", the execution
// name lower-cased with anything but [a-z0-9] turned into '-' (at most 40 characters),
// '-', then 8 hex digits of the SHA-256 of the exact execution name, so names that
// differ only in case or punctuation, or beyond the 40 characters, still differ. It is
// a pure function of the execution: a retried step finds the same user again.
func Email(execution string) string {
	var b strings.Builder
	dash := true // no leading dash, no runs of dashes
	for _, r := range strings.ToLower(execution) {
		if b.Len() >= 40 {
			break
		}
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	slug := strings.TrimRight(b.String(), "-")
	sum := sha256.Sum256([]byte(execution))
	local := "drill-"
	if slug != "" {
		local += slug + "-"
	}
	return local + hex.EncodeToString(sum[:4]) + "@" + drill.SyntheticDomain
}

// DryRunEmail is the one synthetic user every dry run of a deployment reuses: "drill-
// dryrun-", then 8 hex digits of the SHA-256 of the target (the primary bucket and the
// distribution, which a deployment fixes). A scheduled dry run every hour would
// otherwise sign up a new user each time (8,766 a year) that the shop cannot delete;
// the shop logs a known email in again, and fill reconciles whatever cart it left.
func DryRunEmail(cfg drill.Config) string {
	sum := sha256.Sum256([]byte(cfg.PrimaryBucket + "\n" + cfg.Distribution))
	return "drill-dryrun-" + hex.EncodeToString(sum[:4]) + "@" + drill.SyntheticDomain
}

// Handle seeds the cart. Its errors carry a drill type where the state machine
// branches on them; callers still pass them through drill.Classify.
func (h *Handler) Handle(ctx context.Context, in drill.SeedInput) (drill.SeedResult, error) {
	started := h.now()
	cfg, err := parseInput(in)
	if err != nil {
		return drill.SeedResult{}, err
	}
	email := Email(in.Execution)
	if cfg.DryRun {
		email = DryRunEmail(cfg)
	}
	log := h.logger().With("execution", in.Execution, "email", email)

	if h.Shop == nil {
		return drill.SeedResult{}, errors.New("seedcart: Handler.Shop is nil")
	}
	site, _, err := h.Shop.SiteConfig(ctx, cfg.DistributionURL())
	if err != nil {
		var tr *drill.Transient
		if errors.As(err, &tr) || ctx.Err() != nil {
			return drill.SeedResult{}, fmt.Errorf("read config.json through %s: %w", cfg.DistributionURL(), err)
		}
		return drill.SeedResult{}, &drill.SteadyStateFailed{Msg: fmt.Sprintf("read config.json through %s: %v", cfg.DistributionURL(), err)}
	}
	if site.Region != cfg.PrimaryRegion {
		return drill.SeedResult{}, &drill.SteadyStateFailed{Msg: fmt.Sprintf(
			"the distribution serves config.json of region %q, want the primary %q: the drill must start from the primary", site.Region, cfg.PrimaryRegion)}
	}
	host := site.Host
	log = log.With("apiHost", host)

	user, signed, err := h.user(ctx, host, email)
	if err != nil {
		return drill.SeedResult{}, err
	}
	log = log.With("userUuid", user.UUID)
	log.Info("synthetic user ready", "signedUp", signed)

	want, names, err := h.choose(ctx, host, cfg.Items)
	if err != nil {
		return drill.SeedResult{}, err
	}
	if err := h.fill(ctx, host, user.UUID, want, log); err != nil {
		return drill.SeedResult{}, err
	}
	got, err := h.readBack(ctx, host, user.UUID, want)
	if err != nil {
		return drill.SeedResult{}, err
	}
	log.Info("cart seeded", "cart", got, "region", site.Region)
	return drill.SeedResult{
		Timing:       drill.Timing{StartedAt: started, FinishedAt: h.now()},
		User:         drill.User{UUID: user.UUID, Email: email},
		Cart:         got,
		Names:        names,
		ServedRegion: site.Region,
		APIHost:      host,
	}, nil
}

// parseInput validates the config and the execution name, reporting every problem.
func parseInput(in drill.SeedInput) (drill.Config, error) {
	cfg, err := drill.ParseConfig(in.Config)
	var problems []string
	if err != nil {
		var inv *drill.InvalidInput
		if !errors.As(err, &inv) {
			return cfg, err
		}
		problems = append(problems, inv.Problems...)
	}
	if strings.TrimSpace(in.Execution) == "" {
		problems = append(problems, "execution: missing (the state machine passes $$.Execution.Name)")
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return cfg, &drill.InvalidInput{Problems: problems}
	}
	return cfg, nil
}

// user signs the synthetic user up, or finds it again when an earlier attempt of this
// step created it (signed reports the sign-up call succeeded, for the log).
func (h *Handler) user(ctx context.Context, host, email string) (u shop.User, signed bool, err error) {
	created, err := h.Shop.SignUp(ctx, host, shop.User{Email: email, FirstName: FirstName, LastName: LastName})
	switch {
	case err == nil:
		// Log in as the browser does, and check the shop knows the user by its email.
		u, lerr := h.Shop.Login(ctx, host, email)
		if lerr != nil {
			return shop.User{}, false, seedErr(ctx, fmt.Errorf("log in as the user just created: %w", lerr))
		}
		if u.UUID != created.UUID {
			return shop.User{}, false, &drill.SeedFailed{Msg: fmt.Sprintf("log in as %s returned user %s, sign-up created %s", email, u.UUID, created.UUID)}
		}
		return u, true, nil
	case shop.StatusOf(err) >= 400 && shop.StatusOf(err) < 500:
		// Most likely an earlier attempt of this step created the user.
		u, lerr := h.Shop.Login(ctx, host, email)
		if lerr == nil {
			return u, false, nil
		}
		if shop.StatusOf(lerr) != 0 {
			return shop.User{}, false, &drill.SeedFailed{Msg: fmt.Sprintf("%v; and %v", err, lerr)}
		}
		return shop.User{}, false, fmt.Errorf("%v; and %w", err, lerr)
	default:
		return shop.User{}, false, seedErr(ctx, err)
	}
}

// seedErr keeps transient errors and context errors as they are and makes any other
// failure a SeedFailed.
func seedErr(ctx context.Context, err error) error {
	var tr *drill.Transient
	if errors.As(err, &tr) || ctx.Err() != nil {
		return err
	}
	return &drill.SeedFailed{Msg: err.Error()}
}

// choose returns the uuids of the first n distinct unicorns by uuid (deterministic, so
// a retried step reconciles towards the same cart) and their names.
func (h *Handler) choose(ctx context.Context, host string, n int) ([]string, map[string]string, error) {
	us, err := h.Shop.Unicorns(ctx, host)
	if err != nil {
		return nil, nil, seedErr(ctx, err)
	}
	var ids []string
	all := map[string]string{}
	for _, u := range us {
		if u.UUID != "" {
			ids = append(ids, u.UUID)
			all[u.UUID] = u.Name
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) < n {
		return nil, nil, &drill.SeedFailed{Msg: fmt.Sprintf("the shop lists %d distinct unicorns, the drill needs %d (items)", len(ids), n)}
	}
	names := map[string]string{}
	for _, id := range ids[:n] {
		if all[id] != "" {
			names[id] = all[id]
		}
	}
	return ids[:n], names, nil
}

// fill makes the cart hold exactly want. The stored cart is read first (even a user
// signed up now may be an older one: SignUp recovers a lost answer by logging in),
// extras are removed and missing unicorns added, so a retry never doubles up. POSTs
// are not retried here: a transient failure fails the step and the state machine's
// retry reconciles.
func (h *Handler) fill(ctx context.Context, host, userUUID string, want []string, log *slog.Logger) error {
	var have []string
	cur, err := h.Shop.Cart(ctx, host, userUUID)
	switch {
	case err == nil:
		have = cur
	case shop.StatusOf(err) >= 400 && shop.StatusOf(err) < 500:
		log.Warn("cannot read the cart before filling it; adding every unicorn", "status", shop.StatusOf(err))
	default:
		return seedErr(ctx, err)
	}
	// The cart may be a list: remove every unwanted entry and every duplicate (one
	// DELETE takes out one entry).
	kept := map[string]bool{}
	for _, id := range have {
		if slices.Contains(want, id) && !kept[id] {
			kept[id] = true
			continue
		}
		if err := h.Shop.RemoveFromCart(ctx, host, userUUID, id); err != nil {
			return seedErr(ctx, err)
		}
	}
	for _, id := range want {
		if kept[id] {
			continue
		}
		if err := h.Shop.AddToCart(ctx, host, userUUID, id); err != nil {
			return seedErr(ctx, err)
		}
	}
	return nil
}

// readBack reads the cart until it holds exactly want (a few attempts).
func (h *Handler) readBack(ctx context.Context, host, userUUID string, want []string) ([]string, error) {
	var got []string
	for attempt := 1; ; attempt++ {
		var err error
		got, err = h.Shop.Cart(ctx, host, userUUID)
		if err != nil {
			return nil, seedErr(ctx, fmt.Errorf("read the cart back: %w", err))
		}
		if slices.Equal(got, want) {
			return got, nil
		}
		if attempt == readBackAttempts {
			break
		}
		if err := clock.Sleep(ctx, readBackDelay); err != nil {
			return nil, err
		}
	}
	return nil, &drill.SeedFailed{Msg: fmt.Sprintf("the cart of %s reads back %v after %d attempts, want exactly %v", userUUID, got, readBackAttempts, want)}
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) logger() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
