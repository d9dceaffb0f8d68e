package bench

import (
	"fmt"
	"html"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/grab-ir/grab/fetch/demo"
)

// writeSVG plots bytes/s per circuit over time, one line per circuit, the
// total as a thick line and the link cap as a dashed one. Samples before
// from (the server's clock when the run started) are left out.
func writeSVG(path, title string, tl []demo.Sample, from time.Duration, link float64) error {
	const (
		width, height = 900, 420
		left, right   = 70, 20
		top, bottom   = 40, 40
	)
	var samples []demo.Sample
	for _, s := range tl {
		if s.Start+time.Second > from {
			samples = append(samples, s)
		}
	}
	if len(samples) == 0 {
		return fmt.Errorf("svg: no samples")
	}
	step := time.Second
	if len(tl) > 1 {
		step = tl[1].Start - tl[0].Start
	}
	ids := map[string]bool{}
	top1 := link * 1.1
	for _, s := range samples {
		top1 = max(top1, float64(s.Total)/step.Seconds()*1.05)
		for id := range s.Circuits {
			ids[id] = true
		}
	}
	var names []string
	for id := range ids {
		names = append(names, id)
	}
	sort.Strings(names)
	span := float64(len(samples)) * step.Seconds()
	x := func(i int) float64 { return left + (float64(i)+0.5)*step.Seconds()/span*(width-left-right) }
	y := func(v float64) float64 { return height - bottom - v/top1*(height-top-bottom) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="%d" y="20" font-size="13">%s</text>`+"\n", left, html.EscapeString(title))
	// Axes, with a tick every 500 kB/s and every 5 s.
	fmt.Fprintf(&b, `<path d="M%d %d V%d H%d" stroke="black" fill="none"/>`+"\n", left, top, height-bottom, width-right)
	for v := 0.0; v <= top1; v += 500e3 {
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%.1f MB/s</text>`+"\n", left-4, y(v)+4, v/1e6)
		fmt.Fprintf(&b, `<path d="M%d %.1f H%d" stroke="#eee"/>`+"\n", left+1, y(v), width-right)
	}
	for i := range samples {
		if sec := float64(i) * step.Seconds(); int(sec)%5 == 0 && float64(int(sec)) == sec {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%ds</text>`+"\n", x(i), height-bottom+15, int(sec))
		}
	}
	fmt.Fprintf(&b, `<path d="M%d %.1f H%d" stroke="red" stroke-dasharray="6 4"/>`+"\n", left, y(link), width-right)
	fmt.Fprintf(&b, `<text x="%d" y="%.1f" fill="red" text-anchor="end">link</text>`+"\n", width-right, y(link)-4)
	line := func(color string, w float64, get func(demo.Sample) int64) {
		var pts []string
		for i, s := range samples {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(float64(get(s))/step.Seconds())))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="%.1f" points="%s"/>`+"\n", color, w, strings.Join(pts, " "))
	}
	for i, id := range names {
		line(fmt.Sprintf("hsl(%d,60%%,55%%)", i*360/len(names)), 1, func(s demo.Sample) int64 { return s.Circuits[id] })
	}
	line("black", 2.5, func(s demo.Sample) int64 { return s.Total })
	fmt.Fprintf(&b, `<text x="%d" y="%d">black: all circuits; colours: %d circuits, one line each</text>`+"\n", left+10, top+12, len(names))
	b.WriteString("</svg>\n")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("writing svg: %w", err)
	}
	return nil
}
