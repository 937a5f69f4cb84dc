package bench

import (
	"fmt"
	"math"
	"slices"
	"strconv"
)

// Result is what a Run measured.
type Result struct {
	Header      []string // what was run: machine, versions
	Figures     []FigureResult
	Interrupted bool  // the run was cut short (ctx ended)
	PIDs        []int // the long-lived processes it started (nginx and its workers, mailproxy), all stopped by the time Run returns
}

// FigureResult is one figure: a row per metric.
type FigureResult struct {
	ID, Title string
	Rows      []RowResult
	Errors    []string // runs that failed or reported errors

	figure  figure
	samples map[string][]sample // target → one per round
}

// RowResult is one metric over every target.
type RowResult struct {
	Label  string
	Digits int
	Values map[string][]float64 // target → one value per round
	Checks []CheckResult
}

// CheckResult is mailproxy's median held against one target.
type CheckResult struct {
	Target    string  // e.g. "≥ 1.5× nginx", or "× nginx" for a ratio without a target
	Ratio     float64 // mailproxy's median over the reference's (or the median itself, for a bare limit)
	Known     bool    // both medians were measured (and the reference's is not 0)
	OK        bool
	RatioOnly bool // no target: only the ratio is reported (OK means nothing)
}

// summarize turns the samples into rows: the figure's metrics, then
// those its more adds from the samples.
func (fr *FigureResult) summarize(targets map[string]*target) {
	metrics := fr.figure.metrics
	if fr.figure.more != nil {
		metrics = append(slices.Clone(metrics), fr.figure.more(fr.samples)...)
	}
	for _, m := range metrics {
		row := RowResult{Label: m.label, Digits: m.digits, Values: map[string][]float64{}}
		for name, ss := range fr.samples {
			if m.only != "" && name != m.only {
				continue
			}
			for _, s := range ss {
				if v, ok := m.value(s); ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
					row.Values[name] = append(row.Values[name], v)
				}
			}
		}
		for _, c := range m.checks {
			row.Checks = append(row.Checks, c.eval(row.Values, m.digits))
		}
		fr.Rows = append(fr.Rows, row)
	}
}

// eval holds mailproxy's median against c. What is judged is what is
// printed: a ratio rounded to 2 decimals, a bare value to digits.
func (c check) eval(values map[string][]float64, digits int) CheckResult {
	r := CheckResult{Target: c.String(), RatioOnly: c.ratioOnly}
	mp, ok := median(values[mailproxy])
	if !ok {
		return r
	}
	ref := 1.0
	if c.ref != "" {
		if ref, ok = median(values[c.ref]); !ok || ref == 0 {
			return r
		}
	}
	r.Ratio, r.Known = mp/ref, true
	if c.ref != "" {
		digits = 2
	}
	p := math.Pow(10, float64(digits))
	r.Ratio = math.Round(r.Ratio*p) / p
	if c.atMost {
		r.OK = r.Ratio <= c.factor
	} else {
		r.OK = r.Ratio >= c.factor
	}
	return r
}

// median of vs (the mean of the middle two for an even count).
func median(vs []float64) (float64, bool) {
	if len(vs) == 0 {
		return 0, false
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2], true
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2, true
}

// formatValue prints v with digits decimals, thousands grouped.
func formatValue(v float64, digits int) string {
	s := strconv.FormatFloat(v, 'f', digits, 64)
	intPart, frac := s, ""
	if i := len(s) - digits - 1; digits > 0 && i > 0 {
		intPart, frac = s[:i], s[i:]
	}
	neg := len(intPart) > 0 && intPart[0] == '-'
	if neg {
		intPart = intPart[1:]
	}
	for i := len(intPart) - 3; i > 0; i -= 3 {
		intPart = intPart[:i] + "," + intPart[i:]
	}
	if neg {
		intPart = "-" + intPart
	}
	return intPart + frac
}

// cell is "median (min–max)" of vs, or "—" when nothing was measured.
func cell(vs []float64, digits int) string {
	m, ok := median(vs)
	if !ok {
		return "—"
	}
	if len(vs) == 1 {
		return formatValue(m, digits)
	}
	return fmt.Sprintf("%s (%s–%s)", formatValue(m, digits), formatValue(slices.Min(vs), digits), formatValue(slices.Max(vs), digits))
}
