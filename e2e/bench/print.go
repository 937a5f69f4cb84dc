package bench

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Print writes the table: per figure its title, then one line per metric
// with the median and spread (min–max over the rounds) of each target and
// mailproxy's ratios against its targets, ✓ or ✗ (n/a when a side was not
// measured). It is a report, not an assertion.
func (r *Result) Print(w io.Writer) {
	fmt.Fprintln(w, "mailbench: medians over interleaved rounds, (min–max) across rounds")
	for _, h := range r.Header {
		fmt.Fprintln(w, "  "+h)
	}
	cols := []string{}
	for _, t := range allTargets {
		for _, f := range r.Figures {
			if strings.Contains(strings.Join(f.figure.targets, ","), t) {
				cols = append(cols, t)
				break
			}
		}
	}
	const labelW = 34
	widths := map[string]int{}
	for _, t := range cols {
		widths[t] = utf8.RuneCountInString(t)
		for _, f := range r.Figures {
			for _, row := range f.Rows {
				widths[t] = max(widths[t], utf8.RuneCountInString(cell(row.Values[t], row.Digits)))
			}
		}
	}
	pad := func(s string, n int) string { return s + strings.Repeat(" ", max(0, n-utf8.RuneCountInString(s))) }
	line := pad("", labelW)
	for _, t := range cols {
		line += "  " + pad(t, widths[t])
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, strings.TrimRight(line+"  mailproxy vs target", " "))
	for _, f := range r.Figures {
		fmt.Fprintf(w, "\n%s [%s]\n", f.Title, f.ID)
		for _, row := range f.Rows {
			line := pad("  "+row.Label, labelW)
			for _, t := range cols {
				c := cell(row.Values[t], row.Digits)
				if !strings.Contains(strings.Join(f.figure.targets, ","), t) {
					c = ""
				}
				line += "  " + pad(c, widths[t])
			}
			var checks []string
			for _, c := range row.Checks {
				checks = append(checks, c.text(row.Digits))
			}
			fmt.Fprintln(w, strings.TrimRight(line+"  "+strings.Join(checks, "; "), " "))
		}
		for _, e := range f.Errors {
			fmt.Fprintf(w, "  ! %s\n", e)
		}
	}
	if r.Interrupted {
		fmt.Fprintln(w, "\nmailbench: interrupted: the figures above are those measured before the stop")
	}
}

// text is e.g. "1.52 (≥ 1.5× nginx) ✓": the ratio to the reference, or
// for a bare limit the value itself with digits decimals; for a ratio
// without a target e.g. "0.85× nginx", or "—" when it is not known.
func (c CheckResult) text(digits int) string {
	if c.RatioOnly {
		if !c.Known {
			return "—"
		}
		return formatValue(c.Ratio, 2) + c.Target // "0.85" + "× nginx"
	}
	if !c.Known {
		return "n/a (" + c.Target + ")"
	}
	mark := "✗"
	if c.OK {
		mark = "✓"
	}
	if !strings.Contains(c.Target, "×") {
		return fmt.Sprintf("%s (%s) %s", formatValue(c.Ratio, digits), c.Target, mark)
	}
	return fmt.Sprintf("%s (%s) %s", formatValue(c.Ratio, 2), c.Target, mark)
}
