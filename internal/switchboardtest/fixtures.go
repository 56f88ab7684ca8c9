package switchboardtest

import (
	"os"
	"path/filepath"
	"testing"
)

// FixturesDir is the shared conformance material (Microsoft's recorded ACS
// sessions and event samples), which lives beside the project in
// ../shared/fixtures and is never copied into it. SWITCHBOARD_FIXTURES
// overrides the location.
func FixturesDir(t testing.TB) string {
	t.Helper()
	var candidates []string
	if d := os.Getenv("SWITCHBOARD_FIXTURES"); d != "" {
		candidates = append(candidates, d)
	}
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				candidates = append(candidates, filepath.Join(filepath.Dir(dir), "shared", "fixtures"))
				break
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	candidates = append(candidates, "/work/shared/fixtures")
	for _, c := range candidates {
		if st, err := os.Stat(c); err == nil && st.IsDir() {
			return c
		}
	}
	t.Fatalf("the shared fixtures are not at any of %v: put them at ../shared/fixtures beside the repository or set SWITCHBOARD_FIXTURES", candidates)
	return ""
}
