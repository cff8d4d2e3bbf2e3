package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/virtcert/virtcert/suites"
)

type checkInfo struct {
	ID          string   `json:"id"`
	Area        string   `json:"area"`
	Priority    int      `json:"priority"`
	Title       string   `json:"title"`
	Doc         string   `json:"doc,omitempty"`
	Hypervisors []string `json:"hypervisors,omitempty"`
	OS          []string `json:"os,omitempty"`
	Needs       []string `json:"needs,omitempty"`
	Disruptive  bool     `json:"disruptive,omitempty"`
	Timeout     string   `json:"timeout"`
}

func newChecks() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "checks",
		Short: "List the check catalog",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var list []checkInfo
			for _, c := range suites.All() {
				list = append(list, checkInfo{ID: c.ID, Area: c.Area, Priority: c.Priority, Title: c.Title, Doc: c.Doc,
					Hypervisors: c.Hypervisors, OS: c.OS, Needs: c.Needs, Disruptive: c.Disruptive, Timeout: c.Timeout.String()})
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if list == nil {
					list = []checkInfo{}
				}
				return enc.Encode(list)
			}
			if len(list) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "no checks are built into this virtcert")
				return nil
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tAREA\tPRIO\tAPPLIES TO\tNEEDS\tTIMEOUT\tTITLE")
			for _, c := range list {
				applies := "all"
				var parts []string
				if len(c.Hypervisors) > 0 {
					parts = append(parts, strings.Join(c.Hypervisors, ","))
				}
				if len(c.OS) > 0 {
					parts = append(parts, strings.Join(c.OS, ","))
				}
				if len(parts) > 0 {
					applies = strings.Join(parts, " / ")
				}
				needs := strings.Join(c.Needs, ",")
				if c.Disruptive {
					needs = strings.TrimPrefix(needs+",disruptive", ",")
				}
				if needs == "" {
					needs = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", c.ID, c.Area, c.Priority, applies, needs, c.Timeout, c.Title)
			}
			return tw.Flush()
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "JSON output")
	return c
}

func newProfiles() *cobra.Command {
	return &cobra.Command{
		Use:   "profiles [NAME]",
		Short: "Print the built-in expectation profiles as YAML (copy one to override values with profile_overrides)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			bp, err := suites.BuiltinProfiles()
			if err != nil {
				return exitf(ExitHarness, "%v", err)
			}
			var names []string
			for n := range bp {
				names = append(names, n)
			}
			if len(args) == 1 {
				if bp[args[0]] == nil {
					return exitf(ExitInput, "no profile %q (have %s)", args[0], strings.Join(sorted(names), ", "))
				}
				names = args
			}
			for i, n := range sorted(names) {
				if i > 0 {
					fmt.Fprintln(cmd.OutOrStdout(), "---")
				}
				fmt.Fprintf(cmd.OutOrStdout(), "# %s\n", bp[n].Source)
				b, err := yaml.Marshal(bp[n])
				if err != nil {
					return err
				}
				cmd.OutOrStdout().Write(b)
			}
			return nil
		},
	}
}

func sorted(xs []string) []string {
	out := append([]string(nil), xs...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
