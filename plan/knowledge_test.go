package plan

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/virtcert/virtcert/drivers"
	_ "github.com/virtcert/virtcert/drivers/all"
	"github.com/virtcert/virtcert/suites"
)

// testKnow is what the run resolver tells plan validation (package run
// implements it; plan's tests cannot import run), built from the same
// registries.
type testKnow struct{}

var know Knowledge = testKnow{}

func (testKnow) Drivers() []string { return drivers.Names() }

func (testKnow) CheckURI(driver, uri string) (bool, error) {
	d, ok := drivers.Lookup(driver)
	if !ok {
		return false, fmt.Errorf("unknown driver %q", driver)
	}
	return d.CheckURI(uri)
}

func (testKnow) Profiles() []string { return []string{"hyperv-gen1", "hyperv-gen2", "kvm", "kvm-tcg"} }

func (testKnow) Selectable(s string) bool {
	if slices.Contains(suites.Areas(), s) {
		return true
	}
	_, ok := suites.Lookup(s)
	return ok || strings.HasPrefix(s, "area-only")
}

func (testKnow) Attaches(driver string) bool {
	d, ok := drivers.Lookup(driver)
	return ok && d.Attaches
}

func (testKnow) ExpandURI(s string) (string, error) {
	if drivers.URIHasPassword(s) {
		return "", errors.New(drivers.URIPasswordMessage)
	}
	uri, err := ResolveURI(s)
	if err == nil && drivers.URIHasPassword(uri) {
		return "", errors.New(drivers.URIPasswordMessage + " (it came from an environment variable the uri names)")
	}
	return uri, err
}

func (testKnow) CheckProfileFile(path string) error {
	_, err := suites.LoadProfileFile(path)
	return err
}
