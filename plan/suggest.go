package plan

import (
	"reflect"
	"strings"
)

// Suggest returns " (did you mean X?)" when one of cands is a near miss
// of s (a small edit distance, or s with a different case), else "".
func Suggest(s string, cands []string) string {
	best, bestD := "", 0
	for _, c := range cands {
		if c == s {
			return ""
		}
		d := distance(strings.ToLower(s), strings.ToLower(c))
		if best == "" || d < bestD {
			best, bestD = c, d
		}
	}
	// At most 2 edits, and fewer than a third of the word: "x" is no near
	// miss of "os".
	if best == "" || bestD > 2 || bestD*3 > len(s) {
		return ""
	}
	return " (did you mean " + best + "?)"
}

// distance is the Levenshtein distance between a and b (bytes).
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// planTypes are the plan's mapping types as yaml.v3 names them in its
// "field X not found in type plan.T" errors.
var planTypes = map[string]reflect.Type{
	"plan.Plan":     reflect.TypeFor[Plan](),
	"plan.Host":     reflect.TypeFor[Host](),
	"plan.Image":    reflect.TypeFor[Image](),
	"plan.Pair":     reflect.TypeFor[Pair](),
	"plan.Timeouts": reflect.TypeFor[Timeouts](),
}

// fieldNames lists the YAML keys of a plan type (nil: not a plan type).
func fieldNames(typeName string) []string {
	t, ok := planTypes[typeName]
	if !ok {
		return nil
	}
	var out []string
	for f := range t.Fields() {
		if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}
