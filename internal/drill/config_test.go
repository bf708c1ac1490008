package drill

import (
	"errors"
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name      string
		input     string
		wantErr   []string // every field the error must name
		wantItems int
	}{
		{name: "bare domain and defaults", input: `{"distribution":"d111111abcdef8.cloudfront.net","primaryBucket":"active-primary-uibucket-1"}`, wantItems: 3},
		{name: "https URL", input: `{"distribution":"https://d1.cloudfront.net/","primaryBucket":"b-1a","items":20}`, wantItems: 20},
		{name: "loopback http", input: `{"distribution":"http://127.0.0.1:8080","primaryBucket":"abc"}`, wantItems: 3},
		{name: "empty input", input: ``, wantErr: []string{"distribution: missing", "primaryBucket: missing"}},
		{name: "http off loopback", input: `{"distribution":"http://example.com","primaryBucket":"abc"}`, wantErr: []string{"distribution:"}},
		{name: "ftp", input: `{"distribution":"ftp://d1.cloudfront.net","primaryBucket":"abc"}`, wantErr: []string{"distribution:"}},
		{name: "path in URL", input: `{"distribution":"https://d1.cloudfront.net/x","primaryBucket":"abc"}`, wantErr: []string{"distribution:"}},
		{name: "not a domain", input: `{"distribution":"not a domain","primaryBucket":"abc"}`, wantErr: []string{"distribution:"}},
		{name: "every bad field at once",
			input:   `{"distribution":"x","primaryBucket":"Bad_Bucket","items":0,"probeIntervalMs":1,"failoverTimeoutSeconds":0,"steadySamples":99,"primaryRegion":"east","secondaryRegion":"west"}`,
			wantErr: []string{"distribution:", "primaryBucket:", "items: 0 is outside 1..20", "probeIntervalMs:", "failoverTimeoutSeconds:", "steadySamples:", "primaryRegion:", "secondaryRegion:"}},
		{name: "items above range", input: `{"distribution":"d1.cloudfront.net","primaryBucket":"abc","items":21}`, wantErr: []string{"items: 21 is outside 1..20"}},
		{name: "same regions", input: `{"distribution":"d1.cloudfront.net","primaryBucket":"abc","secondaryRegion":"us-east-1"}`, wantErr: []string{"secondaryRegion: must differ"}},
		{name: "IP bucket", input: `{"distribution":"d1.cloudfront.net","primaryBucket":"192.168.1.1"}`, wantErr: []string{"primaryBucket:"}},
		{name: "unknown field", input: `{"distribution":"d1.cloudfront.net","primaryBucket":"abc","bucket":"x"}`, wantErr: []string{"bucket: unknown field"}},
		{name: "wrong type", input: `{"distribution":"d1.cloudfront.net","primaryBucket":"abc","items":"three"}`, wantErr: []string{`items: must be a whole number, got "three"`}},
		{name: "unknown, wrong-typed and bad fields are all named at once",
			input:   `{"distribution":"ftp://x","items":0,"colour":"red","probeIntervalMs":"fast","primaryBucket":7}`,
			wantErr: []string{"colour: unknown field", "distribution:", "items: 0 is outside", "probeIntervalMs: must be a whole number", "primaryBucket: must be a string"}},
		{name: "not an object", input: `[1]`, wantErr: []string{"input:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(tt.input))
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if c.Items != tt.wantItems {
					t.Errorf("items = %d, want %d", c.Items, tt.wantItems)
				}
				return
			}
			var inv *InvalidInput
			if !errors.As(err, &inv) {
				t.Fatalf("error = %v, want *InvalidInput", err)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %q", err, want)
				}
			}
			if len(inv.Problems) < len(tt.wantErr) {
				t.Errorf("got %d problems, want at least %d: %v", len(inv.Problems), len(tt.wantErr), inv.Problems)
			}
		})
	}
}

func TestDistributionURL(t *testing.T) {
	for in, want := range map[string]string{
		"d1.cloudfront.net":          "https://d1.cloudfront.net",
		"https://d1.cloudfront.net/": "https://d1.cloudfront.net",
		"http://127.0.0.1:9000":      "http://127.0.0.1:9000",
	} {
		if got := (Config{Distribution: in}).DistributionURL(); got != want {
			t.Errorf("DistributionURL(%q) = %q, want %q", in, got, want)
		}
	}
}
