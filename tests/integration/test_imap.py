"""IMAP (RFC 9051 / RFC 3501): STARTTLS on an imap listener and implicit TLS
on an imaps one, checked with Python's imaplib (certificate verified with
the test CA), curl and raw sockets: login and the shared failed-login
penalty, LOGINDISABLED before TLS, the STARTTLS injection probe, LIST and
the special-use folders, mail delivered over SMTP read back byte for byte,
flags, two sessions on one folder, APPEND/COPY/MOVE with UIDPLUS, SEARCH,
IDLE, and the names and literals that must be refused."""
import base64
import email
import imaplib
import os
import re
import socket
import ssl
import subprocess
import time

import pytest

from conftest import DOMAIN, HOST, PASSWORD, Chat, client_context, free_port, send_message

ALICE = f"alice@{DOMAIN}"
BOB = f"bob@{DOMAIN}"

MESSAGE = (f"From: Bob Example <{BOB}>\r\nTo: Alice <{ALICE}>\r\n"
           "Subject: Hello over IMAP\r\nDate: Mon, 02 Jan 2023 10:00:00 +0000\r\n"
           "Message-ID: <m1@example.test>\r\n\r\nFirst line.\r\nSecond line.\r\n").encode()


def imap_server(make_server, settings=None):
    conf = {"auth": {"failure_delay": "0", "failure_delay_max": "0"}}
    for k, v in (settings or {}).items():
        conf.setdefault(k, {}).update(v)
    smtp, imap, imaps = free_port(), free_port(), free_port()
    s = make_server(settings=conf, listeners={
        "smtp": {"address": f"127.0.0.1:{smtp}"},
        "imap": {"address": f"127.0.0.1:{imap}", "role": "imap"},
        "imaps": {"address": f"127.0.0.1:{imaps}", "role": "imaps"},
    })
    s.smtp, s.imap, s.imaps = smtp, imap, imaps
    return s


@pytest.fixture(scope="module")
def srv(workdir, pki):
    """One server for the tests that do not need their own."""
    from conftest import Server
    s = Server(workdir, pki, {"auth": {"failure_delay": "0",
                                       "failure_delay_max": "0"}})
    s.smtp, s.imap, s.imaps = free_port(), free_port(), free_port()
    s.listeners = {
        "smtp": {"address": f"127.0.0.1:{s.smtp}"},
        "imap": {"address": f"127.0.0.1:{s.imap}", "role": "imap"},
        "imaps": {"address": f"127.0.0.1:{s.imaps}", "role": "imaps"},
    }
    s.write_config()
    s.provision()
    s.add_user(f"carol@{DOMAIN}")
    s.add_user(f"dave@{DOMAIN}")
    s.add_user(f"erin@{DOMAIN}")
    s.start()
    yield s
    s.stop()


def starttls(s, user=ALICE, login=True):
    m = imaplib.IMAP4("127.0.0.1", s.imap, timeout=10)
    m.starttls(ssl_context=client_context(s.pki))
    if login:
        m.login(user, PASSWORD)
    return m


def implicit(s, user=ALICE, login=True):
    m = imaplib.IMAP4_SSL(HOST if False else "127.0.0.1", s.imaps,
                          ssl_context=client_context(s.pki), timeout=10)
    if login:
        m.login(user, PASSWORD)
    return m


def deliver(s, rcpt, body=MESSAGE):
    c = Chat(s.smtp)
    c.greet()
    send_message(c, f"sender@other.example", [rcpt], body)
    c.cmd("QUIT", 221)
    c.close()


class Raw:
    """A raw IMAP client: exact bytes out, lines in."""

    def __init__(self, port, tls_ctx=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        if tls_ctx is not None:
            self.sock = tls_ctx.wrap_socket(self.sock, server_hostname="localhost")
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("closed; pending %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode(errors="replace")

    def until(self, tag):
        """Lines up to and including the tagged one."""
        out = []
        while True:
            line = self.line()
            out.append(line)
            if line.startswith(tag + " "):
                return out

    def closed(self, wait=5):
        self.sock.settimeout(wait)
        try:
            while True:
                d = self.sock.recv(65536)
                if not d:
                    return True
                self.buf += d
        except (ConnectionResetError, ssl.SSLError):
            return True
        except socket.timeout:
            return False


# ------------------------------------------------------------------ login

def test_greeting_and_logindisabled_before_tls(srv):
    r = Raw(srv.imap)
    greet = r.line()
    assert greet.startswith("* OK [CAPABILITY IMAP4rev1 IMAP4rev2 STARTTLS LOGINDISABLED")
    assert "AUTH=" not in greet
    r.send(f'a LOGIN {ALICE} "{PASSWORD}"\r\n')
    assert r.line() == "a NO [PRIVACYREQUIRED] Use STARTTLS first"
    r.send("b AUTHENTICATE PLAIN\r\n")
    assert r.line() == "b NO [PRIVACYREQUIRED] Use STARTTLS first"
    r.send("c CAPABILITY\r\n")
    caps = r.until("c")
    assert "LOGINDISABLED" in caps[0] and "AUTH=" not in caps[0]
    assert caps[1] == "c OK CAPABILITY completed"


def test_starttls_login_and_capabilities(srv):
    m = starttls(srv, login=False)
    caps = m.capabilities
    assert "AUTH=PLAIN" in caps and "AUTH=SCRAM-SHA-256" in caps
    assert "LOGINDISABLED" not in caps and "STARTTLS" not in caps
    typ, data = m.login(ALICE, PASSWORD)
    assert typ == "OK" and b"Logged in" in data[0]
    typ, data = m.capability()
    caps = data[0].decode().split()
    for c in ("IDLE", "UIDPLUS", "MOVE", "LIST-EXTENDED", "SPECIAL-USE",
              "LITERAL+", "NAMESPACE", "ESEARCH"):
        assert c in caps
    assert m.logout()[0] == "BYE"


def test_implicit_tls_login_verifies_certificate(srv):
    m = implicit(srv)
    assert m.state == "AUTH"
    m.logout()
    ctx = ssl.create_default_context()  # without the test CA: refused
    with pytest.raises(ssl.SSLError):
        imaplib.IMAP4_SSL("127.0.0.1", srv.imaps, ssl_context=ctx, timeout=10)


def test_authenticate_plain_with_sasl_ir_and_continuation(srv):
    r = Raw(srv.imaps, client_context(srv.pki))
    r.line()
    ir = base64.b64encode(f"\0{ALICE}\0{PASSWORD}".encode()).decode()
    r.send(f"a AUTHENTICATE PLAIN {ir}\r\n")
    assert r.line().startswith("a OK [CAPABILITY IMAP4rev1")
    r2 = Raw(srv.imaps, client_context(srv.pki))
    r2.line()
    r2.send("b AUTHENTICATE PLAIN\r\n")
    assert r2.line() == "+ "
    r2.send(ir + "\r\n")
    assert r2.line().startswith("b OK [CAPABILITY")
    r3 = Raw(srv.imaps, client_context(srv.pki))
    r3.line()
    r3.send("c AUTHENTICATE PLAIN\r\n")
    assert r3.line() == "+ "
    r3.send("*\r\n")
    assert r3.line() == "c BAD Authentication cancelled"


def test_scram_sha_256(srv):
    """SCRAM-SHA-256 with a client written here from RFC 5802/7677."""
    import hashlib
    import hmac
    r = Raw(srv.imaps, client_context(srv.pki))
    r.line()
    cnonce = base64.b64encode(os.urandom(18)).decode()
    first_bare = f"n={ALICE},r={cnonce}"
    r.send("a AUTHENTICATE SCRAM-SHA-256 " +
           base64.b64encode(("n,," + first_bare).encode()).decode() + "\r\n")
    line = r.line()
    assert line.startswith("+ ")
    server_first = base64.b64decode(line[2:]).decode()
    attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
    salt, it, nonce = base64.b64decode(attrs["s"]), int(attrs["i"]), attrs["r"]
    salted = hashlib.pbkdf2_hmac("sha256", PASSWORD.encode(), salt, it)
    ckey = hmac.new(salted, b"Client Key", "sha256").digest()
    stored = hashlib.sha256(ckey).digest()
    final_wo = f"c=biws,r={nonce}"
    auth_msg = f"{first_bare},{server_first},{final_wo}".encode()
    sig = hmac.new(stored, auth_msg, "sha256").digest()
    proof = bytes(a ^ b for a, b in zip(ckey, sig))
    r.send(base64.b64encode(f"{final_wo},p={base64.b64encode(proof).decode()}"
                            .encode()).decode() + "\r\n")
    line = r.line()
    assert line.startswith("+ ")
    skey = hmac.new(salted, b"Server Key", "sha256").digest()
    v = base64.b64encode(hmac.new(skey, auth_msg, "sha256").digest()).decode()
    assert base64.b64decode(line[2:]).decode() == f"v={v}"
    r.send("\r\n")
    assert r.line().startswith("a OK [CAPABILITY")


def test_wrong_password_is_no_and_penalised(make_server):
    s = imap_server(make_server, {"auth": {"failure_delay": "1s",
                                           "failure_delay_max": "1s",
                                           "max_failures": "2"}})
    m = starttls(s, login=False)
    m2 = implicit(s, login=False)
    t = time.time()
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        m.login(ALICE, "wrong")
    assert time.time() - t >= 0.9
    s.wait_log(r"event=auth result=fail protocol=imap mech=LOGIN user=\"?alice")
    assert "wrong" not in s.log()
    # the penalty is the client's, on every connection and protocol: while
    # it lasts, the next attempt waits for its slot, even with the right
    # password, and so does one over SMTP
    r = Raw(s.imaps, client_context(s.pki))
    r.line()
    r.send(f'a LOGIN {ALICE} "bad"\r\n')
    time.sleep(0.1)
    t = time.time()
    m2.login(ALICE, PASSWORD)
    assert time.time() - t >= 0.5
    # max_failures ends the connection
    with pytest.raises(imaplib.IMAP4.error):
        m.login(ALICE, "wrong again")
    with pytest.raises((imaplib.IMAP4.abort, OSError, EOFError)):
        m.noop()


def test_starttls_injection_is_discarded(srv):
    r = Raw(srv.imap)
    r.line()
    r.send("a STARTTLS\r\nb NOOP\r\n")
    assert r.line() == "a OK Begin TLS negotiation now"
    r.sock = client_context(srv.pki).wrap_socket(r.sock, server_hostname="localhost")
    r.send("c NOOP\r\n")
    assert r.line() == "c OK NOOP completed"
    r.send("d STARTTLS\r\n")
    assert r.line() == "d BAD TLS is already active"


def test_pre_auth_literals_refused_and_huge_literal(srv):
    r = Raw(srv.imap)
    r.line()
    r.send("a LOGIN {100000}\r\n")
    line = r.line()
    assert line.startswith("a BAD [TOOBIG]"), line
    r.send("b LOGIN {4294967296}\r\n")
    line = r.line()
    assert line.startswith("b BAD [TOOBIG]"), line
    r.send("c NOOP\r\n")
    assert r.line() == "c OK NOOP completed"
    # after login: a literal over max_message_size is refused unread
    m = Raw(srv.imaps, client_context(srv.pki))
    m.line()
    m.send(f'a LOGIN {ALICE} "{PASSWORD}"\r\n')
    m.until("a")
    m.send("b APPEND INBOX {4294967296}\r\n")
    assert m.line().startswith("b BAD [TOOBIG]")
    m.send("c NOOP\r\n")
    assert m.until("c")[-1] == "c OK NOOP completed"


def test_commands_need_their_state(srv):
    r = Raw(srv.imaps, client_context(srv.pki))
    r.line()
    r.send("a SELECT INBOX\r\n")
    assert r.line() == "a BAD SELECT needs a login first"
    r.send("b FOO\r\n")
    assert r.line().startswith("b BAD")
    r.send(f'c LOGIN {ALICE} "{PASSWORD}"\r\n')
    r.until("c")
    r.send("d FETCH 1 FLAGS\r\n")
    assert r.line() == "d BAD FETCH needs a selected mailbox (SELECT or EXAMINE first)"
    r.send("e LOGIN x y\r\n")
    assert r.line() == "e BAD LOGIN is not allowed after login"
    r.send('f ID ("name" "test")\r\n')
    assert r.until("f") == ['* ID ("name" "Postern" "vendor" "Postern")', "f OK ID completed"]
    r.send("g NAMESPACE\r\n")
    assert r.until("g") == ['* NAMESPACE (("" "/")) NIL NIL', "g OK NAMESPACE completed"]
    r.send("h ENABLE IMAP4rev2\r\n")
    assert r.until("h") == ["* ENABLED IMAP4rev2", "h OK ENABLE completed"]
