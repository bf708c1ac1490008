package shopui

import (
	"encoding/xml"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func files(t *testing.T, region string) map[string]File {
	t.Helper()
	fs, err := Files(region)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]File{}
	for _, f := range fs {
		if f.ContentType == "" || len(f.Body) == 0 {
			t.Errorf("%s: empty body or content type", f.Key)
		}
		out[f.Key] = f
	}
	return out
}

func TestFiles(t *testing.T) {
	fs := files(t, "us-west-1")
	for _, key := range []string{"index.html", "app.js", "styles.css", "favicon.svg"} {
		if _, ok := fs[key]; !ok {
			t.Errorf("no %s", key)
		}
	}
	index := string(fs["index.html"].Body)
	for _, s := range []string{"<title>The Unicorn Shop - us-west-1</title>", `src="app.js"`, `href="styles.css"`, `name="viewport"`, `lang="en"`} {
		if !strings.Contains(index, s) {
			t.Errorf("index.html lacks %q", s)
		}
	}
	if other := string(files(t, "eu-west-1")["index.html"].Body); !strings.Contains(other, "The Unicorn Shop - eu-west-1") {
		t.Error("index.html does not follow the region")
	}
	if escaped := string(files(t, `<b>`)["index.html"].Body); strings.Contains(escaped, "<b>") {
		t.Error("the region is not escaped")
	}
}

// TestPageIDs: every element the script looks up by id exists in the page, and every
// form field has a label.
func TestPageIDs(t *testing.T) {
	fs := files(t, "us-east-1")
	index, app := string(fs["index.html"].Body), string(fs["app.js"].Body)
	ids := map[string]bool{}
	for _, m := range regexp.MustCompile(`id="([^"]+)"`).FindAllStringSubmatch(index, -1) {
		ids[m[1]] = true
	}
	used := regexp.MustCompile(`\$\("([a-z-]+)"\)`).FindAllStringSubmatch(app, -1)
	if len(used) < 10 {
		t.Fatalf("found only %d id look-ups in app.js", len(used))
	}
	for _, m := range used {
		if !ids[m[1]] {
			t.Errorf("app.js looks up #%s, which index.html does not have", m[1])
		}
	}
	// Views are looked up as "view-"+name and "h-"+name.
	for _, v := range regexp.MustCompile(`data-view="([a-z]+)"`).FindAllStringSubmatch(index, -1) {
		if !ids["view-"+v[1]] || !ids["h-"+v[1]] {
			t.Errorf("view %s lacks view-%[1]s or h-%[1]s", v[1])
		}
	}
	var labelled []string
	for _, m := range regexp.MustCompile(`<label for="([^"]+)"`).FindAllStringSubmatch(index, -1) {
		labelled = append(labelled, m[1])
	}
	for _, m := range regexp.MustCompile(`<input id="([^"]+)"`).FindAllStringSubmatch(index, -1) {
		if !slices.Contains(labelled, m[1]) {
			t.Errorf("input #%s has no label", m[1])
		}
	}
}

func TestUnicornImage(t *testing.T) {
	a, b := UnicornImage("images/a.svg", 0, "Sparkles & Co"), UnicornImage("images/b.svg", 1, "Stardust")
	if a.ContentType != "image/svg+xml" || a.Key != "images/a.svg" {
		t.Errorf("%s %s", a.Key, a.ContentType)
	}
	if string(a.Body) == strings.Replace(string(b.Body), "Stardust", "Sparkles &amp; Co", -1) {
		t.Error("two unicorns look the same")
	}
	for _, f := range []File{a, b} {
		if err := xml.Unmarshal(f.Body, new(struct{})); err != nil {
			t.Errorf("%s is not well-formed XML: %v", f.Key, err)
		}
	}
	if !strings.Contains(string(a.Body), "Sparkles &amp; Co") {
		t.Error("name not escaped in the picture's title")
	}
}
