// Package archtest keeps the import rule of DESIGN.md: foundation ← domain ←
// engines/adapters ← edges ← app ← cmd. Domain packages import no
// transport, and nothing below app imports app.
package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/switchboard-cc/switchboard/"

type pkg struct {
	ImportPath string
	Imports    []string
}

func packages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports", module+"...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var pkgs []pkg
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// forbidden lists, per package, imports it must never have. A prefix ending
// in "/" matches everything under it.
var forbidden = map[string][]string{
	"internal/errs":         {module, "net/http", "database/sql"},
	"internal/tenant":       {module + "internal/identity", module + "internal/event", "net/http", "database/sql", "github.com/nats-io/"},
	"internal/event":        {module + "internal/identity", "net/http", "database/sql", "github.com/nats-io/"},
	"internal/identity":     {"net/http", "database/sql", "github.com/nats-io/", module + "internal/store", module + "internal/api", module + "internal/bus"},
	"internal/idempotency":  {"net/http", "database/sql", "github.com/nats-io/"},
	"internal/store":        {"net/http", "github.com/nats-io/", module + "internal/api", module + "internal/bus", module + "internal/webhook/dispatcher"},
	"internal/api":          {"database/sql", "github.com/nats-io/", module + "internal/store", module + "internal/bus"},
	"internal/bus":          {"net/http", "database/sql", module + "internal/store", module + "internal/api"},
	"internal/webhook":      {"database/sql", module + "internal/store", module + "internal/api"},
	"internal/conversation": {"net/http", "database/sql", "github.com/nats-io/", "github.com/coder/websocket", module + "internal/store", module + "internal/api", module + "internal/bus", module + "internal/realtime"},
	"internal/contact":      {"net/http", "database/sql", "github.com/nats-io/", module + "internal/store", module + "internal/api", module + "internal/bus"},
	"internal/routing":      {"net/http", "database/sql", "github.com/nats-io/", module + "internal/store", module + "internal/api", module + "internal/bus"},
	"internal/realtime":     {"database/sql", module + "internal/store", module + "internal/api"},
	"internal/engagement":   {"net/http", "database/sql", "github.com/nats-io/", module + "internal/store", module + "internal/api", module + "internal/bus", module + "internal/realtime"},
	"internal/bot/flow":     {module, "net/http", "database/sql", "github.com/nats-io/"},
	"internal/bot":          {"database/sql", "github.com/nats-io/", module + "internal/store", module + "internal/api", module + "internal/bus", module + "internal/webhook"},
}

func TestImportRules(t *testing.T) {
	for _, p := range packages(t) {
		rel := strings.TrimPrefix(p.ImportPath, module)
		for _, imp := range p.Imports {
			if imp == module+"internal/app" && !strings.HasPrefix(rel, "cmd/") && rel != "internal/switchboardtest" {
				t.Errorf("%s imports internal/app; only cmd and the test harness may", rel)
			}
			for _, bad := range forbidden[rel] {
				if imp == bad || (strings.HasSuffix(bad, "/") && strings.HasPrefix(imp, bad)) {
					t.Errorf("%s must not import %s", rel, imp)
				}
			}
		}
	}
}
