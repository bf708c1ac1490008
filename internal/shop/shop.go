// Package shop is the HTTP client of the Unicorn Shop: the site's config.json, served
// through the distribution, and the regional API it names (reference/lab-facts.md).
//
// Errors a retry may cure (5xx, 429, timeouts, dropped connections) are wrapped as
// *drill.Transient so the state machine retries them; any other unexpected status is a
// *StatusError. Safe GETs are retried a few times inside the client; POST and DELETE
// are never retried blindly (sign-up is not idempotent).
package shop

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/unishop/failover-drill/internal/clock"
	"github.com/unishop/failover-drill/internal/drill"
)

// SiteConfig is the UI bucket's config.json: the API the page calls and its region.
type SiteConfig struct {
	Host   string `json:"host"`
	Region string `json:"region"`
}

// Unicorn is an item the shop sells. Its uuid is the same in both regions.
type Unicorn struct {
	UUID        string  `json:"uuid"`
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Price       float64 `json:"price"`
	Image       string  `json:"image"`
}

// User is a shop user. Log in checks the email only: there is no password.
type User struct {
	UUID      string `json:"uuid"`
	Email     string `json:"email"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
}

// Defaults of the client.
const (
	DefaultUserAgent = "unishop-failover-drill/1 (synthetic traffic)"
	// DefaultTimeout is the per-request timeout of the client New builds when given nil.
	DefaultTimeout = 10 * time.Second
	// GetAttempts is how many times a safe GET is tried before its error is returned.
	GetAttempts = 3
	// DefaultBackoff is the wait before the second GET attempt; it doubles after.
	DefaultBackoff = 100 * time.Millisecond

	maxBody      = 1 << 20 // bytes read from any response
	maxErrorBody = 200     // bytes of a response body quoted in an error
)

// Client calls the shop. The zero value is not usable; build it with New.
type Client struct {
	HTTP      *http.Client
	UserAgent string
	// Backoff is the wait before retrying a failed GET (doubling); zero means DefaultBackoff.
	Backoff time.Duration
}

// New returns a client over httpClient, or over a client with DefaultTimeout when nil.
func New(httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: DefaultTimeout}
	}
	return &Client{HTTP: httpClient, UserAgent: DefaultUserAgent}
}

// StatusError is an unexpected HTTP status that retrying will not cure (a 4xx, or a
// 2xx/3xx other than the one expected). Body is the start of the response body.
type StatusError struct {
	Method, URL string
	Status      int
	Body        string
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s %s: %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// StatusOf is the HTTP status inside err (a *StatusError), or 0.
func StatusOf(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	return 0
}

// SiteConfig reads {siteURL}/config.json, cache-busted (a unique query and
// Cache-Control: no-cache), and returns it with the HTTP status of the last attempt
// (0 when no response arrived). The host is returned without a trailing slash.
func (c *Client) SiteConfig(ctx context.Context, siteURL string) (SiteConfig, int, error) {
	u := strings.TrimRight(siteURL, "/") + "/config.json?drill=" + Nonce()
	var sc SiteConfig
	status, err := c.get(ctx, u, &sc, http.Header{"Cache-Control": {"no-cache"}})
	if err != nil {
		return SiteConfig{}, status, err
	}
	sc.Host = strings.TrimRight(strings.TrimSpace(sc.Host), "/")
	if sc.Host == "" {
		return sc, status, fmt.Errorf("GET %s: config.json names no API host", redactQuery(u))
	}
	if h, perr := url.Parse(sc.Host); perr != nil || (h.Scheme != "https" && h.Scheme != "http") || h.Host == "" {
		return sc, status, fmt.Errorf("GET %s: config.json host %q is not an http(s) URL", redactQuery(u), sc.Host)
	}
	return sc, status, nil
}

// SignUp creates a user (the shop answers 201). Sign-up is not idempotent, so it is never retried; when
// it fails transiently the request may still have created the user, so SignUp tries
// Login with the same email before returning the transient error.
func (c *Client) SignUp(ctx context.Context, host string, u User) (User, error) {
	body := map[string]string{"email": u.Email, "firstName": u.FirstName, "lastName": u.LastName}
	var created User
	err := c.send(ctx, http.MethodPost, join(host, "/user"), body, &created)
	if err == nil {
		if created.UUID == "" {
			return User{}, fmt.Errorf("sign up %s: the shop returned a user without uuid", u.Email)
		}
		return created, nil
	}
	var tr *drill.Transient
	if !errors.As(err, &tr) || ctx.Err() != nil {
		return User{}, fmt.Errorf("sign up %s: %w", u.Email, err)
	}
	existing, lerr := c.Login(ctx, host, u.Email)
	if lerr == nil {
		return existing, nil
	}
	return User{}, fmt.Errorf("sign up %s: %w (log in afterwards: %v)", u.Email, err, lerr)
}

// Login returns the user with that email. An unknown email is a *StatusError with 400.
// Like SignUp it is a POST and is not retried.
func (c *Client) Login(ctx context.Context, host, email string) (User, error) {
	var u User
	if err := c.send(ctx, http.MethodPost, join(host, "/user/login"), map[string]string{"email": email}, &u); err != nil {
		return User{}, fmt.Errorf("log in %s: %w", email, err)
	}
	if u.UUID == "" {
		return User{}, fmt.Errorf("log in %s: the shop returned a user without uuid", email)
	}
	return u, nil
}

// Unicorns lists the unicorns for sale.
func (c *Client) Unicorns(ctx context.Context, host string) ([]Unicorn, error) {
	var us []Unicorn
	if _, err := c.get(ctx, join(host, "/unicorns/"), &us, nil); err != nil {
		return nil, fmt.Errorf("list unicorns: %w", err)
	}
	return us, nil
}

type basketBody struct {
	UUID     string    `json:"uuid"`
	Unicorns []uuidRef `json:"unicorns"`
}

type uuidRef struct {
	UUID string `json:"uuid"`
}

// AddToCart puts one unicorn in the user's cart. Not retried.
func (c *Client) AddToCart(ctx context.Context, host, userUUID, unicornUUID string) error {
	b := basketBody{UUID: userUUID, Unicorns: []uuidRef{{unicornUUID}}}
	if err := c.send(ctx, http.MethodPost, join(host, "/unicorns/basket"), b, nil); err != nil {
		return fmt.Errorf("add unicorn %s to the cart of %s: %w", unicornUUID, userUUID, err)
	}
	return nil
}

// RemoveFromCart takes one unicorn out of the user's cart. Not retried.
func (c *Client) RemoveFromCart(ctx context.Context, host, userUUID, unicornUUID string) error {
	b := basketBody{UUID: userUUID, Unicorns: []uuidRef{{unicornUUID}}}
	if err := c.send(ctx, http.MethodDelete, join(host, "/unicorns/basket"), b, nil); err != nil {
		return fmt.Errorf("remove unicorn %s from the cart of %s: %w", unicornUUID, userUUID, err)
	}
	return nil
}

// Cart returns the unicorn uuids in the user's cart, sorted (an empty cart is empty,
// not nil).
func (c *Client) Cart(ctx context.Context, host, userUUID string) ([]string, error) {
	var b basketBody
	if _, err := c.get(ctx, join(host, "/unicorns/basket/"+url.PathEscape(userUUID)), &b, nil); err != nil {
		return nil, fmt.Errorf("read the cart of %s: %w", userUUID, err)
	}
	ids := make([]string, 0, len(b.Unicorns))
	for _, u := range b.Unicorns {
		ids = append(ids, u.UUID)
	}
	sort.Strings(ids)
	return ids, nil
}

// Health checks {host}/health/ping.
func (c *Client) Health(ctx context.Context, host string) error {
	if _, err := c.get(ctx, join(host, "/health/ping"), nil, nil); err != nil {
		return fmt.Errorf("health: %w", err)
	}
	return nil
}

// Nonce is a random cache-busting token.
func Nonce() string { return strings.ToLower(rand.Text()[:16]) }

func join(host, path string) string { return strings.TrimRight(host, "/") + path }

// get GETs u expecting 200, decoding the body into out (unless nil); transient
// failures are retried with doubling backoff. It returns the last status seen.
func (c *Client) get(ctx context.Context, u string, out any, hdr http.Header) (int, error) {
	backoff := c.Backoff
	if backoff <= 0 {
		backoff = DefaultBackoff
	}
	var (
		status int
		err    error
	)
	for attempt := 1; ; attempt++ {
		status, err = c.do(ctx, http.MethodGet, u, nil, hdr, out)
		var tr *drill.Transient
		if err == nil || !errors.As(err, &tr) || attempt == GetAttempts {
			return status, err
		}
		if serr := clock.Sleep(ctx, backoff); serr != nil {
			return status, err
		}
		backoff *= 2
	}
}

// send makes one non-idempotent request with a JSON body.
func (c *Client) send(ctx context.Context, method, u string, body any, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode %s %s: %w", method, u, err)
	}
	_, err = c.do(ctx, method, u, b, http.Header{"Content-Type": {"application/json"}}, out)
	return err
}

// do makes one request and classifies its failure. Any 2xx is success (the shop
// documents 201 for sign-up and 200 elsewhere; a proxy may legitimately differ).
func (c *Client) do(ctx context.Context, method, u string, body []byte, hdr http.Header, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	shown := redactQuery(u)
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, shown, err)
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	req.Header.Set("Accept", "application/json")
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			// The caller gave up; retrying inside this invocation is pointless.
			return 0, fmt.Errorf("%s %s: %w", method, shown, ctx.Err())
		}
		return 0, &drill.Transient{Msg: fmt.Sprintf("%s %s: %v", method, shown, unwrapURLError(err))}
	}
	defer resp.Body.Close()
	data, rerr := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if rerr != nil && ctx.Err() == nil {
		return resp.StatusCode, &drill.Transient{Msg: fmt.Sprintf("%s %s: reading the response: %v", method, shown, rerr)}
	} else if rerr != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: %w", method, shown, ctx.Err())
	}
	switch {
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout:
		return resp.StatusCode, &drill.Transient{Msg: fmt.Sprintf("%s %s: %d %s%s", method, shown, resp.StatusCode, http.StatusText(resp.StatusCode), quote(data))}
	case resp.StatusCode/100 != 2:
		return resp.StatusCode, &StatusError{Method: method, URL: shown, Status: resp.StatusCode, Body: truncate(data)}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decoding the %d response: %v", method, shown, resp.StatusCode, err)
		}
	}
	return resp.StatusCode, nil
}

// redactQuery drops the query (cache-busting nonces) from a URL shown in an error.
func redactQuery(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func truncate(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > maxErrorBody {
		s = s[:maxErrorBody] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}

func quote(b []byte) string {
	if s := truncate(b); s != "" {
		return ": " + s
	}
	return ""
}
