//go:build !windows

package hyperv

import "github.com/virtcert/virtcert/drivers"

// newLocalExecutor: local mode drives the Hyper-V module on this machine,
// which only exists on Windows.
func newLocalExecutor() (Executor, error) {
	return nil, drivers.Errorf(drivers.ClassInput, "hyperv open local", "local mode runs on the Windows Hyper-V host itself; from here use https://host:5986/wsman")
}
