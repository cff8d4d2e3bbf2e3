package main

import (
	"github.com/spf13/cobra"
)

// These commands wire helper D's reports/{merge,diff,bundle} packages;
// until they land they say so plainly (exit 3).

func notBuilt(what string) error {
	return exitf(ExitHarness, "%s is not built yet in this virtcert", what)
}

func newMerge() *cobra.Command {
	return &cobra.Command{Use: "merge RUN...", Short: "Merge shard runs into one", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return notBuilt("report merge") }}
}

func newDiff() *cobra.Command {
	return &cobra.Command{Use: "diff OLD NEW", Short: "Show what changed between two runs", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error { return notBuilt("report diff") }}
}

func newVerify() *cobra.Command {
	return &cobra.Command{Use: "verify DIR", Short: "Verify a signed result bundle", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return notBuilt("report verify") }}
}

func checkSignKey(file string) error { return exitf(ExitInput, "--sign-key: bundle signing is not built yet") }

func signBundle(dir, key string) error { return notBuilt("bundle signing") }
