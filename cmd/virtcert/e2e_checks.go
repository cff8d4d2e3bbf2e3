//go:build vce2e

package main

// The end-to-end tests build virtcert with -tags vce2e to add their small
// deterministic checks (area "e2e") to the catalog.
import _ "github.com/virtcert/virtcert/e2e/e2echecks"
