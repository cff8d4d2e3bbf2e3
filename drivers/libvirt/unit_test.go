package libvirt

import (
	"context"
	"errors"
	"strings"
	"testing"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/virtcert/virtcert/drivers"
)

func TestUndoRunsInReverseEvenWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Ctrl-C arrived: cleanup must still run, with a live context
	var order []int
	u := undoStack{
		func(c context.Context) error { order = append(order, 1); return c.Err() },
		func(c context.Context) error { order = append(order, 2); return errors.New("two failed") },
		func(c context.Context) error { order = append(order, 3); return c.Err() },
	}
	err := u.run(ctx)
	if len(order) != 3 || order[0] != 3 || order[2] != 1 {
		t.Fatalf("order %v", order)
	}
	if err == nil || !strings.Contains(err.Error(), "two failed") || strings.Contains(err.Error(), "canceled") {
		t.Fatalf("err %v", err)
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want drivers.Class
	}{
		{golibvirt.Error{Code: uint32(golibvirt.ErrNoStoragePool), Message: "no pool"}, drivers.ClassInput},
		{golibvirt.Error{Code: uint32(golibvirt.ErrNoNetwork), Message: "no net"}, drivers.ClassInput},
		{golibvirt.Error{Code: uint32(golibvirt.ErrInternalError), Message: "Cannot access storage file '/x/y.qcow2': No such file or directory"}, drivers.ClassInput},
		{golibvirt.Error{Code: uint32(golibvirt.ErrInternalError), Message: "qemu unexpectedly closed the monitor"}, drivers.ClassHost},
		{errors.New("EOF"), drivers.ClassHost},
	} {
		if got := drivers.ClassOf(classify("op", tc.err)); got != tc.want {
			t.Errorf("%v: %s, want %s", tc.err, got, tc.want)
		}
	}
	if !isNoDomain(classify("op", golibvirt.Error{Code: uint32(golibvirt.ErrNoDomain)})) {
		t.Error("the libvirt error code is lost by classify")
	}
}

func TestRedactURI(t *testing.T) {
	got := drivers.RedactURI("qemu+ssh://root:hunter2@h/system")
	if strings.Contains(got, "hunter2") {
		t.Fatal(got)
	}
}
