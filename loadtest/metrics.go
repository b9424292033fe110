package main

import (
	"math"
	"sort"
	"sync"
)

// Metrics collects the samples of a run. Every sample is kept under its metric's name and under
// "name{scenario:X}", so thresholds and the report can look at the whole run or at one scenario.
type Metrics struct {
	mu     sync.Mutex
	trends map[string][]float64
	rates  map[string]*rate
	counts map[string]float64
}

type rate struct{ hits, total float64 }

func NewMetrics() *Metrics {
	return &Metrics{trends: map[string][]float64{}, rates: map[string]*rate{}, counts: map[string]float64{}}
}

func keys(name, scenario string) [2]string {
	return [2]string{name, name + "{scenario:" + scenario + "}"}
}

// Trend records a value (milliseconds for the timing metrics).
func (m *Metrics) Trend(name, scenario string, value float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys(name, scenario) {
		m.trends[k] = append(m.trends[k], value)
	}
}

// Rate records one event that either is a hit (an error, for "errors") or is not.
func (m *Metrics) Rate(name, scenario string, hit bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys(name, scenario) {
		r := m.rates[k]
		if r == nil {
			r = &rate{}
			m.rates[k] = r
		}
		r.total++
		if hit {
			r.hits++
		}
	}
}

// Count adds to a counter.
func (m *Metrics) Count(name, scenario string, delta float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys(name, scenario) {
		m.counts[k] += delta
	}
}

// Stats is what the report and the thresholds see of one metric key.
type Stats struct {
	Type   string             `json:"type"` // trend, rate or counter
	Count  float64            `json:"count"`
	Values map[string]float64 `json:"values"`
}

// Snapshot summarises every metric key.
func (m *Metrics) Snapshot() map[string]Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]Stats{}
	for k, samples := range m.trends {
		s := append([]float64(nil), samples...)
		sort.Float64s(s)
		sum := 0.0
		for _, v := range s {
			sum += v
		}
		out[k] = Stats{Type: "trend", Count: float64(len(s)), Values: map[string]float64{
			"avg": sum / float64(len(s)), "min": s[0], "med": percentile(s, 50), "p(90)": percentile(s, 90),
			"p(95)": percentile(s, 95), "p(99)": percentile(s, 99), "max": s[len(s)-1],
		}}
	}
	for k, r := range m.rates {
		out[k] = Stats{Type: "rate", Count: r.total, Values: map[string]float64{"rate": r.hits / r.total, "hits": r.hits}}
	}
	for k, c := range m.counts {
		out[k] = Stats{Type: "counter", Count: c, Values: map[string]float64{"count": c}}
	}
	return out
}

// percentile of sorted samples, interpolating between the two nearest ranks.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 1 {
		return sorted[0]
	}
	pos := p / 100 * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	return sorted[lo] + (sorted[hi]-sorted[lo])*(pos-float64(lo))
}

// Stat returns one statistic of a key ("p(95)", "avg", "rate", "count", ...); a percentile not precomputed is
// computed from the samples.
func (m *Metrics) Stat(key, stat string) (float64, bool) {
	snap := m.Snapshot()
	s, ok := snap[key]
	if !ok {
		return 0, false
	}
	if v, ok := s.Values[stat]; ok {
		return v, true
	}
	if s.Type == "trend" && stat == "count" {
		return s.Count, true
	}
	var p float64
	if s.Type == "trend" && parsePercentile(stat, &p) {
		m.mu.Lock()
		samples := append([]float64(nil), m.trends[key]...)
		m.mu.Unlock()
		sort.Float64s(samples)
		return percentile(samples, p), true
	}
	return 0, false
}
