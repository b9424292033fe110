package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Summary is the run as summary.json holds it (the counterpart of k6's handleSummary data).
type Summary struct {
	Target     string              `json:"target"`
	GrpcTarget string              `json:"grpc_target"`
	Model      string              `json:"model"`
	Profile    string              `json:"profile"`
	Started    time.Time           `json:"started"`
	Duration   string              `json:"duration"`
	Scenarios  map[string]*Outcome `json:"scenarios"`
	Metrics    map[string]Stats    `json:"metrics"`
	Thresholds []Threshold         `json:"thresholds"`
	Passed     bool                `json:"passed"`
}

var trendOrder = []string{"avg", "min", "med", "p(90)", "p(95)", "max"}

// WriteText prints the summary for a terminal: scenarios, the main metrics, thresholds.
func (s *Summary) WriteText(w io.Writer) {
	fmt.Fprintf(w, "\nmeshload: %s against %s (model %s), %s\n\n", s.Profile, s.Target, s.Model, s.Duration)
	for _, name := range sortedKeys(s.Scenarios) {
		o := s.Scenarios[name]
		if o.Skipped != "" {
			fmt.Fprintf(w, "  %-13s skipped: %s\n", name, o.Skipped)
			continue
		}
		fmt.Fprintf(w, "  %-13s %d VUs, %d iterations, %d failed\n", name, o.VUs, o.Iterations, o.Failures)
		if o.FirstError != "" {
			fmt.Fprintf(w, "  %-13s first failure: %s\n", "", o.FirstError)
		}
	}
	fmt.Fprintln(w)
	for _, key := range s.metricKeys() {
		st := s.Metrics[key]
		switch st.Type {
		case "trend":
			var parts []string
			for _, stat := range trendOrder {
				parts = append(parts, fmt.Sprintf("%s=%s", stat, msString(st.Values[stat])))
			}
			fmt.Fprintf(w, "  %-48s %s (n=%d)\n", key, strings.Join(parts, " "), int(st.Count))
		case "rate":
			fmt.Fprintf(w, "  %-48s %.2f%% (%d of %d)\n", key, 100*st.Values["rate"], int(st.Values["hits"]), int(st.Count))
		case "counter":
			fmt.Fprintf(w, "  %-48s %d\n", key, int(st.Count))
		}
	}
	fmt.Fprintln(w, "\n  thresholds:")
	for _, t := range s.Thresholds {
		mark := "ok  "
		switch {
		case !t.Evaluated:
			mark = "n/a "
		case !t.Passed:
			mark = "FAIL"
		}
		observed := "no samples"
		if t.Evaluated {
			observed = fmt.Sprintf("%.4g", t.Observed)
		}
		fmt.Fprintf(w, "  %s %s %s (observed %s)\n", mark, t.Key, t.Expr, observed)
	}
}

// metricKeys: the whole-run keys first, then per scenario, each group sorted.
func (s *Summary) metricKeys() []string {
	keys := sortedKeys(s.Metrics)
	sort.SliceStable(keys, func(i, j int) bool {
		return !strings.Contains(keys[i], "{") && strings.Contains(keys[j], "{")
	})
	return keys
}

func msString(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.2fs", v/1000)
	}
	return fmt.Sprintf("%.1fms", v)
}

// WriteFiles writes summary.json and report.md into dir.
func (s *Summary) WriteFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "summary.json"), append(raw, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "report.md"), []byte(s.markdown()), 0o644)
}

func (s *Summary) markdown() string {
	var b strings.Builder
	verdict := "passed"
	if !s.Passed {
		verdict = "FAILED"
	}
	fmt.Fprintf(&b, "# Load test report: %s\n\n", verdict)
	fmt.Fprintf(&b, "Profile `%s` against %s (gRPC %s), model `%s`; started %s, ran %s.\n\n",
		s.Profile, s.Target, s.GrpcTarget, s.Model, s.Started.Format(time.RFC3339), s.Duration)
	b.WriteString("## Scenarios\n\n| scenario | VUs | iterations | failed | note |\n| --- | ---: | ---: | ---: | --- |\n")
	for _, name := range sortedKeys(s.Scenarios) {
		o := s.Scenarios[name]
		note := o.FirstError
		if o.Skipped != "" {
			note = "skipped: " + o.Skipped
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %s |\n", name, o.VUs, o.Iterations, o.Failures, strings.ReplaceAll(note, "|", "\\|"))
	}
	b.WriteString("\n## Timings (ms)\n\n| metric | n | avg | min | med | p(90) | p(95) | max |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, key := range s.metricKeys() {
		st := s.Metrics[key]
		if st.Type != "trend" {
			continue
		}
		fmt.Fprintf(&b, "| `%s` | %d |", key, int(st.Count))
		for _, stat := range trendOrder {
			fmt.Fprintf(&b, " %.1f |", st.Values[stat])
		}
		b.WriteString("\n")
	}
	b.WriteString("\n## Counts and rates\n\n| metric | value |\n| --- | ---: |\n")
	for _, key := range s.metricKeys() {
		st := s.Metrics[key]
		switch st.Type {
		case "rate":
			fmt.Fprintf(&b, "| `%s` | %.2f%% (%d of %d) |\n", key, 100*st.Values["rate"], int(st.Values["hits"]), int(st.Count))
		case "counter":
			fmt.Fprintf(&b, "| `%s` | %d |\n", key, int(st.Count))
		}
	}
	b.WriteString("\n## Thresholds\n\n| metric | condition | observed | result |\n| --- | --- | ---: | --- |\n")
	for _, t := range s.Thresholds {
		result, observed := "passed", fmt.Sprintf("%.4g", t.Observed)
		if !t.Evaluated {
			result, observed = "not evaluated (no samples)", "-"
		} else if !t.Passed {
			result = "**failed**"
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s |\n", t.Key, t.Expr, observed, result)
	}
	b.WriteString("\nTime to first token is measured on streamed answers (HTTP SSE, gRPC StreamComplete) at the first " +
		"chunk that carries content. Time per output token is (duration - time to first token) / (tokens - 1) for " +
		"those, and duration / tokens for answers that are not streamed (prefill included: an upper bound).\n")
	return b.String()
}
