package network_test

import (
	"flag"
	"os"
	"testing"
)

// TestMain lets the lab's guest slots (internal/labslot), not go test's
// -parallel (GOMAXPROCS, 2 on the lab), bound the lab tests run at once:
// with 2 places, TestE2EDebian (two slots) and TestE2EHealthy (waiting
// for two more) held both and TestE2EFaults, which fits the free slot,
// waited for them. An explicit -parallel is kept (as in e2e's TestMain).
func TestMain(m *testing.M) {
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		flag.Set("test.parallel", "3")
	}
	os.Exit(m.Run())
}
