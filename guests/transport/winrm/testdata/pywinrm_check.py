#!/usr/bin/python3
"""Check, with Debian's python3-winrm (pywinrm 0.3) as an independent
client, each server behaviour the Go WinRM transport relies on.

Reads a JSON job on stdin: {"host", "port", "username", "password", "ca",
"pin", "append_script", "quota"}; prints one JSON object per check on
stdout: {"check", "ok", "detail"}. The Go test (TestPyWinRMAgrees) reads
them and also checks the server side (files written, terminations seen).
"""
import base64
import hashlib
import json
import socket
import ssl
import sys
import time

import winrm
from winrm.exceptions import InvalidCredentialsError, WinRMError, WinRMTransportError

ARGS = ["-NoLogo", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-EncodedCommand"]


def enc(script):
    return base64.b64encode(("$ProgressPreference='SilentlyContinue';" + script).encode("utf-16-le")).decode("ascii")


def report(check, ok, detail):
    print(json.dumps({"check": check, "ok": bool(ok), "detail": detail}), flush=True)


def proto(job, password=None, op_timeout=20):
    return winrm.Protocol(
        endpoint="https://%s:%d/wsman" % (job["host"], job["port"]),
        transport="ntlm",
        username=job["username"],
        password=password or job["password"],
        server_cert_validation="validate",
        ca_trust_path=job["ca"],
        operation_timeout_sec=op_timeout,
        read_timeout_sec=op_timeout + 10,
    )


def run(p, shell, script, stdin=None):
    cid = p.run_command(shell, "powershell.exe", ARGS + [enc(script)])
    if stdin is not None:
        send_input(p, shell, cid, stdin)
    out, err, code = p.get_command_output(shell, cid)
    p.cleanup_command(shell, cid)
    return out, err, code


def send_input(p, shell, cid, data):
    # pywinrm 0.3 has no Send API; build the rsp:Send pywinrm 0.4 sends.
    import xmltodict
    req = {"env:Envelope": p._get_soap_header(
        resource_uri="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd",
        action="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send", shell_id=shell)}
    st = req["env:Envelope"].setdefault("env:Body", {}).setdefault("rsp:Send", {}).setdefault("rsp:Stream", {})
    st["@Name"], st["@CommandId"], st["@End"] = "stdin", cid, "true"
    st["#text"] = base64.b64encode(data).decode("ascii")
    p.send_message(xmltodict.unparse(req))


def main():
    job = json.load(sys.stdin)
    # 1. The certificate the server presents is the one pinned (Python's
    #    ssl module fetches it, validated against the CA).
    ctx = ssl.create_default_context(cafile=job["ca"])
    with socket.create_connection((job["host"], job["port"]), timeout=10) as s:
        with ctx.wrap_socket(s, server_hostname=job["host"]) as t:
            der = t.getpeercert(binary_form=True)
    got = "sha256:" + hashlib.sha256(der).hexdigest()
    report("certificate", got == job["pin"], got)

    # 2. Wrong credentials: a 401, which pywinrm names.
    try:
        proto(job, password="not-the-password").open_shell(codepage=65001)
        report("wrong-credentials", False, "shell opened")
    except InvalidCredentialsError as e:
        report("wrong-credentials", True, str(e))

    p = proto(job)
    shell = p.open_shell(codepage=65001)
    # 3. UTF-8 output in code page 65001, exit status as data.
    out, err, code = run(p, shell, "Write-Output 'h\u00e9llo \u2713';exit 3")
    report("utf8-exit", out == "h\u00e9llo \u2713\r\n".encode("utf-8") and code == 3, [out.decode("utf-8", "replace"), code])
    # 4. CLIXML on stderr for an unknown statement, exit 1; pywinrm's own
    #    cleaner reads it.
    out, err, code = run(p, shell, "Get-Nothing")
    clean = winrm.Session.__new__(winrm.Session)._clean_error_msg(err.decode("utf-8"))
    report("clixml", err.startswith(b"#< CLIXML\r\n") and code == 1 and "is not recognized" in clean, [code, clean[:120]])
    # 5. stdin through Send reaches the transport's append script.
    out, err, code = run(p, shell, "$t='C:\\py.bin';$m='Create';" + job["append_script"], stdin=base64.b64encode(b"from python"))
    report("stdin-append", code == 0, [code, err.decode("utf-8", "replace")[:200]])
    # 6. The Receive long poll times out (w:TimedOut, which pywinrm
    #    retries) while a command runs longer than the operation timeout.
    p1 = proto(job, op_timeout=1)
    sh1 = p1.open_shell(codepage=65001)
    t0 = time.time()
    out, err, code = run(p1, sh1, "Start-Sleep -Seconds 3;exit 4")
    report("long-poll-timeout", code == 4 and time.time() - t0 >= 2.5, [code, round(time.time() - t0, 2)])
    p1.close_shell(sh1)
    # 7. Signal terminate stops a running command (the Go side checks
    #    that the guest saw it).
    cid = p.run_command(shell, "powershell.exe", ARGS + [enc("Start-Sleep -Seconds 60")])
    time.sleep(0.5)
    p.cleanup_command(shell, cid)
    try:
        p.get_command_output(shell, cid)
        report("terminate", False, "command still receivable after terminate")
    except WinRMError as e:
        report("terminate", "InvalidParameter" in str(e) or "does not exist" in str(e), str(e)[:200])
    p.close_shell(shell)
    # 8. A shell runs at most job["quota"] commands, then w:QuotaLimit.
    shell = p.open_shell(codepage=65001)
    try:
        for i in range(job["quota"] + 1):
            run(p, shell, "exit 0")
        report("quota", False, "no quota fault")
    except (WinRMError, WinRMTransportError) as e:
        report("quota", "w:QuotaLimit" in str(e) and i == job["quota"], [i, str(e)[:300]])
    p.close_shell(shell)


if __name__ == "__main__":
    main()
