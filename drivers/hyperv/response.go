package hyperv

import (
	"fmt"
	"strings"

	"github.com/ChrisTrenkamp/goxpath/tree/xmltree"
	"github.com/masterzen/winrm"
	"github.com/masterzen/winrm/soap"
)

// wellFormed wraps the WinRM transport of every auth method and refuses
// a response body that masterzen/winrm could not parse. The library
// parses Receive responses in a goroutine of its own and dereferences a
// nil document when the body is not XML (an empty 200 answer, a proxy's
// page labelled application/soap+xml): the panic would kill virtcert
// mid-run. Found by FuzzWinRMResponse.
type wellFormed struct{ winrm.Transporter }

// Post returns the inner transport's body only when it parses.
func (w wellFormed) Post(c *winrm.Client, m *soap.SoapMessage) (string, error) {
	body, err := w.Transporter.Post(c, m)
	if err != nil {
		return body, err
	}
	if err := CheckResponse(body); err != nil {
		return "", err
	}
	return body, nil
}

// CheckResponse fails for a WinRM response body that is not a
// well-formed XML document, with the same parser the library uses.
func CheckResponse(body string) error {
	if _, err := xmltree.ParseXML(strings.NewReader(body)); err != nil {
		return fmt.Errorf("the WinRM response is not well-formed XML (%d bytes): %v", len(body), err)
	}
	return nil
}

// checked decorates a transport (nil: the library's default one) with
// wellFormed.
func checked(decorator func() winrm.Transporter) func() winrm.Transporter {
	return func() winrm.Transporter {
		if decorator == nil {
			return wellFormed{winrm.NewClientWithDial(nil)}
		}
		return wellFormed{decorator()}
	}
}
