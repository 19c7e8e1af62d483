// compose-check validates Compose files with compose-go, the loader `docker compose` itself uses
// (schema, interpolation, anchors and merges), on machines with the docker CLI but no Compose
// plugin. It prints the resolved project as JSON with -json, for structural tests.
//
//	compose-check [-json] FILE...
//
// Exit status 0 = valid, 1 = invalid (the reason on stderr), 2 = bad usage.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	printJSON := flag.Bool("json", false, "print the resolved project as JSON")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: compose-check [-json] FILE...")
		os.Exit(2)
	}
	options, err := cli.NewProjectOptions(flag.Args(), cli.WithOsEnv, cli.WithWorkingDirectory("."))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if !*printJSON {
		fmt.Printf("valid: project %q, %d services\n", project.Name, len(project.Services))
		return
	}
	out, err := json.MarshalIndent(project, "", "  ")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(string(out))
}
