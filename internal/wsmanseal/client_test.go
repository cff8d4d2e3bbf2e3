package wsmanseal_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/virtcert/virtcert/fixtures/wsman"
	"github.com/virtcert/virtcert/internal/wsmanseal"
)

type nopBackend struct{}

func (nopBackend) Exec(context.Context, wsman.Command, io.Reader, io.Writer, io.Writer) (int, error) {
	return 0, nil
}

// TestClientRefusesClearAnswer: a server that logs the client in (the
// stand-in) but answers the sealed message in clear text (a proxy in
// the middle) gets ErrUnsealed, not its answer.
func TestClientRefusesClearAnswer(t *testing.T) {
	srv, err := wsman.NewServer(wsman.Config{Backend: nopBackend{}, Users: map[string]string{"u": "pw"}, HTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if wsmanseal.IsSealed(r.Header.Get("Content-Type")) {
			w.Header().Set("Content-Type", "application/soap+xml;charset=UTF-8")
			_, _ = io.WriteString(w, `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"/>`)
			return
		}
		srv.ServeHTTP(w, r) // the NTLM login
	}))
	defer ts.Close()
	c := wsmanseal.NewClient(ts.URL+"/wsman", "u", "pw", &http.Transport{}, 1<<20)
	defer c.Reset()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, body, err := c.Post(ctx, []byte("<s:Envelope/>")); !errors.Is(err, wsmanseal.ErrUnsealed) || body != nil {
		t.Fatalf("clear-text answer: err %v body %q, want ErrUnsealed and no body", err, body)
	}
	bad := wsmanseal.NewClient(ts.URL+"/wsman", "u", "not-pw", &http.Transport{}, 1<<20)
	defer bad.Reset()
	if _, _, err := bad.Post(ctx, []byte("<s:Envelope/>")); !errors.Is(err, wsmanseal.ErrCredentials) {
		t.Fatalf("wrong password: %v, want ErrCredentials", err)
	}
}
