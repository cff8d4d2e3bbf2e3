package parse

import (
	"encoding/json"
	"errors"
	"strings"
)

// Iperf3Result is the summary of `iperf3 -J` (client side).
type Iperf3Result struct {
	SentBitsPerSec     float64
	ReceivedBitsPerSec float64
	Streams            int
	Seconds            float64
	Retransmits        int
	Error              string // iperf3's own "error" field
}

// Iperf3 parses iperf3's JSON output (a TCP test).
func Iperf3(out string) (Iperf3Result, error) {
	var r Iperf3Result
	i := strings.IndexByte(out, '{')
	if i < 0 {
		return r, errors.New("iperf3: no JSON object in output")
	}
	var doc struct {
		Start struct {
			TestStart struct {
				NumStreams int `json:"num_streams"`
			} `json:"test_start"`
		} `json:"start"`
		End struct {
			SumSent struct {
				Seconds       float64 `json:"seconds"`
				BitsPerSecond float64 `json:"bits_per_second"`
				Retransmits   int     `json:"retransmits"`
			} `json:"sum_sent"`
			SumReceived struct {
				Seconds       float64 `json:"seconds"`
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(out[i:]), &doc); err != nil {
		return r, err
	}
	r.Error = doc.Error
	r.Streams = doc.Start.TestStart.NumStreams
	r.SentBitsPerSec = doc.End.SumSent.BitsPerSecond
	r.ReceivedBitsPerSec = doc.End.SumReceived.BitsPerSecond
	r.Seconds = doc.End.SumReceived.Seconds
	r.Retransmits = doc.End.SumSent.Retransmits
	if r.Error == "" && r.ReceivedBitsPerSec == 0 {
		return r, errors.New("iperf3: no end.sum_received in output")
	}
	return r, nil
}
