// Package doccheck reads the documentation (README.md and docs/*.md) as a test reads
// it: the fenced code blocks with their language tags, the shell commands in the sh,
// bash and shell blocks split into words as a POSIX shell would, and the relative
// links with their #anchors. Its tests run or check every command as written, so the
// docs cannot drift from the code.
package doccheck

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Block is one fenced code block.
type Block struct {
	File string // relative to the repository root
	Line int    // the line of its opening fence
	Lang string // the tag after the fence, "" when none
	Text string
}

// ShellLangs are the tags whose blocks hold commands.
var ShellLangs = map[string]bool{"sh": true, "bash": true, "shell": true}

// Docs are the documentation files under root: README.md and docs/*.md.
func Docs(root string) ([]string, error) {
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		return nil, err
	}
	files := []string{"README.md"}
	for _, p := range pages {
		rel, _ := filepath.Rel(root, p)
		files = append(files, filepath.ToSlash(rel))
	}
	return files, nil
}

// Blocks are the fenced blocks of a Markdown file (``` fences at the line's start).
func Blocks(file, text string) ([]Block, error) {
	var out []Block
	var cur *Block
	var body []string
	for i, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, "```") {
			if cur != nil {
				body = append(body, line)
			}
			continue
		}
		if cur == nil {
			cur = &Block{File: file, Line: i + 1, Lang: strings.TrimSpace(strings.TrimPrefix(line, "```"))}
			body = nil
			continue
		}
		if strings.TrimSpace(line) != "```" {
			return nil, fmt.Errorf("%s:%d: a fence opens inside the block opened at line %d", file, i+1, cur.Line)
		}
		cur.Text = strings.Join(body, "\n")
		out = append(out, *cur)
		cur = nil
	}
	if cur != nil {
		return nil, fmt.Errorf("%s:%d: block never closed", file, cur.Line)
	}
	return out, nil
}

// Command is one command of a shell block: its words, with env assignments and
// the && chain kept as words ("&&" separates commands).
type Command struct {
	File string
	Line int
	Raw  string // as written, continuation lines joined, comment removed
}

func (c Command) String() string { return fmt.Sprintf("%s:%d: %s", c.File, c.Line, c.Raw) }

// Commands are a shell block's commands: one per line, a line ending in a backslash
// continued on the next, a # comment (outside quotes, after a blank) dropped.
func Commands(b Block) []Command {
	var out []Command
	lines := strings.Split(b.Text, "\n")
	for i := 0; i < len(lines); i++ {
		start := i
		line := lines[i]
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
			i++
			line = strings.TrimRight(strings.TrimSuffix(line, "\\"), " \t") + " " + strings.TrimSpace(lines[i])
		}
		line = strings.TrimSpace(stripComment(line))
		if line == "" {
			continue
		}
		out = append(out, Command{File: b.File, Line: b.Line + 1 + start, Raw: line})
	}
	return out
}

// stripComment drops a # comment that starts a word outside quotes.
func stripComment(s string) string {
	var quote rune
	for i, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t'):
			return s[:i]
		}
	}
	return s
}

// Words splits a command as a POSIX shell does, for the forms the docs use: single
// and double quotes, backslash escapes, and a <placeholder> (which may hold blanks)
// kept as part of its word. A word that needs the shell to expand it ($VAR, $(...),
// globs other than ./...) is returned as written; the checks decide.
func Words(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	in := false
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == ' ' || r == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		case r == '\'':
			j := i + 1
			for j < len(rs) && rs[j] != '\'' {
				j++
			}
			if j == len(rs) {
				return nil, fmt.Errorf("unclosed ' in %q", s)
			}
			cur.WriteString(string(rs[i+1 : j]))
			i, in = j, true
		case r == '"':
			j := i + 1
			for j < len(rs) && rs[j] != '"' {
				if rs[j] == '\\' && j+1 < len(rs) {
					j++
				}
				j++
			}
			if j >= len(rs) {
				return nil, fmt.Errorf("unclosed \" in %q", s)
			}
			cur.WriteString(strings.NewReplacer(`\"`, `"`, `\\`, `\`, `\$`, `$`).Replace(string(rs[i+1 : j])))
			i, in = j, true
		case r == '\\' && i+1 < len(rs):
			cur.WriteRune(rs[i+1])
			i, in = i+1, true
		case r == '<':
			j := i + 1
			for j < len(rs) && rs[j] != '>' {
				j++
			}
			if j == len(rs) {
				return nil, fmt.Errorf("unclosed <placeholder> in %q", s)
			}
			cur.WriteString(string(rs[i : j+1]))
			i, in = j, true
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}

// Placeholders are the <name> parts of a word.
var placeholder = regexp.MustCompile(`<[^<>]+>`)

// Substitute replaces every <placeholder> in words with its value; it reports the
// placeholders it has no value for.
func Substitute(words []string, values map[string]string) ([]string, []string) {
	var missing []string
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = placeholder.ReplaceAllStringFunc(w, func(p string) string {
			v, ok := values[p]
			if !ok {
				missing = append(missing, p)
				return p
			}
			return v
		})
	}
	return out, missing
}

// ReadDoc reads a documentation file under root.
func ReadDoc(root, file string) (string, error) {
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(file)))
	return string(b), err
}
