package browserlab

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/seedcart"
	"github.com/unishop/failover-drill/internal/shop"
)

// TestSeededCartShowsInBrowser is the contract between the drill and the shop's UI:
// the cart seed-cart fills through the API, for the user it signs up, is the cart the
// browser shows once that user logs in — same user, same unicorns, one of each.
func TestSeededCartShowsInBrowser(t *testing.T) {
	b := newBrowser(t)
	sb := startSandbox(t)
	input, err := json.Marshal(map[string]any{"distribution": sb.DistributionURL(), "primaryBucket": sb.Primary().Bucket, "items": 4})
	if err != nil {
		t.Fatal(err)
	}
	seed := &seedcart.Handler{Shop: shop.New(nil)}
	res, err := seed.Handle(b.ctx, drill.SeedInput{Config: input, Execution: "browser-contract"})
	if err != nil {
		t.Fatalf("seed-cart: %v", err)
	}

	b.do("open the login page", chromedp.Navigate(sb.DistributionURL()+"/#login"))
	b.read("open")
	b.do("log in as the drill's user",
		chromedp.SendKeys(chromedp.ID("login-email"), res.User.Email),
		chromedp.Click(chromedp.CSS("#login-form button[type=submit]")))
	b.waitFor("log in", `document.getElementById("who").textContent === `+jsString("Logged in as "+res.User.Email))
	b.do("view the cart", chromedp.Click(chromedp.CSS(`nav a[href="#cart"]`)))
	pg := b.read("cart")

	want := slices.Sorted(slices.Values(res.Cart))
	if pg.User == nil || pg.User.UUID != res.User.UUID {
		t.Errorf("the browser is logged in as %+v, seed-cart made %+v", pg.User, res.User)
	}
	if !slices.Equal(pg.cartUUIDs(), want) {
		t.Errorf("the browser shows %v (%s), seed-cart seeded %v (%s)", pg.cartUUIDs(), names(sb, pg.cartUUIDs()), want, names(sb, want))
	}
	byID := map[string]string{}
	for _, u := range sb.Unicorns() {
		byID[u.UUID] = u.Name
	}
	for _, row := range pg.Cart {
		if row.Name != byID[row.UUID] || row.Quantity != "1" {
			t.Errorf("cart row %+v, want %q once", row, byID[row.UUID])
		}
	}
	b.screenshot("seeded-cart", "")
}
