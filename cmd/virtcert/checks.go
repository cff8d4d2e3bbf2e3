package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/virtcert/virtcert/suites"
)

type checkInfo struct {
	ID          string     `json:"id"`
	Area        string     `json:"area"`
	Priority    int        `json:"priority"`
	Title       string     `json:"title"`
	Doc         string     `json:"doc,omitempty"`
	Hypervisors []string   `json:"hypervisors,omitempty"`
	OS          []string   `json:"os,omitempty"`
	Needs       []string   `json:"needs,omitempty"`
	Disruptive  bool       `json:"disruptive,omitempty"`
	Timeout     string     `json:"timeout"`
	Fault       *faultInfo `json:"fault,omitempty"`
}

// faultInfo is the guest fault a check catches and the proof that it
// FAILs on it.
type faultInfo struct {
	What   string      `json:"what"`
	Made   string      `json:"made"`
	Proven string      `json:"proven"` // lab, transcript
	Proofs []proofInfo `json:"proofs"`
}

type proofInfo struct {
	Kind   string `json:"kind"`
	Test   string `json:"test"`
	Case   string `json:"case,omitempty"`
	Source string `json:"source,omitempty"` // transcripts: captured or constructed
}

func faultOf(f suites.Fault) *faultInfo {
	if f.What == "" {
		return nil
	}
	fi := &faultInfo{What: f.What, Made: f.Made, Proven: f.Proven()}
	for _, p := range f.Proofs {
		pi := proofInfo{Kind: string(p.Kind), Test: p.Test, Case: p.Case}
		if plat, _, ok := strings.Cut(p.Case, "/"); ok && p.Kind == suites.ProofTranscript {
			pi.Source = suites.TranscriptSources[plat]
		}
		fi.Proofs = append(fi.Proofs, pi)
	}
	return fi
}

func newChecks() *cobra.Command {
	var asJSON, faults bool
	var guestOS string
	c := &cobra.Command{
		Use:   "checks",
		Short: "List the check catalog (--faults: the fault each check catches and its proof)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			catalog, err := catalogFor(guestOS)
			if err != nil {
				return err
			}
			if faults {
				if asJSON {
					return exitf(ExitInput, "--faults and --json: choose one (--json carries each check's fault)")
				}
				fmt.Fprint(cmd.OutOrStdout(), suites.FaultTable(catalog))
				return nil
			}
			var list []checkInfo
			for _, c := range catalog {
				list = append(list, checkInfo{ID: c.ID, Area: c.Area, Priority: c.Priority, Title: c.Title, Doc: c.Doc,
					Hypervisors: c.Hypervisors, OS: c.OS, Needs: c.Needs, Disruptive: c.Disruptive, Timeout: c.Timeout.String(),
					Fault: faultOf(c.Fault)})
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
			fmt.Fprintln(tw, "ID\tAREA\tPRIO\tAPPLIES TO\tNEEDS\tTIMEOUT\tPROVEN\tTITLE / CATCHES")
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
				proven, catches := "-", ""
				if c.Fault != nil {
					proven, catches = c.Fault.Proven, "\n\t\t\t\t\t\t\t  catches: "+c.Fault.What
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s%s\n", c.ID, c.Area, c.Priority, applies, needs, c.Timeout, proven, c.Title, catches)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if note := simulatedNote(list); note != "" {
				fmt.Fprintln(cmd.OutOrStdout(), "\n"+note)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), "\nvirtcert checks --faults: how each fault is made and the tests that prove the check FAILs on it (suites/CATALOG.md)")
			return err
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "JSON output")
	c.Flags().StringVar(&guestOS, "os", "", "only the checks that apply to this guest OS (linux or windows); --json shows each check's evidence commands (doc)")
	c.Flags().BoolVar(&faults, "faults", false, "print the fault table (Markdown): check, fault it catches, how the fault is made, proof")
	return c
}

func newProfiles() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:               "profiles [NAME]",
		Short:             "Print the built-in expectation profiles as YAML (copy one to override values with profile_overrides)",
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeProfile,
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
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), profilesDocOf(bp, sorted(names)))
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
	c.Flags().BoolVar(&asJSON, "json", false, "print the profiles as JSON ("+ProfilesSchema+")")
	return c
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

// catalogFor returns the catalog, or the checks that apply to guestOS.
func catalogFor(guestOS string) ([]suites.Check, error) {
	all := suites.All()
	if guestOS == "" {
		return all, nil
	}
	if guestOS != "linux" && guestOS != "windows" {
		return nil, exitf(ExitInput, "--os %q: want linux or windows", guestOS)
	}
	var out []suites.Check
	for _, c := range all {
		if len(c.OS) == 0 || slices.Contains(c.OS, guestOS) {
			out = append(out, c)
		}
	}
	return out, nil
}

// simulatedNote says, when the list holds checks of Windows guests, that
// they are proven on constructed transcripts only: no Windows guest has
// run them (suites.TranscriptSources: windows-* are constructed).
func simulatedNote(list []checkInfo) string {
	for _, c := range list {
		if slices.Contains(c.OS, "windows") {
			return "SIMULATED: the Windows checks (windows.*) are proven on constructed transcripts only\n" +
				"(fixtures/transcripts/windows-*, built from documented output formats) and fixtures/winguest;\n" +
				"none has run against a real Windows guest, so they cannot certify one yet."
		}
	}
	return ""
}
