//go:build race

package html

func init() { raceEnabled = true }
