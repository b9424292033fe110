package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"
)

// Env is what scenarios share: the targets, the profile, the images and the metrics.
type Env struct {
	GatewayURL string
	GrpcAddr   string
	ProtoDir   string
	Model      string
	Profile    *Profile
	Images     []Image
	HTTP       *http.Client
	Metrics    *Metrics
}

// A Scenario is one kind of user. Setup runs once before the load: it returns a reason to skip the scenario
// when the mesh does not offer what it needs yet (an API still being built), or an error when it is broken.
// Iterate is one user action; it records its own metrics and returns an error when the action failed.
type Scenario interface {
	Setup(ctx context.Context, env *Env) (skip string, err error)
	Iterate(ctx context.Context, env *Env, vu, iteration int) error
}

// errSkip ends a scenario during the run, for an API that answers 404 only once called (conversations).
type errSkip struct{ reason string }

func (e errSkip) Error() string { return e.reason }

var scenarios = map[string]func() Scenario{
	"chat_text":    func() Scenario { return &chatScenario{name: "chat_text", images: 0} },
	"chat_image":   func() Scenario { return &chatScenario{name: "chat_image", images: 1} },
	"chat_images":  func() Scenario { return &chatScenario{name: "chat_images", images: -1} },
	"chat_stream":  func() Scenario { return &chatScenario{name: "chat_stream", images: 0, stream: true} },
	"conversation": func() Scenario { return &conversationScenario{} },
	"grpc_chat":    func() Scenario { return &grpcChatScenario{} },
}

func scenarioNames() []string {
	names := make([]string, 0, len(scenarios))
	for n := range scenarios {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Outcome of one scenario in the run.
type Outcome struct {
	VUs        int    `json:"vus"`
	Iterations int    `json:"iterations"`
	Failures   int    `json:"failures"`
	Skipped    string `json:"skipped,omitempty"`
	FirstError string `json:"first_error,omitempty"`
}

// Run starts every scenario of the profile side by side (constant virtual users, like k6's constant-vus
// executor) and waits until all have stopped: at the profile's duration, after the last request in flight.
func Run(ctx context.Context, env *Env, log func(string, ...any)) map[string]*Outcome {
	outcomes := map[string]*Outcome{}
	ready := map[string]Scenario{}
	// Set every scenario up and warm it before any load starts, so cold start-up (class loading, JIT) of the mesh
	// does not land in the measured samples.
	for _, name := range sortedKeys(env.Profile.Scenarios) {
		if vus := env.Profile.Scenarios[name]; vus > 0 {
			outcomes[name] = &Outcome{VUs: vus}
			if s := prepare(ctx, env, name, outcomes[name], log); s != nil {
				ready[name] = s
			}
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	deadline := time.Now().Add(env.Profile.Duration.Duration)
	for _, name := range sortedKeys(ready) {
		s, out := ready[name], outcomes[name]
		for vu := 1; vu <= out.VUs; vu++ {
			wg.Add(1)
			go func(vu int) {
				defer wg.Done()
				for it := 0; time.Now().Before(deadline) && ctx.Err() == nil; it++ {
					if env.Profile.MaxIterations > 0 && it >= env.Profile.MaxIterations {
						return
					}
					reqCtx, cancel := context.WithTimeout(ctx, env.Profile.RequestTimeout.Duration)
					err := s.Iterate(reqCtx, env, vu, it)
					cancel()
					var skip errSkip
					mu.Lock()
					if errors.As(err, &skip) {
						if out.Skipped == "" {
							out.Skipped = skip.reason
							log("%s: skipped: %s", name, skip.reason)
						}
						mu.Unlock()
						return
					}
					out.Iterations++
					if err != nil {
						out.Failures++
						if out.FirstError == "" {
							out.FirstError = err.Error()
							log("%s: first failure: %v", name, err)
						}
					}
					mu.Unlock()
					env.Metrics.Rate("errors", name, err != nil)
					env.Metrics.Count("iterations", name, 1)
				}
			}(vu)
		}
	}
	wg.Wait()
	return outcomes
}

// prepare runs a scenario's Setup and its warm-up iterations (recorded nowhere); nil when it is skipped or broken.
func prepare(ctx context.Context, env *Env, name string, out *Outcome, log func(string, ...any)) Scenario {
	s := scenarios[name]()
	broken := func(err error) Scenario {
		out.Failures, out.FirstError = 1, err.Error()
		env.Metrics.Rate("errors", name, true)
		log("%s: %v", name, err)
		return nil
	}
	setupCtx, cancel := context.WithTimeout(ctx, env.Profile.RequestTimeout.Duration)
	skip, err := s.Setup(setupCtx, env)
	cancel()
	if skip != "" {
		out.Skipped = skip
		log("%s: skipped: %s", name, skip)
		return nil
	}
	if err != nil {
		return broken(fmt.Errorf("setup failed: %w", err))
	}
	warm := *env
	warm.Metrics = NewMetrics()
	for i := 0; i < env.Profile.WarmupIterations; i++ {
		reqCtx, cancel := context.WithTimeout(ctx, env.Profile.RequestTimeout.Duration)
		err := s.Iterate(reqCtx, &warm, 0, i)
		cancel()
		var skip errSkip
		if errors.As(err, &skip) {
			out.Skipped = skip.reason
			log("%s: skipped: %s", name, skip.reason)
			return nil
		}
		if err != nil {
			return broken(fmt.Errorf("warm-up failed: %w", err))
		}
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Durations are recorded in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// recordTokens records time to first token (when known: streamed answers) and time per output token: after the
// first token when that is known, else the whole request over its tokens (prefill included, so an upper bound).
func recordTokens(m *Metrics, scenario string, total, firstToken time.Duration, completionTokens int) {
	m.Count("completion_tokens", scenario, float64(completionTokens))
	if firstToken > 0 {
		m.Trend("time_to_first_token", scenario, ms(firstToken))
		if completionTokens > 1 {
			m.Trend("time_per_output_token", scenario, ms(total-firstToken)/float64(completionTokens-1))
		}
	} else if completionTokens > 0 {
		m.Trend("time_per_output_token", scenario, ms(total)/float64(completionTokens))
	}
}

func fail(format string, args ...any) error { return fmt.Errorf(format, args...) }
