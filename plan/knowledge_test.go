package plan

// know is what the run resolver tells plan validation: resolve.Knowledge,
// set by knowledge_ext_test.go (package plan_test may import resolve,
// which imports plan; plan's own tests may not).
var know Knowledge

// SetTestKnowledge sets know.
func SetTestKnowledge(k Knowledge) { know = k }
