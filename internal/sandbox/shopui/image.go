package shopui

import (
	"fmt"
	"html"
)

// unicornSVG draws a unicorn facing right on a pastel sky: body, head, horn, mane and
// tail in colours picked from i, so neighbouring unicorns differ.
func unicornSVG(i int, name string) []byte {
	hue := (i * 137) % 360 // the golden angle spreads neighbours around the wheel
	mane := (hue + 150) % 360
	sky := fmt.Sprintf("hsl(%d 70%% 92%%)", (hue+200)%360)
	coat := fmt.Sprintf("hsl(%d 45%% 88%%)", hue)
	shade := fmt.Sprintf("hsl(%d 35%% 70%%)", hue)
	m1 := fmt.Sprintf("hsl(%d 75%% 60%%)", mane)
	m2 := fmt.Sprintf("hsl(%d 75%% 55%%)", (mane+40)%360)
	m3 := fmt.Sprintf("hsl(%d 75%% 50%%)", (mane+80)%360)
	stars := ""
	for k := range 3 {
		x := 20 + (i*53+k*71)%160
		y := 15 + (i*29+k*37)%40
		stars += fmt.Sprintf(`<circle cx="%d" cy="%d" r="2.5" fill="#fff"/>`, x, y)
	}
	return fmt.Appendf(nil, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 240 180" width="240" height="180" role="img" aria-label="%[1]s">
<title>%[1]s</title>
<rect width="240" height="180" fill="%[2]s"/>%[8]s
<ellipse cx="120" cy="168" rx="80" ry="8" fill="%[4]s" opacity="0.5"/>
<path d="M62 96 C40 92 30 120 44 138 C40 116 50 108 62 110 Z" fill="%[5]s"/>
<path d="M58 104 C36 110 36 134 50 146 C46 128 52 120 62 118 Z" fill="%[6]s"/>
<rect x="72" y="118" width="12" height="46" rx="5" fill="%[4]s"/>
<rect x="90" y="120" width="12" height="44" rx="5" fill="%[3]s"/>
<rect x="136" y="120" width="12" height="44" rx="5" fill="%[4]s"/>
<rect x="154" y="118" width="12" height="46" rx="5" fill="%[3]s"/>
<ellipse cx="118" cy="108" rx="56" ry="30" fill="%[3]s"/>
<path d="M150 96 L166 52 L190 56 L178 104 Z" fill="%[3]s"/>
<ellipse cx="184" cy="62" rx="22" ry="16" fill="%[3]s"/>
<ellipse cx="200" cy="68" rx="10" ry="9" fill="%[4]s"/>
<path d="M176 48 L196 12 L188 50 Z" fill="#f2c230" stroke="#b8860b" stroke-width="1.5"/>
<path d="M166 50 C150 54 142 72 146 96 C152 80 156 70 170 62 Z" fill="%[5]s"/>
<path d="M172 46 C160 40 148 48 150 60 C158 52 164 52 174 54 Z" fill="%[6]s"/>
<path d="M158 70 C148 82 148 92 152 104 C156 92 160 84 166 78 Z" fill="%[7]s"/>
<circle cx="186" cy="58" r="3" fill="#2b1d3a"/>
<path d="M170 44 L176 34 L180 46 Z" fill="%[4]s"/>
</svg>
`, html.EscapeString(name), sky, coat, shade, m1, m2, m3, stars)
}
