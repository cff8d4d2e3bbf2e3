package wsmanseal_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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

// TestClientBadAnswerSignature: a sealed answer whose signature does not
// verify (tampered on the path) is ErrSignature, the security refusal
// callers do not retry, not a plain error.
func TestClientBadAnswerSignature(t *testing.T) {
	srv, err := wsman.NewServer(wsman.Config{Backend: nopBackend{}, Users: map[string]string{"u": "pw"}, HTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !wsmanseal.IsSealed(r.Header.Get("Content-Type")) {
			srv.ServeHTTP(w, r) // the NTLM login
			return
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, r)
		sig, sealed, n, err := wsmanseal.Unframe(rec.Body.Bytes())
		if err != nil {
			t.Errorf("the stand-in's sealed answer: %v", err)
			w.WriteHeader(500)
			return
		}
		sig = bytes.Clone(sig)
		sig[4] ^= 1 // the checksum (after the 4-byte version)
		w.Header().Set("Content-Type", wsmanseal.ContentType)
		w.WriteHeader(rec.Code)
		_, _ = w.Write(wsmanseal.Frame(sig, sealed, n))
	}))
	defer ts.Close()
	c := wsmanseal.NewClient(ts.URL+"/wsman", "u", "pw", &http.Transport{}, 1<<20)
	defer c.Reset()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, body, err := c.Post(ctx, []byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"/>`)); !errors.Is(err, wsmanseal.ErrSignature) || body != nil {
		t.Fatalf("tampered answer: err %v body %q, want ErrSignature and no body", err, body)
	}
}

// TestRefusal: every refusal the client returns, wrapped as it returns
// them, is a Refusal; a refused login and other errors are not.
func TestRefusal(t *testing.T) {
	for _, e := range []error{wsmanseal.ErrBasicOnly, wsmanseal.ErrNoSeal, wsmanseal.ErrUnsealed,
		wsmanseal.ErrRefusedSealed, wsmanseal.ErrFrame, wsmanseal.ErrSignature} {
		if !wsmanseal.Refusal(fmt.Errorf("sealed answer: %w: detail", e)) {
			t.Errorf("%v is not a Refusal", e)
		}
	}
	for _, e := range []error{wsmanseal.ErrCredentials, errors.New("connection reset"), nil} {
		if wsmanseal.Refusal(e) {
			t.Errorf("%v is a Refusal", e)
		}
	}
}
