package hyperv

import (
	"bytes"
	"encoding/base64"
	"testing"

	"github.com/masterzen/winrm"
)

// receiveResponse is a WS-Man ReceiveResponse as a Windows host sends it:
// base64 stream chunks, the command state and its exit code.
func receiveResponse(stdout, stderr string, exit string) string {
	return `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell">` +
		`<s:Header><a:Action>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/ReceiveResponse</a:Action></s:Header><s:Body><rsp:ReceiveResponse>` +
		`<rsp:Stream Name="stdout" CommandId="C1">` + base64.StdEncoding.EncodeToString([]byte(stdout)) + `</rsp:Stream>` +
		`<rsp:Stream Name="stderr" CommandId="C1">` + base64.StdEncoding.EncodeToString([]byte(stderr)) + `</rsp:Stream>` +
		`<rsp:CommandState CommandId="C1" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"><rsp:ExitCode>` + exit + `</rsp:ExitCode></rsp:CommandState>` +
		`</rsp:ReceiveResponse></s:Body></s:Envelope>`
}

// FuzzWinRMResponse drives a WS-Man response body through the parsing the
// production client path applies to it: masterzen/winrm's SOAP parsers
// (open shell, command, receive: what NTLMTransport.Post's body goes
// through), then the driver's own decoding of the streams (CLIXML errors
// on stderr, PowerShell JSON on stdout), behind the wellFormed check
// every production transport has. A hostile or garbled host must
// not crash the controller, and nothing may come out larger than went in.
func FuzzWinRMResponse(f *testing.F) {
	f.Add(receiveResponse(`{"Name":"vc-1","State":"Running"}`, "", "0"))
	f.Add(receiveResponse("", "#< CLIXML\r\n<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\"><S S=\"Error\">boom_x000D__x000A_</S></Objs>", "1"))
	f.Add(receiveResponse("[1,2", "", "-1"))
	f.Add(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><x:ResourceCreated xmlns:x="a"><w:Selector xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" Name="ShellId">S</w:Selector></x:ResourceCreated></s:Body></s:Envelope>`)
	f.Add("")
	f.Add("<")
	f.Fuzz(func(t *testing.T, body string) {
		if CheckResponse(body) != nil {
			return // wellFormed returns an error instead: never parsed
		}
		_, _ = winrm.ParseOpenShellResponse(body)
		_, _ = winrm.ParseExecuteCommandResponse(body)
		var so, se bytes.Buffer
		_, _, _ = winrm.ParseSlurpOutputErrResponse(body, &so, &se)
		if so.Len()+se.Len() > len(body) {
			t.Fatalf("streams (%d bytes) larger than the response (%d)", so.Len()+se.Len(), len(body))
		}
		c := ParseCLIXML(se.Bytes())
		_ = c.ErrorText()
		_ = c.Summary()
		var v any
		_ = DecodePSJSON(so.Bytes(), &v)
		var l List[map[string]any]
		_ = DecodePSJSON(so.Bytes(), &l)
	})
}
