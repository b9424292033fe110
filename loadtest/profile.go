package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// Profile is one load-test run as a JSON file (profiles/*.json): how long, how many virtual users per scenario,
// what the requests look like and which thresholds must hold.
type Profile struct {
	// Each scenario's virtual users loop for Duration, each at most MaxIterations times (0: no cap).
	Duration      Duration `json:"duration"`
	MaxIterations int      `json:"max_iterations_per_vu"`
	// Iterations of each scenario run once, one after the other, before the load starts; not measured.
	WarmupIterations int `json:"warmup_iterations"`
	// A request that takes longer fails.
	RequestTimeout Duration       `json:"request_timeout"`
	Scenarios      map[string]int `json:"scenarios"` // scenario name -> virtual users
	Request        RequestShape   `json:"request"`
	// The gRPC request as protojson of Chat.Complete's input; "${MAX_TOKENS}", "${PROMPT}" and "${MODEL}" inside its
	// strings are replaced (protojson reads a quoted number into an integer field).
	GrpcRequest json.RawMessage     `json:"grpc_request"`
	Thresholds  map[string][]string `json:"thresholds"`
}

// RequestShape is what every chat request asks for.
type RequestShape struct {
	MaxTokens       int      `json:"max_tokens"`
	Temperature     float64  `json:"temperature"`
	MaxDynamicPatch int      `json:"max_dynamic_patch"` // tiles per image (0: the model's default)
	Prompts         []string `json:"prompts"`
	// Images for the image scenarios, file names in the images directory; "several images" sends ImagesPerRequest.
	Images           []string `json:"images"`
	ImagesPerRequest int      `json:"images_per_request"`
}

// Duration reads "20s", "2m" in JSON.
type Duration struct{ time.Duration }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string like \"30s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	d.Duration = v
	return err
}

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

func LoadProfile(path string) (*Profile, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p Profile
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if p.Duration.Duration <= 0 || p.RequestTimeout.Duration <= 0 {
		return nil, fmt.Errorf("%s: duration and request_timeout must be positive", path)
	}
	if len(p.Scenarios) == 0 {
		return nil, fmt.Errorf("%s: no scenarios", path)
	}
	for name := range p.Scenarios {
		if _, ok := scenarios[name]; !ok {
			return nil, fmt.Errorf("%s: unknown scenario %q (known: %v)", path, name, scenarioNames())
		}
	}
	if p.Request.MaxTokens <= 0 || len(p.Request.Prompts) == 0 {
		return nil, fmt.Errorf("%s: request.max_tokens and request.prompts are required", path)
	}
	if p.Request.ImagesPerRequest < 2 {
		p.Request.ImagesPerRequest = 2
	}
	return &p, nil
}
