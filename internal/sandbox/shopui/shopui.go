// Package shopui is the Unicorn Shop's web UI as the sandbox serves it from each
// region's website bucket: static HTML, CSS and JavaScript embedded in the binary (no
// build step, no CDN) and generated SVG pictures of the unicorns. It is content, not a
// stand-in: the sandbox writes these files into the UI buckets next to config.json.
//
// The page behaves as the lab's UI does (reference/lab-facts.md): it reads config.json
// from the site, shows "The Unicorn Shop - <region>" from it, keeps the user in the
// browser's local storage, and calls the regional API named by config.json's host
// directly (cross-origin). It has Signup and Login (e-mail only), the catalogue with
// names, descriptions, prices and pictures, Add to cart and Remove, and a cart view;
// it is usable with the keyboard alone and on a narrow screen.
package shopui

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"path"
)

//go:embed static
var static embed.FS

// File is one object of the UI bucket.
type File struct {
	Key         string
	Body        []byte
	ContentType string
}

var indexTemplate = template.Must(template.ParseFS(static, "static/index.html"))

// contentTypes are what the lab's deployment sets on each kind of object.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
}

// Files are the page's objects for a region's bucket: index.html (the region written
// into its title, for a visitor without JavaScript; the page then shows the region of
// the config.json it reads), app.js, styles.css and favicon.svg.
func Files(region string) ([]File, error) {
	var index bytes.Buffer
	if err := indexTemplate.Execute(&index, struct{ Region string }{region}); err != nil {
		return nil, fmt.Errorf("shopui: render index.html: %w", err)
	}
	files := []File{{Key: "index.html", Body: index.Bytes(), ContentType: contentTypes[".html"]}}
	for _, name := range []string{"app.js", "styles.css", "favicon.svg"} {
		body, err := static.ReadFile("static/" + name)
		if err != nil {
			return nil, fmt.Errorf("shopui: %w", err)
		}
		files = append(files, File{Key: name, Body: body, ContentType: contentTypes[path.Ext(name)]})
	}
	return files, nil
}

// UnicornImage is the picture of the catalogue's i-th unicorn (0-based) as an object
// at key, the unicorn's image path: an SVG whose colours follow from i, so every
// unicorn looks different and the same in both regions.
func UnicornImage(key string, i int, name string) File {
	return File{Key: key, Body: unicornSVG(i, name), ContentType: contentTypes[".svg"]}
}
