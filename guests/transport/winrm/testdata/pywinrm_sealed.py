#!/usr/bin/python3
"""Check, with Debian's python3-winrm (pywinrm 0.3, ntlm-auth 1.4) as an
independent client, the plain-HTTP behaviour the Go transport relies on:
NTLM message encryption is accepted and answered sealed, and unsealed
messages and Basic are refused as Windows refuses them by default
(AllowUnencrypted=false).

Reads a JSON job on stdin: {"endpoint", "username", "password", "wrong",
"plain"}. "password" and "wrong" are "LM:NT" hashes, which ntlm-auth takes
in place of a password (Debian's OpenSSL 3 has no MD4 for ntlm-auth to
hash one); "plain" is the password itself, for Basic. Prints one JSON
object per check on stdout: {"check", "ok", "detail"}.
"""
import base64
import json
import sys

import winrm
import winrm.transport
from winrm.exceptions import InvalidCredentialsError

ARGS = ["-NoLogo", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-EncodedCommand"]
SEALED = 'multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted"'

# Record the Content-Type of every answer the server sends.
seen = []
_send = winrm.transport.Transport._send_message_request


def _record(self, prepared_request, message):
    r = _send(self, prepared_request, message)
    seen.append((prepared_request.headers.get("Content-Type", ""), r.headers.get("Content-Type", ""), len(r.content)))
    return r


winrm.transport.Transport._send_message_request = _record


def report(check, ok, detail):
    print(json.dumps({"check": check, "ok": bool(ok), "detail": detail}), flush=True)


def proto(job, transport="ntlm", encryption="always", password=None):
    return winrm.Protocol(endpoint=job["endpoint"], transport=transport, username=job["username"],
                          password=password or job["password"], message_encryption=encryption,
                          operation_timeout_sec=5, read_timeout_sec=15)


def refused(check, p):
    try:
        p.open_shell(codepage=65001)
        report(check, False, "shell opened")
    except InvalidCredentialsError as e:
        report(check, True, str(e))


def main():
    job = json.load(sys.stdin)
    # 1. Sealed round trip: every message and every answer sealed.
    p = proto(job)
    shell = p.open_shell(codepage=65001)
    script = base64.b64encode("Write-Output 'h\u00e9llo sealed';exit 5".encode("utf-16-le")).decode("ascii")
    cid = p.run_command(shell, "powershell.exe", ARGS + [script])
    out, err, code = p.get_command_output(shell, cid)
    p.cleanup_command(shell, cid)
    p.close_shell(shell)
    bodies = [s for s in seen if s[2] > 0]
    all_sealed = len(bodies) >= 4 and all(req.startswith(SEALED) and resp.startswith(SEALED) for req, resp, _ in bodies)
    report("sealed", out == "h\u00e9llo sealed\r\n".encode("utf-8") and code == 5 and all_sealed,
           [out.decode("utf-8", "replace"), code, len(bodies), sorted(set(resp for _, resp, _ in seen))])
    # 2. Wrong password, sealed: 401.
    refused("wrong-credentials", proto(job, password=job["wrong"]))
    # 3. NTLM without message encryption: 401 (AllowUnencrypted=false).
    refused("unencrypted-refused", proto(job, encryption="never"))
    # 4. Basic over HTTP: 401.
    refused("basic-refused", proto(job, transport="basic", encryption="never", password=job["plain"]))


if __name__ == "__main__":
    main()
