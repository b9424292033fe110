package main

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
)

// A threshold is a condition on one statistic of one metric key, written as k6 writes them:
// "p(95)<2000", "avg<=500", "rate<0.01", "count>0". Keys may name a scenario: "time_to_first_token{scenario:chat_stream}".
type Threshold struct {
	Key       string  `json:"metric"`
	Expr      string  `json:"condition"`
	Stat      string  `json:"-"`
	Op        string  `json:"-"`
	Limit     float64 `json:"-"`
	Observed  float64 `json:"observed"`
	Evaluated bool    `json:"evaluated"` // false when the metric has no samples (its scenario was skipped)
	Passed    bool    `json:"passed"`
}

var thresholdSyntax = regexp.MustCompile(`^\s*(avg|min|max|med|count|rate|p\(\d+(?:\.\d+)?\))\s*(<=|>=|<|>|==)\s*(-?[0-9.]+)\s*$`)
var percentileSyntax = regexp.MustCompile(`^p\((\d+(?:\.\d+)?)\)$`)

func parsePercentile(stat string, p *float64) bool {
	m := percentileSyntax.FindStringSubmatch(stat)
	if m == nil {
		return false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil || v < 0 || v > 100 {
		return false
	}
	*p = v
	return true
}

// ParseThresholds turns a profile's {"metric": ["cond", ...]} into thresholds, in a stable order.
func ParseThresholds(spec map[string][]string) ([]Threshold, error) {
	metrics := make([]string, 0, len(spec))
	for k := range spec {
		metrics = append(metrics, k)
	}
	sort.Strings(metrics)
	var out []Threshold
	for _, key := range metrics {
		for _, expr := range spec[key] {
			m := thresholdSyntax.FindStringSubmatch(expr)
			var p float64
			if m == nil || (m[1][0] == 'p' && !parsePercentile(m[1], &p)) {
				return nil, fmt.Errorf("threshold %q on %s: write it like \"p(95)<2000\", \"avg<500\" or \"rate<0.01\"", expr, key)
			}
			limit, err := strconv.ParseFloat(m[3], 64)
			if err != nil {
				return nil, fmt.Errorf("threshold %q on %s: %v", expr, key, err)
			}
			out = append(out, Threshold{Key: key, Expr: expr, Stat: m[1], Op: m[2], Limit: limit})
		}
	}
	return out, nil
}

// Evaluate fills in Observed, Evaluated and Passed. A threshold on a metric without samples is not evaluated
// and does not fail the run; the report lists it.
func Evaluate(thresholds []Threshold, m *Metrics) []Threshold {
	out := make([]Threshold, len(thresholds))
	for i, t := range thresholds {
		v, ok := m.Stat(t.Key, t.Stat)
		t.Observed, t.Evaluated = v, ok
		t.Passed = !ok || compare(v, t.Op, t.Limit)
		out[i] = t
	}
	return out
}

func compare(v float64, op string, limit float64) bool {
	switch op {
	case "<":
		return v < limit
	case "<=":
		return v <= limit
	case ">":
		return v > limit
	case ">=":
		return v >= limit
	default:
		return v == limit
	}
}
