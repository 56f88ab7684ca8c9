package flow

import "embed"

//go:embed demo/en.yaml demo/id.yaml
var demos embed.FS

// Demo returns the demo support flow for a locale, "en" or "id", as a
// document to store and edit; nil for any other locale.
func Demo(locale string) []byte {
	if locale != "en" && locale != "id" {
		return nil
	}
	b, err := demos.ReadFile("demo/" + locale + ".yaml")
	if err != nil {
		panic(err) // embedded at build time: cannot happen
	}
	return b
}
