package plan_test

import (
	_ "github.com/virtcert/virtcert/drivers/all"
	"github.com/virtcert/virtcert/plan"
	"github.com/virtcert/virtcert/resolve"
)

func init() { plan.SetTestKnowledge(resolve.Knowledge(nil)) }
