package nobasic

import (
	"errors"
	"net/http"
	"testing"
)

type okRT struct{ called *bool }

func (o okRT) RoundTrip(*http.Request) (*http.Response, error) {
	*o.called = true
	return &http.Response{StatusCode: http.StatusOK}, nil
}

func TestRefusesBasicPassesOthers(t *testing.T) {
	errRefused := errors.New("refused")
	for _, c := range []struct {
		auth    string
		refused bool
	}{
		{"Basic dXNlcjpwYXNz", true},
		{"BASIC dXNlcjpwYXNz", true},
		{"Negotiate TlRMTVNTUAAB", false},
		{"", false},
	} {
		called := false
		rt := RoundTripper{Next: okRT{&called}, Err: errRefused}
		req, _ := http.NewRequest("POST", "http://127.0.0.1/wsman", nil)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		_, err := rt.RoundTrip(req)
		if c.refused && (!errors.Is(err, errRefused) || called) {
			t.Errorf("%q: err %v, sent %v; want refused, not sent", c.auth, err, called)
		}
		if !c.refused && (err != nil || !called) {
			t.Errorf("%q: err %v, sent %v; want sent", c.auth, err, called)
		}
	}
}
