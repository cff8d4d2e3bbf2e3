package main

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/suites"
)

// Shell completion of flag values: check IDs and areas (--checks,
// --exclude, comma lists), drivers (--driver), plan files (--plan: *.yaml)
// and built-in profile names (`profiles NAME`).

// completeSelection completes the last item of a comma list of check IDs
// and areas; the items before it are kept as typed.
func completeSelection(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	done, last := "", toComplete
	if i := strings.LastIndexByte(toComplete, ','); i >= 0 {
		done, last = toComplete[:i+1], toComplete[i+1:]
	}
	var out []string
	for _, v := range selectionWords() {
		if strings.HasPrefix(v, last) {
			out = append(out, done+v)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}

// selectionWords are the areas, then the check IDs, of the catalog.
func selectionWords() []string {
	words := suites.Areas()
	for _, c := range suites.All() {
		words = append(words, c.ID)
	}
	return words
}

func completeDriver(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	return prefixed(drivers.Names(), toComplete), cobra.ShellCompDirectiveNoFileComp
}

// completeProfile completes the one argument of `profiles NAME`.
func completeProfile(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	bp, err := suites.BuiltinProfiles()
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	var names []string
	for n := range bp {
		names = append(names, n)
	}
	slices.Sort(names)
	return prefixed(names, toComplete), cobra.ShellCompDirectiveNoFileComp
}

func prefixed(words []string, prefix string) []string {
	var out []string
	for _, w := range words {
		if strings.HasPrefix(w, prefix) {
			out = append(out, w)
		}
	}
	return out
}

// registerCompletions wires the value completions into c's flags that
// exist (a flag a command lacks is left alone).
func registerCompletions(c *cobra.Command) {
	reg := func(name string, f func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective)) {
		if c.Flags().Lookup(name) != nil {
			_ = c.RegisterFlagCompletionFunc(name, f)
		}
	}
	reg("checks", completeSelection)
	reg("exclude", completeSelection)
	reg("driver", completeDriver)
	if c.Flags().Lookup("plan") != nil {
		_ = c.MarkFlagFilename("plan", "yaml", "yml")
	}
}
