"""POP3 (RFC 1939, RFC 2449 CAPA, RFC 2595 STLS, RFC 5034 AUTH): STLS on a
pop3 listener and implicit TLS on a pop3s one, checked with Python's poplib
(certificate verified with the test CA), curl, fetchmail, getmail6 and raw
sockets: CAPA before and after TLS, no login before TLS, the shared
failed-login penalty and its [AUTH] code, mail delivered over SMTP read back
byte for byte, DELE/RSET/QUIT, UIDL across sessions, the login snapshot, the
maildrop lock ([IN-USE]), the STLS injection probe, and bad input."""
import base64
import os
import poplib
import re
import socket
import ssl
import subprocess
import time

import pytest

from conftest import (DOMAIN, HOST, PASSWORD, Chat, Lines, client_context, free_port,
                      send_message)

ALICE = f"alice@{DOMAIN}"
BOB = f"bob@{DOMAIN}"


def message(n, extra=b""):
    # From another domain: the shared test DNS publishes example.test's
    # DMARC record (p=quarantine, test_dkim), under which this mail from
    # outside would go to Junk, where POP3 does not look
    return (f"From: Bob <bob@other.example>\r\nTo: Alice <{ALICE}>\r\n"
            f"Subject: POP3 test {n}\r\nDate: Mon, 02 Jan 2023 10:00:00 +0000\r\n"
            f"Message-ID: <p{n}-{time.time()}@example.test>\r\n\r\n"
            "First line.\r\n").encode() + extra + b"Last line.\r\n"


def pop3_server(make_server, settings=None):
    conf = {"auth": {"failure_delay": "0", "failure_delay_max": "0"}}
    for k, v in (settings or {}).items():
        conf.setdefault(k, {}).update(v)
    smtp, pop3, pop3s = free_port(), free_port(), free_port()
    s = make_server(settings=conf, listeners={
        "smtp": {"address": f"127.0.0.1:{smtp}"},
        "pop3": {"address": f"127.0.0.1:{pop3}", "role": "pop3"},
        "pop3s": {"address": f"127.0.0.1:{pop3s}", "role": "pop3s"},
    })
    s.smtp, s.pop3, s.pop3s = smtp, pop3, pop3s
    return s


@pytest.fixture
def srv(make_server):
    return pop3_server(make_server)


def deliver(s, rcpt, body):
    c = Chat(s.smtp)
    c.greet()
    # SMTP's own dot-stuffing (RFC 5321 4.5.2), undone by the server
    stuffed = re.sub(rb"(^|\r\n)\.", rb"\1..", body)
    send_message(c, "sender@other.example", [rcpt], stuffed)
    c.cmd("QUIT", 221)
    c.close()


def deliver_n(s, bodies, user="alice"):
    before = len(s.messages(user))
    for b in bodies:
        deliver(s, f"{user}@{DOMAIN}", b)
    return s.wait_messages(before + len(bodies), user)


def stls(s, user=ALICE, login=True):
    p = poplib.POP3("127.0.0.1", s.pop3, timeout=10)
    p.stls(context=client_context(s.pki))
    if login:
        p.user(user)
        p.pass_(PASSWORD)
    return p


def implicit(s, user=ALICE, login=True):
    p = poplib.POP3_SSL("127.0.0.1", s.pop3s, context=client_context(s.pki),
                        timeout=10)
    if login:
        p.user(user)
        p.pass_(PASSWORD)
    return p


def crlf(data):
    """The CRLF form of a stored (LF) message."""
    return re.sub(rb"(?<!\r)\n", b"\r\n", data)


def by_uid(s, user="alice"):
    """Stored files in UID order (delivery order here)."""
    return sorted(s.messages(user), key=lambda p: os.path.basename(p).split(".")[0:2])


class Raw(Lines):
    """A raw POP3 client: exact bytes out, lines in (conftest.Lines), with
    POP3's multi-line replies and login."""

    def __init__(self, port, tls_ctx=None):
        super().__init__(port, tls_ctx, HOST)

    def multi(self):
        """The lines of a multi-line reply after its +OK line, unstuffed."""
        out = []
        while True:
            line = self.line()
            if line == ".":
                return out
            out.append(line)

    def login(self):
        assert self.cmd(f"USER {ALICE}").startswith("+OK")
        return self.cmd(f"PASS {PASSWORD}")

    def nothing_pending(self, wait=0.5):
        if self.buf:
            return False
        self.sock.settimeout(wait)
        try:
            data = self.sock.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            return True
        finally:
            self.sock.settimeout(10)
        self.buf += data
        return data == b"" and False


def capa(p):
    return {k: v for k, v in p.capa().items()}


# ---------------------------------------------------------------- TLS, login

def test_scram_only_server_takes_no_user_pass(make_server):
    """[auth] mechanisms without PLAIN and LOGIN: no password crosses the
    wire, so USER is not listed and USER/PASS are refused; SCRAM works."""
    s = pop3_server(make_server, {"auth": {"mechanisms": "SCRAM-SHA-256"}})
    p = poplib.POP3_SSL("127.0.0.1", s.pop3s, context=client_context(s.pki), timeout=10)
    caps = capa(p)
    assert "USER" not in caps and caps["SASL"] == ["SCRAM-SHA-256"]
    with pytest.raises(poplib.error_proto, match="Password logins are disabled"):
        p.user(ALICE)
    with pytest.raises(poplib.error_proto, match="Password logins are disabled"):
        p.pass_(PASSWORD)
    p.quit()


def test_capa_before_and_after_stls(srv):
    p = poplib.POP3("127.0.0.1", srv.pop3, timeout=10)
    assert p.getwelcome().startswith(b"+OK")
    before = capa(p)
    assert "STLS" in before
    assert "USER" not in before and "SASL" not in before
    for c in ("TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"):
        assert c in before, before
    assert before["EXPIRE"] == ["NEVER"]
    assert before["IMPLEMENTATION"] == ["Postern"]
    p.stls(context=client_context(srv.pki))
    after = capa(p)
    assert "STLS" not in after and "USER" in after
    assert after["SASL"][:3] == ["PLAIN", "LOGIN", "SCRAM-SHA-256"]
    # STLS twice: refused
    with pytest.raises(poplib.error_proto, match="already"):
        p._shortcmd("STLS")
    p.user(ALICE)
    assert p.pass_(PASSWORD).startswith(b"+OK")
    assert p.quit().startswith(b"+OK")


def test_no_login_before_tls(srv):
    r = Raw(srv.pop3)
    assert r.line().startswith("+OK")
    assert r.cmd(f"USER {ALICE}") == "-ERR Use STLS first: no login without TLS"
    assert r.cmd(f"PASS {PASSWORD}").startswith("-ERR Use STLS")
    plain = base64.b64encode(f"\0{ALICE}\0{PASSWORD}".encode()).decode()
    assert r.cmd(f"AUTH PLAIN {plain}").startswith("-ERR Use STLS")
    assert r.cmd("STAT") == "-ERR STAT needs a login first"
    assert r.cmd("QUIT") == "+OK Bye"
    assert r.closed()
    assert PASSWORD not in srv.log()


def test_auth_plain_and_scram_after_tls(srv):
    r = Raw(srv.pop3s, client_context(srv.pki))
    assert r.line().startswith("+OK")
    # PLAIN with an initial response (RFC 5034)
    plain = base64.b64encode(f"\0{ALICE}\0{PASSWORD}".encode()).decode()
    assert r.cmd(f"AUTH PLAIN {plain}").startswith("+OK Logged in")
    assert r.cmd("QUIT").startswith("+OK")
    # PLAIN without: "+ " then the response; "*" cancels
    r = Raw(srv.pop3s, client_context(srv.pki))
    r.line()
    assert r.cmd("AUTH PLAIN") == "+ "
    assert r.cmd("*") == "-ERR Authentication cancelled"
    # AUTH alone lists the mechanisms
    r.send("AUTH\r\n")
    assert r.line().startswith("+OK")
    assert r.multi()[:3] == ["PLAIN", "LOGIN", "SCRAM-SHA-256"]
    r.close()
    # LOGIN: "Username:" and "Password:" (as submission offers it)
    b64 = lambda t: base64.b64encode(t.encode()).decode()
    r = Raw(srv.pop3s, client_context(srv.pki))
    r.line()
    assert r.cmd("AUTH LOGIN") == "+ " + b64("Username:")
    assert r.cmd(b64(ALICE)) == "+ " + b64("Password:")
    assert r.cmd(b64(PASSWORD)).startswith("+OK Logged in")
    assert r.cmd("QUIT").startswith("+OK")


def test_scram_login(srv):
    """SCRAM-SHA-256 done by hand (RFC 5802) over POP3's AUTH."""
    import hashlib
    import hmac
    r = Raw(srv.pop3s, client_context(srv.pki))
    r.line()
    nonce = base64.b64encode(os.urandom(18)).decode()
    first_bare = f"n={ALICE},r={nonce}"
    ch = r.cmd("AUTH SCRAM-SHA-256 " + base64.b64encode(
        ("n,," + first_bare).encode()).decode())
    assert ch.startswith("+ ")
    server_first = base64.b64decode(ch[2:]).decode()
    f = dict(kv.split("=", 1) for kv in server_first.split(","))
    salted = hashlib.pbkdf2_hmac("sha256", PASSWORD.encode(),
                                 base64.b64decode(f["s"]), int(f["i"]))
    ckey = hmac.new(salted, b"Client Key", "sha256").digest()
    skey = hashlib.sha256(ckey).digest()
    final_bare = f"c=biws,r={f['r']}"
    auth_msg = f"{first_bare},{server_first},{final_bare}".encode()
    sig = hmac.new(skey, auth_msg, "sha256").digest()
    proof = bytes(a ^ b for a, b in zip(ckey, sig))
    ch = r.cmd(base64.b64encode(
        f"{final_bare},p={base64.b64encode(proof).decode()}".encode()).decode())
    assert ch.startswith("+ ")
    assert base64.b64decode(ch[2:]).startswith(b"v=")
    assert r.cmd("").startswith("+OK Logged in")
    r.close()


def test_wrong_password_is_penalised(make_server):
    s = pop3_server(make_server, {"auth": {"failure_delay": "1s",
                                           "failure_delay_max": "1s",
                                           "max_failures": "2"}})
    p = stls(s, login=False)
    t = time.time()
    p.user(ALICE)
    with pytest.raises(poplib.error_proto, match=r"-ERR \[AUTH\] Authentication failed"):
        p.pass_("wrong password")
    assert time.time() - t >= 0.9
    s.wait_log(r"event=auth result=fail protocol=pop3 mech=USER user=\"?alice")
    assert "wrong password" not in s.log()
    # the penalty is the client's, on every connection and protocol: while
    # it lasts, attempts go one at a time, so the right password waits for
    # its slot behind a wrong one sent just before
    r = Raw(s.pop3s, client_context(s.pki))
    r.line()
    r.cmd(f"USER {ALICE}")
    r.send("PASS bad\r\n")
    time.sleep(0.1)
    q = implicit(s, login=False)
    t = time.time()
    q.user(ALICE)
    q.pass_(PASSWORD)
    assert time.time() - t >= 0.5
    q.quit()
    # max_failures (2) ends the connection
    p.user(ALICE)
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\].*too many"):
        p.pass_("wrong again")
    with pytest.raises((EOFError, poplib.error_proto, OSError)):
        p.noop()
        p.noop()


# ---------------------------------------------------------------- reading

DOTS = b".starts with a dot\r\n..two dots\r\n.\r\nmiddle . dot\r\n"


def test_stat_list_uidl_retr_top(srv):
    files = deliver_n(srv, [message(1), message(2, DOTS + b"x" * 900 + b"\r\n")])
    files = by_uid(srv)
    stored = [crlf(srv.read_message(f)) for f in files]
    p = stls(srv)
    assert p.stat() == (2, sum(len(m) for m in stored))
    resp, lines, _ = p.list()
    assert lines == [f"{i + 1} {len(m)}".encode() for i, m in enumerate(stored)]
    assert p.list(2) == f"+OK 2 {len(stored[1])}".encode()
    resp, uidls, _ = p.uidl()
    assert len(uidls) == 2 and all(re.fullmatch(rb"\d [0-9A-F]{16}", u) for u in uidls)
    for i, m in enumerate(stored):
        resp, lines, octets = p.retr(i + 1)
        assert resp == f"+OK {len(m)} octets".encode()
        # the bytes as stored, Return-Path first, CRLF line ends
        assert b"\r\n".join(lines) + b"\r\n" == m
        assert lines[0].startswith(b"Return-Path: <sender@other.example>")
    # TOP n 0: the header and the empty line; TOP n 2: two body lines
    header = stored[1].split(b"\r\n\r\n", 1)[0]
    resp, lines, _ = p.top(2, 0)
    assert b"\r\n".join(lines) == header + b"\r\n"
    resp, lines, _ = p.top(2, 2)
    assert lines[-2:] == [b"First line.", b".starts with a dot"]
    p.quit()


def test_retr_is_byte_stuffed_on_the_wire(srv):
    deliver_n(srv, [message(3, DOTS)])
    r = Raw(srv.pop3s, client_context(srv.pki))
    r.line()
    assert r.login().startswith("+OK")
    r.send("RETR 1\r\n")
    assert r.line().endswith(" octets")
    body = r.multi()
    i = body.index("First line.")
    assert body[i + 1:i + 6] == ["..starts with a dot", "...two dots", "..",
                                 "middle . dot", "Last line."]
    r.close()


def test_dele_rset_quit(srv):
    deliver_n(srv, [message(i) for i in range(3)])
    files = by_uid(srv)
    p = stls(srv)
    assert p.dele(1).startswith(b"+OK")
    with pytest.raises(poplib.error_proto, match="already deleted"):
        p.retr(1)
    assert p.stat()[0] == 2
    assert p.rset().startswith(b"+OK Maildrop has 3 messages")
    assert p.stat()[0] == 3
    p.dele(2)
    p.dele(3)
    assert p.list()[1] == [p.list(1)[4:]]  # only message 1 is listed
    # no QUIT: nothing is deleted (RFC 1939 6)
    p.close()
    srv.wait_log(r"event=disconnect reason=\"client closed\"")
    assert len(srv.messages()) == 3
    p = stls(srv)
    p.dele(2)
    p.dele(3)
    assert p.quit() == b"+OK Bye, 1 messages left"
    assert srv.messages() == [files[0]] or \
        [os.path.basename(f).split(":")[0] for f in srv.messages()] == \
        [os.path.basename(files[0]).split(":")[0]]
    p = stls(srv)
    assert p.stat()[0] == 1
    p.quit()


def test_uidl_stable_and_seen_after_retr(srv):
    deliver_n(srv, [message(i) for i in range(3)])
    p = stls(srv)
    first = p.uidl()[1]
    p.top(1, 0)
    p.retr(2)
    p.quit()
    # RETR'd: \Seen and in cur/; TOP'd: untouched in new/
    names = srv.messages()
    cur = [n for n in names if "/cur/" in n]
    assert len(cur) == 1 and cur[0].endswith(":2,S")
    p = stls(srv)
    assert p.uidl()[1] == first
    p.dele(1)
    p.quit()
    p = stls(srv)
    assert p.uidl()[1] == [b"1 " + first[1].split()[1], b"2 " + first[2].split()[1]]
    p.quit()


def test_snapshot_hides_mail_delivered_during_the_session(srv):
    deliver_n(srv, [message(1)])
    p = stls(srv)
    assert p.stat()[0] == 1
    deliver_n(srv, [message(2)])
    assert p.stat()[0] == 1
    with pytest.raises(poplib.error_proto, match="No such message"):
        p.retr(2)
    p.quit()
    p = stls(srv)
    assert p.stat()[0] == 2
    p.quit()


def test_maildrop_lock(srv):
    deliver_n(srv, [message(1)])
    p = stls(srv)
    q = implicit(srv, login=False)
    q.user(ALICE)
    with pytest.raises(poplib.error_proto, match=r"-ERR \[IN-USE\]"):
        q.pass_(PASSWORD)
    # still in AUTHORIZATION: may try again once the first one is done
    p.quit()
    q.user(ALICE)
    assert q.pass_(PASSWORD).startswith(b"+OK")
    # a disconnect without QUIT releases the lock too
    q.close()
    srv.wait_log(r"event=disconnect reason=\"client closed\"", count=1)
    r = stls(srv)
    assert r.stat()[0] == 1
    r.quit()
    # another user's maildrop is not locked by alice's
    a = stls(srv)
    b = stls(srv, user=BOB)
    a.quit()
    b.quit()


# ---------------------------------------------------------------- bad input

def test_stls_injection_is_discarded(srv):
    r = Raw(srv.pop3)
    r.line()
    r.send("STLS\r\nCAPA\r\n")
    assert r.line() == "+OK Begin TLS negotiation"
    # nothing in the clear after +OK: CAPA was not answered before TLS
    assert r.buf == b""
    r.starttls(client_context(srv.pki))
    # nor run after it
    assert r.nothing_pending(0.7)
    r.send("CAPA\r\n")
    assert r.line().startswith("+OK")
    assert "USER" in r.multi()
    r.close()


def test_bad_lines_and_numbers(srv):
    deliver_n(srv, [message(1)])
    r = Raw(srv.pop3s, client_context(srv.pki))
    r.line()
    # RFC 2449 4: 255 octets per command line, CRLF included
    assert r.cmd("NOOP " + "x" * 300) == "-ERR Line too long (255 octets at most)"
    assert r.cmd("USER " + "a" * 249) == "-ERR Line too long (255 octets at most)"
    assert r.cmd("FOO") == "-ERR Unknown command"
    assert r.cmd("CAPA x") == "-ERR Too many arguments"
    assert r.cmd("RETR 1") == "-ERR RETR needs a login first"
    assert r.cmd("NOOP\0") == "-ERR Invalid character in command"
    assert r.login().startswith("+OK")
    assert r.cmd("RETR") == "-ERR Missing argument"
    assert r.cmd("RETR 1 2") == "-ERR Too many arguments"
    assert r.cmd("RETR 0") == "-ERR No such message"
    assert r.cmd("RETR 2") == "-ERR No such message"
    assert r.cmd("RETR 99999999999") == "-ERR Not a message number"
    assert r.cmd("RETR -1") == "-ERR Not a message number"
    assert r.cmd("RETR " + "1" * 41) == "-ERR Argument too long"
    assert r.cmd("TOP 1 x") == "-ERR Not a number of lines"
    assert r.cmd("LIST  1") == "-ERR Arguments are separated by one space"
    assert r.cmd("USER bob") == "-ERR USER is not allowed after login"
    assert r.cmd("list 1").startswith("+OK 1 ")  # keywords: any case
    assert r.cmd("NOOP") == "+OK"
    r.close()


def test_too_many_errors_close(make_server):
    s = pop3_server(make_server, {"pop3": {"max_errors": "3"}})
    r = Raw(s.pop3)
    r.line()
    for _ in range(2):
        assert r.cmd("BAD").startswith("-ERR")
    assert r.cmd("BAD") == "-ERR Unknown command"
    assert r.line() == "-ERR Too many errors"
    assert r.closed()


def test_login_timeout(make_server):
    s = pop3_server(make_server, {"pop3": {"timeout_login": "1s"}})
    r = Raw(s.pop3)
    r.line()
    r.cmd("CAPA")
    r.multi()
    t = time.time()
    assert r.closed(5)
    assert time.time() - t < 3
    s.wait_log(r"event=timeout")


def test_pipelining(srv):
    deliver_n(srv, [message(1), message(2)])
    r = Raw(srv.pop3s, client_context(srv.pki))
    r.line()
    r.send(f"USER {ALICE}\r\nPASS {PASSWORD}\r\nSTAT\r\nLIST\r\nUIDL 2\r\nNOOP\r\n")
    assert r.line().startswith("+OK")
    assert r.line().startswith("+OK Logged in, 2")
    assert re.fullmatch(r"\+OK 2 \d+", r.line())
    r.line()
    assert len(r.multi()) == 2
    assert re.fullmatch(r"\+OK 2 [0-9A-F]{16}", r.line())
    assert r.line() == "+OK"
    r.close()


# ---------------------------------------------------------------- clients

def test_curl_pop3s_lists_and_retrieves(srv):
    files = deliver_n(srv, [message(1), message(2)])
    stored = [crlf(srv.read_message(f)) for f in by_uid(srv)]
    base = ["curl", "-sS", "--cacert", srv.pki["ca"],
            "--resolve", f"{HOST}:{srv.pop3s}:127.0.0.1",
            "--resolve", f"{HOST}:{srv.pop3}:127.0.0.1",
            "--user", f"{ALICE}:{PASSWORD}"]
    out = subprocess.run(base + [f"pop3s://{HOST}:{srv.pop3s}/"],
                         capture_output=True, check=True).stdout
    assert out == b"".join(f"{i + 1} {len(m)}\r\n".encode() for i, m in enumerate(stored))
    out = subprocess.run(base + [f"pop3s://{HOST}:{srv.pop3s}/2"],
                         capture_output=True, check=True).stdout
    assert out == stored[1]
    # STLS with curl too, certificate verified
    out = subprocess.run(base + ["--ssl-reqd", f"pop3://{HOST}:{srv.pop3}/1"],
                         capture_output=True, check=True).stdout
    assert out == stored[0]
    assert len(files) == 2


def test_fetchmail_downloads_over_stls(srv, tmp_path):
    deliver_n(srv, [message(1), message(2, DOTS)])
    stored = [crlf(srv.read_message(f)) for f in by_uid(srv)]
    out = tmp_path / "out"
    os.makedirs(out)
    mda = tmp_path / "mda.sh"
    mda.write_text(f'#!/bin/sh\ncat > "{out}/$(date +%s%N)"\n')
    mda.chmod(0o755)
    rc = tmp_path / "fetchmailrc"
    # sslproto TLS1.2+ without ssl: STLS, required; sslcertck with the
    # test CA: the certificate is verified (and its name: mx.example.test)
    rc.write_text(
        f'poll {HOST} via 127.0.0.1 proto POP3 port {srv.pop3} uidl\n'
        f'  user "{ALICE}" there with password "{PASSWORD}" is "x" here\n'
        f'  sslproto "TLS1.2+" sslcertck sslcertfile "{srv.pki["ca"]}"\n'
        f'  sslcommonname "{HOST}"\n'
        f'  mda "{mda}"\n')
    rc.chmod(0o600)
    env = dict(os.environ, HOME=str(tmp_path))
    r = subprocess.run(["fetchmail", "-f", str(rc), "-i", str(tmp_path / "ids"),
                        "--nodetach", "--nosyslog"], env=env,
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    got = sorted(p.read_bytes() for p in out.iterdir())
    assert len(got) == 2
    # fetchmail hands the MDA LF lines, with its own Received and
    # Return-Path on top; from our From: on, the bytes are the stored ones
    for m in stored:
        tail = m[m.index(b"From: Bob"):].replace(b"\r\n", b"\n")
        assert any(g.endswith(tail) for g in got), (got, tail)
    # fetchmail deletes what it fetched (no "keep"): QUIT expunged them
    assert srv.messages() == []


def test_getmail_downloads_over_pop3s(srv, tmp_path):
    deliver_n(srv, [message(1), message(2, DOTS)])
    stored = [srv.read_message(f) for f in by_uid(srv)]
    out = tmp_path / "out"
    os.makedirs(out)
    mda = tmp_path / "mda.sh"
    mda.write_text(f'#!/bin/sh\ncat > "{out}/$(date +%s%N)"\n')
    mda.chmod(0o755)
    rc = tmp_path / "getmailrc"
    # ca_certs: the certificate is verified, and its name
    # (ssl_cert_hostname) too; an external MDA, because getmail's own mbox
    # and Maildir writers refuse to run as root (as the tests may)
    rc.write_text(
        "[retriever]\ntype = SimplePOP3SSLRetriever\n"
        f"server = 127.0.0.1\nport = {srv.pop3s}\n"
        f"username = {ALICE}\npassword = {PASSWORD}\n"
        f"ca_certs = {srv.pki['ca']}\nssl_cert_hostname = {HOST}\n"
        f"[destination]\ntype = MDA_external\npath = {mda}\n"
        "allow_root_commands = true\nunixfrom = false\n"
        "[options]\ndelete = false\nread_all = false\nverbose = 0\n")
    cmd = ["getmail", "--getmaildir", str(tmp_path), "--rcfile", str(rc)]
    r = subprocess.run(cmd, capture_output=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    got = sorted(p.read_bytes() for p in out.iterdir())
    assert len(got) == 2
    for m in stored:
        # getmail puts its own Delivered-To/Received and Return-Path on
        # top; from our From: on, the bytes are the stored ones
        tail = m[m.index(b"From: Bob"):]
        assert any(g.endswith(tail) for g in got), (got, tail)
    # delete = false: both stay on the server; read_all = false: getmail
    # remembers their UIDLs, and a second run fetches nothing
    assert len(srv.messages()) == 2
    r = subprocess.run(cmd, capture_output=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(list(out.iterdir())) == 2


def test_config_refuses_pop3_without_tls(make_server):
    s = make_server(provision=False, start=False, listeners={
        "plain": {"address": f"127.0.0.1:{free_port()}", "role": "pop3",
                  "tls": "none"},
        "wrong": {"address": f"127.0.0.1:{free_port()}", "role": "pop3",
                  "tls": "implicit"},
    })
    p = s.cli("config", "check", check=False)
    assert p.returncode != 0
    out = p.stdout + p.stderr
    assert "listener 'plain': POP3 needs tls = starttls or implicit" in out
    assert "listener 'wrong': use role = pop3s for POP3 with implicit TLS" in out


# --- review regressions: session lifetime, aborted RETR, a client that never reads

def reset(sock):
    """Close with a TCP reset (SO_LINGER 0): our next write fails at once."""
    import struct
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_reset_after_pipelined_commands_is_survived(srv):
    """A session ended inside its own call chain (a write failing while
    commands are still being read) is freed only afterwards: 40 clients
    that pipeline CAPA and QUIT and reset, before login and after, leave a
    server that serves the next one (and, built with ASan, reports
    nothing: the harness checks the log at stop)."""
    deliver_n(srv, [message(1)])
    for i in range(40):
        sock = socket.create_connection(("127.0.0.1", srv.pop3s), timeout=10)
        tls = client_context(srv.pki).wrap_socket(sock, server_hostname=HOST)
        try:
            tls.recv(512)  # the greeting
            if i % 2:
                tls.sendall(f"USER {ALICE}\r\nPASS {PASSWORD}\r\n".encode())
                time.sleep(0.05)
                tls.sendall(b"NOOP\r\nLIST\r\nUIDL\r\nSTAT\r\n")
            else:
                tls.sendall(b"CAPA\r\nQUIT\r\n")
        except ConnectionError:
            pass  # the server may be quicker: what matters is that it lives
        reset(tls)
    p = implicit(srv)
    assert p.stat()[0] == 1
    p.quit()


def open_messages(server):
    """The server's descriptors open on message files (the maildir's cur/
    and new/): the pool threads' own database handles are not counted."""
    d = f"/proc/{server.proc.pid}/fd"
    n = 0
    for fd in os.listdir(d):
        try:
            target = os.readlink(os.path.join(d, fd))
        except OSError:
            continue
        n += "/cur/" in target or "/new/" in target
    return n


def test_retr_aborted_by_the_client_leaks_nothing(srv):
    """A RETR the client walks away from, waiting for it to read, ends
    with its session: the message's file is closed (no descriptor left
    behind per aborted RETR) and the maildrop lock goes."""
    big = message(1, b"x" * 76 + b"\r\n") + (b"y" * 76 + b"\r\n") * 200000  # ~15 MB
    deliver_n(srv, [big])
    implicit(srv).quit()  # a first session: everything opened once
    before = open_messages(srv)
    for _ in range(3):
        sock = socket.create_connection(("127.0.0.1", srv.pop3s), timeout=10)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        tls = client_context(srv.pki).wrap_socket(sock, server_hostname=HOST)
        tls.recv(512)
        tls.sendall(f"USER {ALICE}\r\nPASS {PASSWORD}\r\n".encode())
        time.sleep(0.3)
        tls.sendall(b"RETR 1\r\n")
        time.sleep(0.5)  # the server is now waiting for us to read
        reset(tls)
    deadline = time.time() + 10
    while open_messages(srv) > before:
        assert time.time() < deadline, (before, open_messages(srv))
        time.sleep(0.1)
    p = implicit(srv)  # the lock was released too
    assert p.stat()[0] == 1
    p.quit()


def test_client_that_never_reads_is_closed(make_server):
    """RETR to a client that reads nothing for the whole idle timeout ends
    the session, and with it the maildrop lock; a slow reader is not cut
    off as long as its data moves."""
    s = pop3_server(make_server, {"pop3": {"timeout_idle": "2s"}})
    big = message(1) + (b"z" * 76 + b"\r\n") * 200000
    deliver_n(s, [big])
    sock = socket.create_connection(("127.0.0.1", s.pop3s), timeout=30)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    tls = client_context(s.pki).wrap_socket(sock, server_hostname=HOST)
    tls.recv(512)
    tls.sendall(f"USER {ALICE}\r\nPASS {PASSWORD}\r\nRETR 1\r\n".encode())
    s.wait_log(r"event=timeout state=output-not-read", timeout=20)
    p = implicit(s)  # no [IN-USE]: the lock went with the session
    assert p.stat()[0] == 1
    p.quit()
    tls.close()


def test_stop_during_logins_tells_every_session(make_server):
    """SIGTERM while PASS checks wait on the auth pool (one worker, so one
    check at a time): each session ends with the shutting-down line and a
    close, after its +OK if its login got through; none is left waiting for
    a command, which stalled the drain until the stop timed out."""
    s = pop3_server(make_server, {"": {"workers": "1"}})
    users = [f"u{i}@{DOMAIN}" for i in range(10)]
    for u in users:
        s.add_user(u)
    ctx = client_context(s.pki)
    raws = []
    for u in users:
        r = Raw(s.pop3s, ctx)
        assert r.line().startswith("+OK")
        assert r.cmd(f"USER {u}").startswith("+OK")
        raws.append(r)
    for r in raws:
        r.send(f"PASS {PASSWORD}\r\n")
    assert raws[0].line().startswith("+OK")  # the pool is at work
    s.stop()
    assert "event=stop-timeout" not in s.log()
    for i, r in enumerate(raws):
        assert r.closed(wait=30), i
        lines = [ln for ln in r.buf.decode().split("\r\n") if ln]
        assert lines and lines[-1] == "-ERR [SYS/TEMP] Server shutting down", (i, lines)
        assert len(lines) <= 2 and (len(lines) == 1 or lines[0].startswith("+OK")), (i, lines)
