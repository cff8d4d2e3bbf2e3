package resolve

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/plan"
	"github.com/virtcert/virtcert/suites"
)

// knowledge applies what the drivers and the check catalog know to a
// plan's validation (plan.Knowledge).
type knowledge struct{ catalog []suites.Check }

// Knowledge returns the plan.Knowledge of the registered drivers, the
// built-in profiles and catalog (nil: suites.All()).
func Knowledge(catalog []suites.Check) plan.Knowledge {
	if catalog == nil {
		catalog = suites.All()
	}
	return knowledge{catalog: catalog}
}

func (knowledge) Drivers() []string { return drivers.Names() }

func (knowledge) CheckURI(driver, uri string) (bool, error) {
	d, ok := drivers.Lookup(driver)
	if !ok {
		return false, fmt.Errorf("unknown driver %q%s (want one of %s)", driver, plan.Suggest(driver, drivers.Names()), strings.Join(drivers.Names(), ", "))
	}
	return d.CheckURI(uri)
}

func (knowledge) Profiles() []string {
	bp, err := suites.BuiltinProfiles()
	if err != nil {
		return nil
	}
	ks := make([]string, 0, len(bp))
	for k := range bp {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func (k knowledge) CheckSelector(s string) error {
	if s == "" {
		return errors.New("empty entry (name a check, an area or a glob such as clock.*)")
	}
	if slices.Contains(suites.Areas(), s) || slices.ContainsFunc(k.catalog, func(c suites.Check) bool { return Selects(s, c) }) {
		return nil
	}
	if _, err := path.Match(s, ""); err != nil {
		return fmt.Errorf("bad glob %q: %v", s, err)
	}
	if strings.ContainsAny(s, "*?[") {
		return fmt.Errorf("%q matches no check (see `virtcert checks`)", s)
	}
	names := slices.Clone(suites.Areas())
	for _, c := range k.catalog {
		names = append(names, c.ID)
	}
	if hint := plan.Suggest(s, names); hint != "" {
		return fmt.Errorf("unknown check or area %q%s", s, hint)
	}
	return fmt.Errorf("unknown check or area %q (see `virtcert checks`)", s)
}

func (knowledge) Attaches(driver string) bool {
	d, ok := drivers.Lookup(driver)
	return ok && d.Attaches
}

func (knowledge) ExpandURI(s string) (string, error) { return ExpandURI(s) }

// ExpandURI is plan.ResolveURI that refuses a password in the URI, as
// written or as expanded from ${VAR} (drivers.URIHasPassword). Its errors
// never repeat the URI's password.
func ExpandURI(s string) (string, error) {
	if drivers.URIHasPassword(s) {
		return "", errors.New(drivers.URIPasswordMessage)
	}
	uri, err := plan.ResolveURI(s)
	if err != nil {
		return "", err
	}
	if drivers.URIHasPassword(uri) {
		return "", errors.New(drivers.URIPasswordMessage + " (it came from an environment variable the uri names)")
	}
	return uri, nil
}

// CheckProfileFile loads a profile_overrides file. Laid over each
// built-in profile, every wait a check makes (Check.Waits) must be a
// number of seconds, and no check's waits may outlast run, the whole
// run's timeout (it would cut the run short inside that check). A wait
// longer than the check's own timeout is fine: the run grants the check
// its waits (suites.CheckTimeout).
func (k knowledge) CheckProfileFile(path string, run time.Duration) error {
	o, err := suites.LoadProfileFile(path)
	if err != nil {
		return err
	}
	ps, err := suites.BuiltinProfiles()
	if err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(ps)) {
		p := ps[name].Override(o)
		probs := p.WaitValueProblems(k.catalog)
		if len(probs) == 0 && run > 0 {
			// Only the checks the file changes: a built-in wait longer
			// than a short run (a Windows shutdown's, in a Linux plan's
			// 20 minutes) is not this file's doing.
			probs = p.WaitsOver(overridden(k.catalog, o), run)
		}
		if len(probs) > 0 {
			return fmt.Errorf("laid over profile %s: %s", name, strings.Join(probs, "; "))
		}
	}
	return nil
}

// overridden are the checks of catalog whose values o sets.
func overridden(catalog []suites.Check, o *suites.Profile) []suites.Check {
	var out []suites.Check
	for _, c := range catalog {
		if _, ok := o.Checks[c.ID]; ok {
			out = append(out, c)
		}
	}
	return out
}

// Load reads and validates a plan file with what the drivers and the
// catalog know.
func Load(path string) (*plan.Plan, error) { return plan.Load(path, Knowledge(nil)) }

// FromFlags builds and validates a one-off plan from flags.
func FromFlags(f plan.Flags) (*plan.Plan, error) { return plan.FromFlags(f, Knowledge(nil)) }

// CheckSelection validates --checks/--exclude entries against the
// catalog: each is an area, a check ID or a glob naming at least one.
// Every bad entry is reported (a plan.Errors).
func CheckSelection(flag string, sel []string) error {
	k := Knowledge(nil)
	var errs plan.Errors
	for _, s := range sel {
		if err := k.CheckSelector(s); err != nil {
			errs = append(errs, &plan.Error{Field: flag, Message: err.Error()})
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// Credentials resolves a host's username and password from the
// environment or the files named in the plan.
func Credentials(h *plan.Host) (user string, pass drivers.Secret, err error) {
	user = h.Username
	if h.UsernameEnv != "" {
		user = os.Getenv(h.UsernameEnv)
	}
	switch {
	case h.PasswordEnv != "":
		v, ok := os.LookupEnv(h.PasswordEnv)
		if !ok {
			return "", "", drivers.Errorf(drivers.ClassInput, "credentials", "environment variable %s (password_env) is not set", h.PasswordEnv)
		}
		pass = drivers.Secret(v)
	case h.PasswordFile != "":
		b, err := os.ReadFile(h.PasswordFile)
		if err != nil {
			return "", "", drivers.Errorf(drivers.ClassInput, "credentials", "password_file %s: %s", filepath.Base(h.PasswordFile), pathErr(err))
		}
		pass = drivers.Secret(strings.TrimRight(string(b), "\r\n"))
	}
	return user, pass, nil
}

func pathErr(err error) string {
	if pe, ok := errors.AsType[*os.PathError](err); ok {
		return pe.Err.Error()
	}
	return err.Error()
}
