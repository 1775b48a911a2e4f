"""Submission (RFC 6409, RFC 8314): AUTH over TLS only with PLAIN, LOGIN,
SCRAM-SHA-256(-PLUS) and EXTERNAL, checked with smtplib, gsasl, swaks and
curl; the failed-login penalty; who may send as whom; hourly limits;
send-only tokens; the header fields submission adds."""
import base64
import os
import re
import smtplib
import socket
import ssl
import statistics
import subprocess
import time

import pytest

from conftest import DOMAIN, HOST, PASSWORD, Chat, client_context, free_port

ALICE = f"alice@{DOMAIN}"
BOB = f"bob@{DOMAIN}"


def submission(make_server, pki, settings=None, start=True):
    sub, subs = free_port(), free_port()
    conf = {"tls": {"client_ca": pki["client_ca"]},
            "auth": {"failure_delay": "0", "failure_delay_max": "0"}}
    for k, v in (settings or {}).items():
        conf.setdefault(k, {}).update(v)
    s = make_server(settings=conf, start=False, listeners={
        "smtp": {"address": f"127.0.0.1:{free_port()}"},
        "submission": {"address": f"127.0.0.1:{sub}", "role": "submission",
                       "client_certificates": "request"},
        "submissions": {"address": f"127.0.0.1:{subs}", "role": "submission",
                        "tls": "implicit", "client_certificates": "request"},
    })
    s.sub, s.subs = sub, subs
    if start:
        s.start()
    return s


def plain(user, password):
    return base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()


def tls_chat(chat, s, cert=None):
    """A Chat on the STARTTLS submission port, after EHLO over TLS."""
    c = chat(s.sub)
    c.greet()
    c.cmd("STARTTLS", 220)
    ctx = client_context(s.pki)
    if cert:
        ctx.load_cert_chain(cert["crt"], cert["key"])
    c.sock = ctx.wrap_socket(c.sock, server_hostname=HOST)
    c.ehlo = c.cmd("EHLO client.example.org", 250)
    return c


MSG = (f"From: Alice <{ALICE}>\r\nTo: {BOB}\r\nSubject: submitted\r\n\r\n"
       "hello\r\n").encode()


def test_no_auth_without_tls(make_server, pki, chat):
    s = submission(make_server, pki)
    c = chat(s.sub)
    text = c.greet()
    assert "AUTH" not in text
    # refused before the credentials are even looked at
    c.cmd("AUTH PLAIN " + plain(ALICE, PASSWORD), 530, "5.7.0")
    c.cmd("MAIL FROM:<" + ALICE + ">", 530, "5.7.0")
    time.sleep(0.2)
    assert "event=auth" not in s.log()
    mx = chat(int(s.listeners["smtp"]["address"].split(":")[1]))
    mx.greet()
    mx.cmd("STARTTLS", 220)
    mx.sock = client_context(pki).wrap_socket(mx.sock, server_hostname=HOST)
    assert "AUTH" not in mx.cmd("EHLO x.example", 250)   # port 25: no AUTH
    mx.cmd("AUTH PLAIN " + plain(ALICE, PASSWORD), 502)


def test_mechanisms_offered(make_server, pki, chat):
    s = submission(make_server, pki)
    c = tls_chat(chat, s)
    assert "AUTH PLAIN LOGIN SCRAM-SHA-256 SCRAM-SHA-256-PLUS\n" in c.ehlo + "\n"
    c.cmd("MAIL FROM:<" + ALICE + ">", 530, "Authentication required")
    c2 = tls_chat(chat, s, cert=pki["alice"])
    assert "SCRAM-SHA-256-PLUS EXTERNAL" in c2.ehlo


@pytest.mark.parametrize("port,login", [("sub", "plain"), ("sub", "login"),
                                        ("subs", "plain"), ("subs", "login")])
def test_smtplib_plain_and_login(make_server, pki, port, login):
    s = submission(make_server, pki)
    ctx = client_context(pki)
    if port == "sub":
        smtp = smtplib.SMTP("127.0.0.1", s.sub)
        smtp._host = HOST
        smtp.starttls(context=ctx)
    else:
        smtp = smtplib.SMTP_SSL("127.0.0.1", s.subs, context=ctx)
    smtp.ehlo("client.example.org")
    smtp.login(ALICE, PASSWORD, initial_response_ok=login == "plain") \
        if login == "plain" else smtp.auth("LOGIN", smtp.auth_login,
                                           initial_response_ok=False) \
        if setattr(smtp, "user", ALICE) or setattr(smtp, "password", PASSWORD) \
        or True else None
    refused = smtp.sendmail(ALICE, [BOB], MSG)
    smtp.quit()
    assert refused == {}
    data = s.read_message(s.wait_messages(1, "bob")[0])
    assert b"with ESMTPSA\n" in data
    assert f"(authenticated user {ALICE} by {login.upper()})".encode() in data
    assert b"X-Originating-IP: [127.0.0.1]\n" in data
    assert re.search(rb"\nMessage-ID: <[0-9A-F]{16}\.[0-9a-f]{12}@mx\.example\.test>\n", data)
    assert re.search(rb"\nDate: \w{3}, \d+ \w{3} \d{4} \d\d:\d\d:\d\d \+0000\n", data)


def gsasl(s, mech, password, extra=()):
    p = subprocess.run(
        ["gsasl", "--smtp", "--connect", f"localhost:{s.sub}", "--mechanism", mech,
         "--authentication-id", ALICE, "--password", password,
         "--x509-ca-file", s.pki["ca"], "--verbose", *extra],
        input="", capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout + p.stderr


def test_scram_with_gsasl(make_server, pki):
    s = submission(make_server, pki)
    rc, out = gsasl(s, "SCRAM-SHA-256", PASSWORD, ["--no-cb"])
    assert rc == 0 and re.search(r"^235 2\.7\.0", out, re.M), out
    rc, out = gsasl(s, "SCRAM-SHA-256-PLUS", PASSWORD)
    assert rc == 0 and re.search(r"^235 2\.7\.0", out, re.M), out
    assert re.search(r"event=auth result=ok mech=SCRAM-SHA-256-PLUS user=alice", s.log())
    rc, out = gsasl(s, "SCRAM-SHA-256", "wrong", ["--no-cb"])
    assert rc != 0 and not re.search(r"^235[ -]", out, re.M), out
    rc, out = gsasl(s, "SCRAM-SHA-256-PLUS", "wrong")
    assert rc != 0 and not re.search(r"^235[ -]", out, re.M), out
    # the password never crossed the wire in any form the log shows
    assert PASSWORD not in s.log()


def test_scram_unknown_user_looks_like_a_wrong_password(make_server, pki, chat):
    """The salt offered for a user that does not exist is stable and looks
    like any other: nobody learns who has an account."""
    s = submission(make_server, pki)

    def server_first(user):
        c = tls_chat(chat, s)
        first = base64.b64encode(f"n,,n={user},r=abcdefgh".encode()).decode()
        text = c.cmd(f"AUTH SCRAM-SHA-256 {first}", 334)
        c.send("*\r\n")
        c.expect(501)
        return base64.b64decode(text).decode()

    a, b = server_first("ghost@" + DOMAIN), server_first("ghost@" + DOMAIN)
    salt = lambda m: re.search(r",s=([^,]+),i=(\d+)$", m).groups()
    assert salt(a) == salt(b)
    assert salt(a)[1] == "4096" == salt(server_first(ALICE))[1]
    assert salt(a)[0] != salt(server_first(ALICE))[0]


def test_external_with_client_certificates(make_server, pki, chat, workdir):
    s = submission(make_server, pki)
    msg = os.path.join(workdir, "external.eml")
    with open(msg, "wb") as f:
        f.write(MSG)
    # curl: certificate mapped by its e-mail address
    p = subprocess.run(
        ["curl", "-sS", "--ssl-reqd", f"smtp://localhost:{s.sub}",
         "--cacert", pki["ca"], "--cert", pki["alice"]["crt"], "--key",
         pki["alice"]["key"], "--login-options", "AUTH=EXTERNAL", "-u", f"{ALICE}:",
         "--mail-from", ALICE, "--mail-rcpt", BOB, "--upload-file", msg, "-v"],
        capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert "235 2.7.0" in p.stderr
    s.wait_messages(1, "bob")
    # a certificate without an address, mapped by its fingerprint
    s.cli("user", "cert", "add", BOB, pki["device"]["crt"])
    with open(msg, "wb") as f:
        f.write(f"From: {BOB}\r\nSubject: device\r\n\r\nfrom the device\r\n".encode())
    p = subprocess.run(
        ["curl", "-sS", "--ssl-reqd", f"smtp://localhost:{s.sub}",
         "--cacert", pki["ca"], "--cert", pki["device"]["crt"], "--key",
         pki["device"]["key"], "--login-options", "AUTH=EXTERNAL", "-u", f"{BOB}:",
         "--mail-from", BOB, "--mail-rcpt", ALICE, "--upload-file", msg, "-v"],
        capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert "235 2.7.0" in p.stderr
    s.wait_messages(1, "alice")
    # a certificate from another CA: EXTERNAL is not even offered
    c = tls_chat(chat, s, cert=pki["rogue"])
    assert "EXTERNAL" not in c.ehlo
    c.cmd("AUTH EXTERNAL =", 504)
    # a trusted certificate does not make its holder someone else
    c = tls_chat(chat, s, cert=pki["alice"])
    c.cmd("AUTH EXTERNAL " + base64.b64encode(BOB.encode()).decode(), 535, "5.7.8")


def test_protocol_details(make_server, pki, chat):
    s = submission(make_server, pki)
    c = tls_chat(chat, s)
    c.cmd("AUTH CRAM-MD5", 504, "5.5.4")
    c.cmd("AUTH PLAIN not*base64", 501, "5.5.2")
    c.cmd("AUTH PLAIN", 334)
    c.cmd("*", 501, "5.0.0")                           # cancelled
    c.cmd("AUTH PLAIN", 334)
    c.cmd("!!!", 501, "5.5.2")
    c.cmd("AUTH PLAIN " + base64.b64encode(b"no-nuls").decode(), 501)
    c.cmd("AUTH LOGIN", 334, "VXNlcm5hbWU6")           # "Username:"
    c.cmd(base64.b64encode(ALICE.encode()).decode(), 334, "UGFzc3dvcmQ6")
    c.cmd(base64.b64encode(PASSWORD.encode()).decode(), 235)
    c.cmd("AUTH PLAIN " + plain(ALICE, PASSWORD), 503, "5.5.1")
    c.cmd(f"MAIL FROM:<{ALICE}>", 250)
    c.cmd(f"RCPT TO:<someone@elsewhere.example>", 250)   # relayed
    c.cmd("RSET", 250)
    # a long AUTH line is fine (RFC 4954: 12288), a long NOOP is not
    c.cmd("NOOP " + "x" * 600, 500, "Line too long")
    d = tls_chat(chat, s)
    d.cmd("AUTH PLAIN " + plain(ALICE, PASSWORD + "x" * 700), 535)


def test_failed_logins_are_penalised_across_connections(make_server, pki, chat):
    s = submission(make_server, pki, settings={
        "auth": {"failure_delay": "300ms", "failure_delay_max": "1200ms",
                 "max_failures": "3"}})
    a = tls_chat(chat, s)
    b = tls_chat(chat, s)      # a second connection from the same address
    t0 = time.time()
    a.cmd(f"AUTH PLAIN {plain(ALICE, 'guess0')}", 535, "5.7.8")
    first = time.time() - t0
    # a second failure earns 0.6 s; the other connection's right password
    # sent meanwhile waits for it too
    t0 = time.time()
    a.send(f"AUTH PLAIN {plain(ALICE, 'guess1')}\r\n")
    s.wait_log(r"event=auth result=fail .* failures=2 ")
    recorded = time.time() - t0
    b.cmd("AUTH PLAIN " + plain(ALICE, PASSWORD), 235)
    shared = time.time() - t0
    a.expect(535, "5.7.8")
    second = time.time() - t0
    t0 = time.time()
    a.cmd(f"AUTH PLAIN {plain(ALICE, 'guess2')}", 535, "5.7.8")
    third = time.time() - t0
    a.expect(421, "4.7.0")     # three failures: goodbye
    assert a.closed()
    assert 0.25 < first < 0.6, first
    assert 0.5 < second < 1.0 and 0.5 < shared - recorded + 0.05, (second, shared)
    # the other connection's attempt took a slot: 0.6 s to wait for this
    # one's turn, then 1.2 s before its failure is answered
    assert 1.6 < third < 2.5, third
    # once the waits are over, the right password works at once
    time.sleep(2.5)
    c = tls_chat(chat, s)
    t0 = time.time()
    c.cmd("AUTH PLAIN " + plain(ALICE, PASSWORD), 235)
    assert time.time() - t0 < 0.5
    log = s.log()
    assert len(re.findall(r"event=auth result=fail mech=PLAIN user=alice@example\.test "
                          r"ip=127\.0\.0\.1", log)) == 3
    assert "guess" not in log and PASSWORD not in log


def test_unknown_user_and_wrong_password_take_the_same_time(make_server, pki, chat):
    s = submission(make_server, pki, settings={"auth": {"max_failures": "100"}})
    c = tls_chat(chat, s)

    def timed(user):
        t0 = time.perf_counter()
        c.cmd("AUTH PLAIN " + plain(user, "not the password"), 535)
        return time.perf_counter() - t0
    unknown, wrong = [], []
    for _ in range(8):
        unknown.append(timed("nobody@" + DOMAIN))
        wrong.append(timed(ALICE))
    u, w = statistics.median(unknown), statistics.median(wrong)
    assert w > 0.005                     # the argon2 work is really done
    assert abs(u - w) / max(u, w) < 0.35, (unknown, wrong)


def send_as(c, sender, from_header, code_mail=250, code_data=250):
    c.cmd(f"MAIL FROM:<{sender}>", code_mail)
    if code_mail != 250:
        return
    c.cmd(f"RCPT TO:<{BOB}>", 250)
    c.cmd("DATA", 354)
    hdr = f"From: {from_header}\r\n" if from_header else ""
    c.send(f"{hdr}Subject: x\r\n\r\nbody\r\n.\r\n".encode())
    c.expect(code_data)


def test_who_may_send_as_whom(make_server, pki, chat):
    s = submission(make_server, pki)
    c = tls_chat(chat, s)
    c.cmd("AUTH PLAIN " + plain(ALICE, PASSWORD), 235)
    send_as(c, BOB, None, code_mail=553)                         # someone else
    send_as(c, "alice@other.example", None, code_mail=553)
    send_as(c, ALICE, f"Bob <{BOB}>", code_data=553)             # From: header
    send_as(c, ALICE, f"Alice <{ALICE}>, Bob <{BOB}>", code_data=553)
    send_as(c, ALICE, None, code_data=554)                       # no From:
    send_as(c, ALICE, "not an address", code_data=554)
    send_as(c, f"info@{DOMAIN}", f"Info <info@{DOMAIN}>")        # her alias
    send_as(c, f"Alice+lists@{DOMAIN}", f"alice+lists@{DOMAIN}")  # sub-address
    send_as(c, "", f"{ALICE}")                                   # null sender
    s.cli("user", "sender", "add", ALICE, "@other.example")
    send_as(c, "alice@other.example", "Alice <shop@other.example>")
    assert len(s.wait_messages(4, "bob")) == 4


def test_hourly_limits_hold_across_restarts(make_server, pki, chat):
    s = submission(make_server, pki)
    s.cli("user", "limits", ALICE, "--messages", "3", "--recipients", "5")
    c = tls_chat(chat, s)
    c.cmd("AUTH PLAIN " + plain(ALICE, PASSWORD), 235)
    for _ in range(3):
        send_as(c, ALICE, ALICE)
    c.cmd(f"MAIL FROM:<{ALICE}>", 451, "4.7.1 Limit of 3 messages an hour")
    out = s.cli("user", "limits", ALICE).stdout
    assert "messages in the last hour:   3 of 3\n" in out
    assert "recipients in the last hour: 3 of 5\n" in out
    s.restart()
    c = tls_chat(chat, s)
    c.cmd("AUTH PLAIN " + plain(ALICE, PASSWORD), 235)
    text = c.cmd(f"MAIL FROM:<{ALICE}>", 451, "4.7.1")
    assert 3500 < int(re.search(r"try again in (\d+) seconds", text).group(1)) <= 3600
    s.cli("user", "limits", ALICE, "--messages", "10")
    c.cmd(f"MAIL FROM:<{ALICE}>", 250)
    c.cmd(f"RCPT TO:<{BOB}>", 250)
    c.cmd(f"RCPT TO:<x@elsewhere.example>", 250)
    c.cmd(f"RCPT TO:<y@elsewhere.example>", 451, "4.7.1 Limit of 5 recipients")


def test_send_only_tokens(make_server, pki, chat):
    s = submission(make_server, pki)
    out = s.cli("token", "add", ALICE, "--name", "shop", "--from",
                f"shop@{DOMAIN}").stdout
    token = re.search(r"^(pst_[0-9a-f]{48})$", out, re.M).group(1)
    s.cli("alias", "add", f"shop@{DOMAIN}", ALICE)
    assert "shop\tcreated " in s.cli("token", "list", ALICE).stdout
    import sqlite3
    con = sqlite3.connect(os.path.join(s.data, "postern.db"))
    [(stored,)] = con.execute("SELECT hash FROM tokens").fetchall()
    con.close()
    assert token not in stored and len(stored) == 64   # only its SHA-256
    c = tls_chat(chat, s)
    c.cmd("AUTH PLAIN " + plain(ALICE, token), 235)
    send_as(c, f"shop@{DOMAIN}", f"Shop <shop@{DOMAIN}>")
    send_as(c, ALICE, None, code_mail=553)        # not in the token's list
    assert re.search(r"mech=PLAIN user=alice@example\.test ip=\S+ token=yes", s.log())
    s.cli("token", "del", ALICE, "shop")
    d = tls_chat(chat, s)
    d.cmd("AUTH PLAIN " + plain(ALICE, token), 535)
    s.wait_messages(1, "bob")


def test_originating_ip_can_be_turned_off_and_remote_mail_waits(make_server, pki, chat):
    s = submission(make_server, pki, settings={"submission": {"x_originating_ip": "no"}})
    c = tls_chat(chat, s)
    c.cmd("AUTH PLAIN " + plain(ALICE, PASSWORD), 235)
    c.cmd(f"MAIL FROM:<{ALICE}>", 250)
    c.cmd(f"RCPT TO:<{BOB}>", 250)
    c.cmd("RCPT TO:<friend@elsewhere.example>", 250)
    c.cmd("DATA", 354)
    c.send(f"From: {ALICE}\r\nMessage-ID: <mine@x>\r\nDate: Mon, 23 Nov 2026 "
           "10:00:00 +0000\r\nSubject: two\r\n\r\nbody\r\n.\r\n".encode())
    qid = re.search(r"queued as (\w+)", c.expect(250)).group(1)
    data = s.read_message(s.wait_messages(1, "bob")[0])
    assert b"X-Originating-IP" not in data
    assert data.count(b"Message-ID:") == 1 and data.count(b"Date:") == 1
    # elsewhere.example is in no test zone: the DNS answer is SERVFAIL,
    # a temporary failure, so the message waits in the queue
    s.wait_log(r"event=route-failed domain=elsewhere\.example status=temporary")
    assert s.queue_files() == [qid]


def read_to_close(sock):
    """Everything the server sends until it closes (a reset counts)."""
    data = b""
    sock.settimeout(30)
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, ssl.SSLError):
        pass
    return data


def test_stop_during_password_checks_tells_every_session(make_server, pki):
    """SIGTERM while password checks wait on the auth pool (one worker, so
    one check at a time): each session still gets its 235 and then 421
    before the close; none is left waiting for a command, which stalled the
    drain until the stop timed out."""
    s = submission(make_server, pki, {"": {"workers": "1"}})
    ctx = client_context(pki)
    socks = []
    for _ in range(12):
        t = ctx.wrap_socket(socket.create_connection(("127.0.0.1", s.subs),
                                                     timeout=10),
                            server_hostname=HOST)
        c = Chat.__new__(Chat)
        c.sock, c.buf = t, b""
        c.greet()
        socks.append(c)
    for c in socks:
        c.send("AUTH PLAIN " + plain(ALICE, PASSWORD) + "\r\n")
    socks[0].expect(235)  # the pool is at work; the others wait their turn
    s.stop()
    assert "event=stop-timeout" not in s.log()
    for i, c in enumerate(socks):
        lines = (c.buf + read_to_close(c.sock)).decode().split("\r\n")
        lines = [ln for ln in lines if ln]
        assert lines and lines[-1] == "421 4.3.2 Shutting down", (i, lines)
        assert all(ln.startswith(("235 ", "421 ")) for ln in lines), (i, lines)


def test_every_way_out_gives_the_connection_slot_back(make_server, pki, chat):
    """One connection per address: after each way a session can end (a
    failed handshake, a reset during a password check, a reset while a
    message is checked or committed, a refusal), the address can connect
    again; a slot kept by any of them would lock the client out."""
    s = submission(make_server, pki, {"smtp": {"max_connections_per_ip": "1"}})
    ctx = client_context(pki)
    mx = int(s.listeners["smtp"]["address"].rsplit(":", 1)[1])

    def admitted(port, tls=False):
        """A greeted connection; the slot goes back as the previous session
        is freed, just after its close (or after the job that was under
        way reports back), so a refusal is tried again for a while."""
        for _ in range(100):
            try:
                raw = socket.create_connection(("127.0.0.1", port), timeout=10)
                c = Chat.__new__(Chat)
                c.sock, c.buf = raw, b""
                if tls:
                    c.sock = ctx.wrap_socket(raw, server_hostname=HOST)
                code, _ = c.reply()
            except (ConnectionResetError, ssl.SSLError, EOFError):
                code = None
            if code == 220:
                c.cmd("EHLO client.example.org", 250)
                return c
            c.sock.close()
            time.sleep(0.05)
        raise AssertionError("the address stays locked out")

    def reset(c):
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                          b"\x01\x00\x00\x00\x00\x00\x00\x00")
        c.sock.close()

    # a handshake that fails
    admitted(s.sub).close()
    raw = socket.create_connection(("127.0.0.1", s.subs), timeout=10)
    raw.sendall(b"EHLO not tls\r\n\r\n")
    try:
        raw.recv(100)
    except ConnectionResetError:
        pass
    raw.close()
    # refused while the slot is taken, then free again when it is not
    held = admitted(s.subs, tls=True)
    refused = chat(s.sub)
    refused.expect(421, "4.7.0 Too many connections from your address")
    assert refused.closed()
    held.cmd("QUIT", 221)
    held.close()
    # a reset while the password is being checked
    c = admitted(s.subs, tls=True)
    c.send("AUTH PLAIN " + plain(ALICE, PASSWORD) + "\r\n")
    reset(c)
    # a reset while a submitted message is committed
    c = admitted(s.subs, tls=True)
    c.cmd("AUTH PLAIN " + plain(ALICE, PASSWORD), 235)
    c.cmd(f"MAIL FROM:<{ALICE}>", 250)
    c.cmd(f"RCPT TO:<{BOB}>", 250)
    c.cmd("DATA", 354)
    c.send(MSG + b".\r\n")
    reset(c)
    # and while a message from outside waits for its DNS checks (MX port)
    c = admitted(mx)
    c.cmd("MAIL FROM:<someone@other.example>", 250)
    c.cmd(f"RCPT TO:<{ALICE}>", 250)
    c.cmd("DATA", 354)
    c.send(b"From: someone@other.example\r\nSubject: x\r\n\r\nbody\r\n.\r\n")
    reset(c)
    admitted(s.sub).cmd("QUIT", 221)
    assert "event=auth result=ok" in s.log()
    assert "event=stop-timeout" not in s.log()
