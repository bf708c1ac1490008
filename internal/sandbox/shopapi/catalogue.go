package shopapi

import (
	"crypto/sha1"
	"fmt"
)

// unicorns are the catalogue's names and descriptions, in order.
var unicorns = []struct{ name, description string }{
	{"Sparkles", "Leaves a faint trail of glitter wherever she trots. Easy to find again."},
	{"Stardust", "Born on a clear night; her mane glows softly after dark."},
	{"Moonbeam", "Calm, quiet and patient. The ideal unicorn for on-call weekends."},
	{"Rainbow Dash", "The fastest of the herd, and never takes the same road twice."},
	{"Glitter Hoof", "Tap-dances on cobblestones. Neighbours have been warned."},
	{"Aurora", "Changes colour with the seasons; replicated to every region she visits."},
	{"Comet", "Appears once in a while and always in a hurry."},
	{"Celestia", "Wise and regal, with a horn that hums in a major key."},
	{"Twilight", "Prefers dusk, libraries and long walks between data centres."},
	{"Nimbus", "Lives above the clouds and comes down for apples."},
	{"Prism", "Splits sunlight into seven colours and one opinion."},
	{"Zephyr", "A gentle westerly breeze in unicorn form."},
	{"Marshmallow", "Soft, round and very fond of hot chocolate."},
	{"Bubblegum", "Pink from horn to hoof; blows bubbles when pleased."},
	{"Nova", "Shines brightest when everything else has gone dark."},
	{"Opal", "Every angle shows a different colour. Photographs badly."},
}

// catalogue is n unicorns with uuids derived from their index (name-based, like a UUID
// v5), so both regions and every run agree. Image is a path relative to the site,
// "images/unicorn-NN.svg", which the sandbox writes into each UI bucket.
func catalogue(n int) []Unicorn {
	out := make([]Unicorn, n)
	for i := range out {
		u := unicorns[i%len(unicorns)]
		name := u.name
		if i >= len(unicorns) {
			name = fmt.Sprintf("%s %d", name, i/len(unicorns)+1)
		}
		sum := sha1.Sum([]byte(fmt.Sprintf("unishop-sandbox-unicorn-%d", i)))
		sum[6] = sum[6]&0x0f | 0x50
		sum[8] = sum[8]&0x3f | 0x80
		out[i] = Unicorn{
			UUID: formatUUID(sum[:16]), Name: name, Description: u.description,
			Price: float64(100+17*i) + 0.99,
			Image: fmt.Sprintf("images/unicorn-%02d.svg", i+1),
		}
	}
	return out
}
