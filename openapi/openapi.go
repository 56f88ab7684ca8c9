// Package openapi embeds Switchboard's public contract, served at
// /openapi.json and checked against the registered routes by tests.
package openapi

import _ "embed"

// Document is the OpenAPI 3.1 description of every implemented endpoint.
//
//go:embed openapi.json
var Document []byte
