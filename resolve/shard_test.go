package resolve

import (
	"strings"
	"testing"

	"github.com/virtcert/virtcert/drivers"
)

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		in   string
		i, n int
		msg  string
	}{
		{"1/1", 1, 1, ""}, {"2/3", 2, 3, ""}, {"3/2", 0, 0, "i must be between 1 and 2"}, {"0/0", 0, 0, "n must be at least 1"},
		{"0/3", 0, 0, "i must be between 1 and 3"}, {"1/-1", 0, 0, "n must be at least 1"}, {"2", 0, 0, "want i/n"}, {"a/b", 0, 0, "want i/n"}, {"", 0, 0, "want i/n"},
	} {
		i, n, err := ParseShard(tc.in)
		if tc.msg == "" {
			if err != nil || i != tc.i || n != tc.n {
				t.Errorf("%q: %d %d %v", tc.in, i, n, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.msg) || drivers.ClassOf(err) != drivers.ClassInput {
			t.Errorf("%q: err %v, want input error with %q", tc.in, err, tc.msg)
		}
	}
}

// TestShardTargets: the plan's targets narrowed to the shard, every host
// kept (a peer may live on any), the shard recorded with the whole matrix;
// a shard that would test nothing is bad input.
func TestShardTargets(t *testing.T) {
	var got []string
	for i := 1; i <= 2; i++ {
		rr, err := Resolve(testPlan(t, ""), Options{Catalog: catalog})
		if err != nil {
			t.Fatal(err)
		}
		if err := rr.Shard(i, 2); err != nil {
			t.Fatal(err)
		}
		if len(rr.Targets) != 1 || len(rr.Hosts) != 2 || rr.ShardInfo.Index != i || strings.Join(rr.ShardInfo.Matrix, " ") != "e/tiny h1/tiny" {
			t.Fatalf("shard %d: targets %d hosts %d info %+v", i, len(rr.Targets), len(rr.Hosts), rr.ShardInfo)
		}
		if !strings.Contains(rr.ShardLine(), "shard "+rr.ShardInfo.String()+": 1 of 2 targets") {
			t.Errorf("line %q", rr.ShardLine())
		}
		got = append(got, rr.Targets[0].ID)
	}
	if strings.Join(got, " ") != "e/tiny h1/tiny" {
		t.Errorf("shards: %v", got)
	}
	rr, _ := Resolve(testPlan(t, ""), Options{Catalog: catalog})
	if err := rr.Shard(3, 3); err == nil || !strings.Contains(err.Error(), "would test nothing; use at most 2 shard(s)") || drivers.ClassOf(err) != drivers.ClassInput {
		t.Errorf("empty shard: %v", err)
	}
}
