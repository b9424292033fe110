// composecheck validates a compose file offline with the loader docker compose itself uses (compose-go): the
// compose-spec schema, interpolation, and references between services, volumes and networks. On top of that it
// checks what this project wants of its compose file: published ports bound to loopback only, and build targets
// that exist in the Dockerfile they name. No Docker engine is needed.
//
//	go run . ../../compose.yaml
package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: composecheck <compose.yaml>")
		os.Exit(2)
	}
	project, err := load(os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	problems := append(loopbackPorts(project), buildTargets(project)...)
	for _, p := range problems {
		fmt.Fprintf(os.Stderr, "%s: %s\n", os.Args[1], p)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
	fmt.Printf("%s: valid (%d services: %s)\n", os.Args[1], len(project.Services), strings.Join(serviceNames(project), ", "))
}

func load(path string) (*types.Project, error) {
	// Only the file's own defaults: the caller's environment and any .env must not change what is checked.
	options, err := cli.NewProjectOptions([]string{path}, cli.WithEnv(nil), cli.WithResolvedPaths(true), cli.WithConsistency(true))
	if err != nil {
		return nil, err
	}
	return options.LoadProject(context.Background())
}

func loopbackPorts(project *types.Project) []string {
	var problems []string
	for _, name := range serviceNames(project) {
		for _, port := range project.Services[name].Ports {
			if port.Published != "" && port.HostIP != "127.0.0.1" && port.HostIP != "::1" {
				problems = append(problems, fmt.Sprintf("service %s publishes port %s on %q: bind it to 127.0.0.1",
					name, port.Published, port.HostIP))
			}
		}
	}
	return problems
}

var fromStage = regexp.MustCompile(`(?i)^\s*FROM\s+\S+\s+AS\s+(\S+)\s*$`)

func buildTargets(project *types.Project) []string {
	var problems []string
	for _, name := range serviceNames(project) {
		build := project.Services[name].Build
		if build == nil {
			continue
		}
		dockerfile := build.Dockerfile
		if !filepath.IsAbs(dockerfile) {
			dockerfile = filepath.Join(build.Context, dockerfile)
		}
		stages, err := stagesOf(dockerfile)
		if err != nil {
			problems = append(problems, fmt.Sprintf("service %s: %v", name, err))
			continue
		}
		if build.Target != "" && !stages[strings.ToLower(build.Target)] {
			problems = append(problems, fmt.Sprintf("service %s: target %q is not a stage of %s", name, build.Target, dockerfile))
		}
	}
	return problems
}

func stagesOf(dockerfile string) (map[string]bool, error) {
	f, err := os.Open(dockerfile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	stages := map[string]bool{}
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		if m := fromStage.FindStringSubmatch(scanner.Text()); m != nil {
			stages[strings.ToLower(m[1])] = true
		}
	}
	return stages, scanner.Err()
}

func serviceNames(project *types.Project) []string {
	names := make([]string, 0, len(project.Services))
	for name := range project.Services {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
