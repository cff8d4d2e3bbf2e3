//go:build windows

package hyperv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"github.com/microsoft/wmi/pkg/base/host"
	"github.com/microsoft/wmi/pkg/base/instance"

	"github.com/virtcert/virtcert/drivers"
)

// localExecutor runs command lines through cmd.exe on this Windows host,
// so the upload and script path is the same as over WinRS.
type localExecutor struct{}

func newLocalExecutor() (Executor, error) { return localExecutor{}, nil }

func (localExecutor) Exec(ctx context.Context, cmdline string) (Output, error) {
	cmd := exec.CommandContext(ctx, "cmd.exe")
	// The command line is already quoted for cmd.exe (see QuoteArg); pass
	// it verbatim instead of letting os/exec re-escape it.
	cmd.SysProcAttr = &syscall.SysProcAttr{CmdLine: `cmd.exe /d /c ` + cmdline}
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ctx.Err() == nil {
		return Output{Stdout: so.Bytes(), Stderr: se.Bytes(), Exit: ee.ExitCode()}, nil
	}
	if err != nil {
		return Output{}, drivers.Wrap(drivers.ClassHost, "hyperv local exec", err)
	}
	return Output{Stdout: so.Bytes(), Stderr: se.Bytes()}, nil
}

func (localExecutor) Close() error { return nil }

const virtNS = `root\virtualization\v2`

// wqlString quotes a WQL string literal (backslash escapes).
func wqlString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// KVP reads the guest's intrinsic KVP items straight from WMI, without a
// PowerShell process per poll.
func (localExecutor) KVP(ctx context.Context, vm string) (map[string]string, error) {
	type res struct {
		m   map[string]string
		err error
	}
	ch := make(chan res, 1)
	go func() {
		m, err := wmiKVP(vm)
		ch <- res{m, err}
	}()
	select {
	case r := <-ch:
		return r.m, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func wmiKVP(vm string) (map[string]string, error) {
	h := host.NewWmiLocalHost()
	css, err := instance.GetWmiInstancesFromHostRawQuery(h, virtNS, "SELECT * FROM Msvm_ComputerSystem WHERE ElementName="+wqlString(vm))
	if err != nil {
		return nil, fmt.Errorf("WMI Msvm_ComputerSystem: %w", err)
	}
	defer func() {
		for _, c := range css {
			_ = c.Close()
		}
	}()
	if len(css) != 1 {
		return nil, fmt.Errorf("WMI: %d VMs named %q", len(css), vm)
	}
	id, err := css[0].GetProperty("Name")
	if err != nil {
		return nil, err
	}
	q := fmt.Sprintf(`ASSOCIATORS OF {Msvm_ComputerSystem.CreationClassName="Msvm_ComputerSystem",Name="%v"} WHERE ResultClass=Msvm_KvpExchangeComponent`, id)
	kvps, err := instance.GetWmiInstancesFromHostRawQuery(h, virtNS, q)
	if err != nil {
		return nil, fmt.Errorf("WMI Msvm_KvpExchangeComponent: %w", err)
	}
	defer func() {
		for _, k := range kvps {
			_ = k.Close()
		}
	}()
	var items []string
	for _, k := range kvps {
		v, err := k.GetProperty("GuestIntrinsicExchangeItems")
		if err != nil {
			continue
		}
		if xs, ok := v.([]interface{}); ok {
			for _, x := range xs {
				if s, ok := x.(string); ok {
					items = append(items, s)
				}
			}
		}
	}
	return ParseKVPItems(items), nil
}

// enabledStates maps Msvm_ComputerSystem.EnabledState to the names Get-VM
// uses (CIM_EnabledLogicalElement values and Hyper-V's vendor range).
var enabledStates = map[int64]string{
	2: "Running", 3: "Off", 6: "Saved", 9: "Paused", 32768: "Paused", 32769: "Saved",
	32770: "Starting", 32773: "Saving", 32774: "Stopping", 32776: "Pausing", 32777: "Resuming",
}

// VMState reads a VM's state straight from WMI ("" when no such VM).
func (localExecutor) VMState(ctx context.Context, vm string) (string, error) {
	type res struct {
		s   string
		err error
	}
	ch := make(chan res, 1)
	go func() {
		s, err := wmiState(vm)
		ch <- res{s, err}
	}()
	select {
	case r := <-ch:
		return r.s, r.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func wmiState(vm string) (string, error) {
	css, err := instance.GetWmiInstancesFromHostRawQuery(host.NewWmiLocalHost(), virtNS, "SELECT * FROM Msvm_ComputerSystem WHERE ElementName="+wqlString(vm))
	if err != nil {
		return "", fmt.Errorf("WMI Msvm_ComputerSystem: %w", err)
	}
	defer func() {
		for _, c := range css {
			_ = c.Close()
		}
	}()
	if len(css) == 0 {
		return "", nil
	}
	v, err := css[0].GetProperty("EnabledState")
	if err != nil {
		return "", err
	}
	n, err := strconv.ParseInt(fmt.Sprint(v), 10, 64)
	if err != nil {
		return "", fmt.Errorf("WMI EnabledState %v", v)
	}
	if s, ok := enabledStates[n]; ok {
		return s, nil
	}
	return "Other", nil
}
