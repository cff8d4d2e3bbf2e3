package hyperv_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/drivers/hyperv"
)

const soapNS = `xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"`

// garbledHost opens a shell and starts commands like a WinRM host, then
// answers every Receive with an empty body labelled SOAP.
func garbledHost(t *testing.T) *httptest.Server {
	// HTTPS, unverified (insecure): over plain HTTP the driver would
	// insist on NTLM sealing, which this host does not speak.
	return httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		req := string(b)
		w.Header().Set("Content-Type", "application/soap+xml;charset=UTF-8")
		switch {
		case strings.Contains(req, "transfer/Create"):
			io.WriteString(w, `<s:Envelope `+soapNS+`><s:Body><x:ResourceCreated xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer"><a:ReferenceParameters><w:SelectorSet><w:Selector Name="ShellId">S1</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated></s:Body></s:Envelope>`)
		case strings.Contains(req, "shell/Command<"), strings.Contains(req, "shell/Command\""):
			io.WriteString(w, `<s:Envelope `+soapNS+`><s:Header><a:Action>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandResponse</a:Action></s:Header><s:Body><rsp:CommandResponse><rsp:CommandId>C1</rsp:CommandId></rsp:CommandResponse></s:Body></s:Envelope>`)
		case strings.Contains(req, "shell/Receive"):
			// nothing: an empty 200
		default:
			io.WriteString(w, `<s:Envelope `+soapNS+`><s:Body/></s:Envelope>`)
		}
	}))
}

// TestWinRMGarbledResponse: a host (or a proxy) answering a Receive with a
// body that is not XML made masterzen/winrm panic in its own goroutine,
// killing virtcert (301818a; found by FuzzWinRMResponse). It is an error
// of that command now.
func TestWinRMGarbledResponse(t *testing.T) {
	srv := garbledHost(t)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ex, err := hyperv.DialWinRM(ctx, srv.URL+"/wsman", drivers.OpenOptions{Username: "u", Password: "pw", Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	if _, err := ex.Exec(ctx, "echo ok"); err == nil || !strings.Contains(err.Error(), "not well-formed XML") {
		t.Fatalf("err = %v", err)
	}
}
