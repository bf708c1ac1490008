package doccheck

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"
)

// link is [text](target) or ![alt](target), outside code.
var link = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)\)`)

// heading is a Markdown ATX heading.
var heading = regexp.MustCompile(`^#{1,6}\s+(.*?)\s*#*\s*$`)

// Anchors are the #anchors GitHub gives a file's headings: lower case, punctuation
// but hyphens and underscores dropped, blanks as hyphens, repeats numbered -1, -2.
func Anchors(text string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	for _, line := range proseLines(text) {
		m := heading.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		slug := Slug(m[1])
		if n := seen[slug]; n > 0 {
			out[fmt.Sprintf("%s-%d", slug, n)] = true
		} else {
			out[slug] = true
		}
		seen[slug]++
	}
	return out
}

// Slug is a heading's GitHub anchor.
func Slug(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r) || unicode.Is(unicode.Pc, r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// proseLines are the file's lines outside fenced blocks, inline code removed.
func proseLines(text string) []string {
	var out []string
	fenced := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
			continue
		}
		if !fenced {
			out = append(out, line)
		}
	}
	return out
}

var inlineCode = regexp.MustCompile("`[^`]*`")

// BrokenLinks lists every relative link in file (under root) whose target file does
// not exist or whose #anchor is no heading of its target.
func BrokenLinks(root, file string) ([]string, error) {
	text, err := ReadDoc(root, file)
	if err != nil {
		return nil, err
	}
	var broken []string
	for i, line := range proseLines(text) {
		for _, m := range link.FindAllStringSubmatch(inlineCode.ReplaceAllString(line, ""), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, anchor, _ := strings.Cut(target, "#")
			dest := file
			if path != "" {
				dest = filepath.ToSlash(filepath.Join(filepath.Dir(file), path))
			}
			if _, err := os.Stat(filepath.Join(root, dest)); err != nil {
				broken = append(broken, fmt.Sprintf("%s (prose line %d): %s: no such file", file, i+1, target))
				continue
			}
			if anchor == "" {
				continue
			}
			if !strings.HasSuffix(dest, ".md") {
				broken = append(broken, fmt.Sprintf("%s: %s: an anchor into a file that is not Markdown", file, target))
				continue
			}
			destText, err := ReadDoc(root, dest)
			if err != nil {
				return nil, err
			}
			if !Anchors(destText)[anchor] {
				broken = append(broken, fmt.Sprintf("%s (prose line %d): %s: no heading #%s in %s", file, i+1, target, anchor, dest))
			}
		}
	}
	return broken, nil
}
