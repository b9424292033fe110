package main

import (
	"strings"
	"testing"
	"time"
)

func TestThresholdsPassFailAndUnevaluated(t *testing.T) {
	m := NewMetrics()
	for _, v := range []float64{10, 20, 30, 40, 1000} {
		m.Trend("time_to_first_token", "chat_stream", v)
	}
	m.Rate("errors", "chat_text", false)
	m.Rate("errors", "chat_text", true)
	thresholds, err := ParseThresholds(map[string][]string{
		"time_to_first_token": {"med<50", "p(95)<500", "max<=1000"},
		"errors":              {"rate<0.01"},
		"time_to_first_token{scenario:chat_stream}": {"avg>0"},
		"time_per_output_token{scenario:grpc_chat}": {"p(95)<1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Threshold{}
	for _, th := range Evaluate(thresholds, m) {
		got[th.Key+" "+th.Expr] = th
	}
	expect := map[string]bool{
		"time_to_first_token med<50":                      true,
		"time_to_first_token p(95)<500":                   false, // 804 by interpolation
		"time_to_first_token max<=1000":                   true,
		"errors rate<0.01":                                false,
		"time_to_first_token{scenario:chat_stream} avg>0": true,
	}
	for key, passed := range expect {
		if th := got[key]; !th.Evaluated || th.Passed != passed {
			t.Errorf("%s: evaluated %v passed %v (observed %v), want passed %v", key, th.Evaluated, th.Passed, th.Observed, passed)
		}
	}
	if th := got["time_per_output_token{scenario:grpc_chat} p(95)<1"]; th.Evaluated || !th.Passed {
		t.Errorf("a threshold without samples must be left unevaluated and not fail: %+v", th)
	}
}

func TestThresholdSyntaxErrors(t *testing.T) {
	for _, bad := range []string{"p95<10", "p(101)<1", "avg<", "mean<3", "rate 0.1"} {
		if _, err := ParseThresholds(map[string][]string{"errors": {bad}}); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestStreamTimings(t *testing.T) {
	env := &Env{Metrics: NewMetrics()}
	body := strings.Join([]string{
		`data: {"choices":[{"delta":{"role":"assistant"}}]}`, "",
		`data: {"choices":[{"delta":{"content":"Hel"}}]}`, "",
		`data: {"choices":[{"delta":{"content":"lo"}}]}`, "",
		`data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":3}}`, "",
		"data: [DONE]", "",
	}, "\n")
	if err := readStream(env, "chat_stream", strings.NewReader(body), time.Now()); err != nil {
		t.Fatal(err)
	}
	snap := env.Metrics.Snapshot()
	if snap["completion_tokens"].Count != 3 || snap["time_to_first_token"].Count != 1 || snap["time_per_output_token"].Count != 1 {
		t.Errorf("metrics: %+v", snap)
	}
}

func TestStreamErrors(t *testing.T) {
	env := &Env{Metrics: NewMetrics()}
	for name, body := range map[string]string{
		"error event": "data: {\"error\":{\"message\":\"boom\"}}\n\n",
		"no [DONE]":   "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n",
		"not JSON":    "data: {oops\n\n",
	} {
		if err := readStream(env, "chat_stream", strings.NewReader(body), time.Now()); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
