// meshload drives load against the InternVL Mesh gateway (HTTP chat completions, streaming, conversations and
// the gRPC Chat service) from a JSON profile, measures time to first token and time per output token, checks the
// profile's thresholds and writes summary.json and report.md. See loadtest/README.md.
//
//	meshload -profile loadtest/profiles/smoke.json [-gateway http://127.0.0.1:8080] [-vus 2] [-duration 30s]
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	os.Exit(run())
}

func run() int {
	profilePath := flag.String("profile", "loadtest/profiles/smoke.json", "the run's profile (JSON)")
	gateway := flag.String("gateway", env("GATEWAY_URL", "http://127.0.0.1:8080"), "the gateway's base URL (GATEWAY_URL)")
	grpcAddr := flag.String("grpc", env("GATEWAY_GRPC_ADDR", ""), "the gateway's gRPC address (GATEWAY_GRPC_ADDR; default: the gateway's host, port 8081)")
	vus := flag.Int("vus", 0, "virtual users per scenario, instead of the profile's")
	duration := flag.Duration("duration", 0, "how long each scenario runs, instead of the profile's")
	only := flag.String("scenarios", "", "comma-separated scenarios to run, of those in the profile")
	model := flag.String("model", "", "the model to ask for (default: the first of GET /v1/models)")
	imagesDir := flag.String("images", "testdata/golden/images", "where the profile's images are")
	protoDir := flag.String("proto", "proto/src/main/proto", "the proto import root (for the gRPC scenario)")
	outDir := flag.String("out", "loadtest/out", "where summary.json and report.md go")
	allowRemote := flag.Bool("allow-remote", false, "allow a gateway that is not on a loopback address")
	flag.Parse()

	profile, err := LoadProfile(*profilePath)
	if err != nil {
		return usage(err)
	}
	if *duration > 0 {
		profile.Duration.Duration = *duration
	}
	if *only != "" {
		keep := map[string]int{}
		for _, name := range strings.Split(*only, ",") {
			n, ok := profile.Scenarios[strings.TrimSpace(name)]
			if !ok {
				return usage(fmt.Errorf("scenario %q is not in %s", name, *profilePath))
			}
			keep[strings.TrimSpace(name)] = n
		}
		profile.Scenarios = keep
	}
	for name := range profile.Scenarios {
		if *vus > 0 {
			profile.Scenarios[name] = *vus
		}
	}
	thresholds, err := ParseThresholds(profile.Thresholds)
	if err != nil {
		return usage(err)
	}
	base, err := url.Parse(strings.TrimRight(*gateway, "/"))
	if err != nil || base.Host == "" {
		return usage(fmt.Errorf("-gateway %q is not a URL", *gateway))
	}
	if *grpcAddr == "" {
		*grpcAddr = net.JoinHostPort(base.Hostname(), "8081")
	}
	if !*allowRemote && (!loopback(base.Hostname()) || !loopback(hostOf(*grpcAddr))) {
		return usage(fmt.Errorf("%s / %s is not a loopback address; pass -allow-remote to load a remote gateway", base.Host, *grpcAddr))
	}
	images, err := LoadImages(*imagesDir, profile.Request.Images)
	if err != nil {
		return usage(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := &Env{
		GatewayURL: base.String(), GrpcAddr: *grpcAddr, ProtoDir: *protoDir, Profile: profile, Images: images,
		HTTP:    &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, ResponseHeaderTimeout: profile.RequestTimeout.Duration}},
		Metrics: NewMetrics(), Model: *model,
	}
	if e.Model == "" {
		if e.Model, err = firstModel(ctx, e); err != nil {
			return usage(err)
		}
	}
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "meshload: "+format+"\n", args...) }
	logf("%s: %v for %s against %s (model %s)", *profilePath, profile.Scenarios, profile.Duration, e.GatewayURL, e.Model)

	started := time.Now()
	outcomes := Run(ctx, e, logf)
	evaluated := Evaluate(thresholds, e.Metrics)
	summary := &Summary{
		Target: e.GatewayURL, GrpcTarget: e.GrpcAddr, Model: e.Model, Profile: *profilePath, Started: started,
		Duration: time.Since(started).Round(time.Millisecond).String(), Scenarios: outcomes,
		Metrics: e.Metrics.Snapshot(), Thresholds: evaluated, Passed: true,
	}
	var broken []string
	for _, t := range evaluated {
		if !t.Passed {
			broken = append(broken, t.Key+" "+t.Expr)
		}
	}
	iterations := 0
	for _, o := range outcomes {
		iterations += o.Iterations - o.Failures
	}
	if iterations == 0 {
		broken = append(broken, "no iteration succeeded")
	}
	summary.Passed = len(broken) == 0
	summary.WriteText(os.Stdout)
	if err := summary.WriteFiles(*outDir); err != nil {
		logf("writing the report: %v", err)
		return 2
	}
	fmt.Printf("\n  report: %s/report.md, %s/summary.json\n", *outDir, *outDir)
	if !summary.Passed {
		fmt.Printf("meshload: FAILED: %s\n", strings.Join(broken, "; "))
		return 1
	}
	fmt.Printf("meshload: all %d thresholds met\n", len(evaluated))
	return 0
}

func usage(err error) int {
	fmt.Fprintln(os.Stderr, "meshload:", err)
	return 2
}

func env(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func hostOf(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func firstModel(ctx context.Context, e *Env) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.GatewayURL+"/v1/models", nil)
	resp, err := e.HTTP.Do(req)
	if err != nil {
		return "", fmt.Errorf("the gateway at %s does not answer (is the mesh running? `make run`): %v", e.GatewayURL, err)
	}
	var models struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := decodeOK(resp, &models); err != nil {
		return "", err
	}
	if len(models.Data) == 0 {
		return "", fmt.Errorf("GET /v1/models lists no model")
	}
	return models.Data[0].ID, nil
}
