package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/switchboard-cc/switchboard/internal/routing/scenario"
)

type routingCmd struct {
	Replay routingReplayCmd `cmd:"" help:"Run a recorded stream of configuration, worker and job events through the router under a virtual clock and print every decision with its reason."`
}

type routingReplayCmd struct {
	File  string `arg:"" type:"existingfile" help:"The stream: a scenario in YAML or JSON, or JSON Lines of steps, with offsets or instants (docs/routing.md)."`
	JSON  bool   `help:"Print each decision as a JSON object on its own line."`
	Check bool   `help:"Also compare the run with the stream's expectations; exit 1 when they differ."`
}

func (c *routingReplayCmd) Run() error {
	return replay(os.Stdout, os.Stderr, c.File, c.JSON, c.Check)
}

// replay prints every decision of a stream's run, one a line, in the
// order the router made them; the same stream always prints the same.
func replay(out, errOut io.Writer, file string, asJSON, check bool) error {
	sc, err := scenario.Load(file)
	if err != nil {
		return err
	}
	decisions, mismatches, err := scenario.Run(sc)
	enc := json.NewEncoder(out)
	for _, d := range decisions {
		if asJSON {
			if err := enc.Encode(d); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintln(out, scenario.Format(d, true))
	}
	if err != nil {
		return err
	}
	if check && len(mismatches) > 0 {
		for _, m := range mismatches {
			fmt.Fprintln(errOut, m)
		}
		return fmt.Errorf("%d expectations not met", len(mismatches))
	}
	return nil
}
