"""SASL EXTERNAL (RFC 4422 appendix A) over IMAP AUTHENTICATE (RFC 9051
6.2.2, RFC 4959) and POP3 AUTH (RFC 5034), as submission does it
(test_submission.py): a TLS client certificate that chains to [tls]
client_ca names the user, by its fingerprint (`postern user cert add`) or
by its e-mail address; an authzid must be that user; no certificate, an
untrusted one, or a listener that does not ask for one: EXTERNAL is neither
offered nor accepted. Checked with raw sockets (Python ssl with
load_cert_chain), imaplib, and gsasl as an independent SASL client."""
import base64
import imaplib
import re
import socket
import subprocess

import pytest

from conftest import DOMAIN, HOST, PASSWORD, Lines, client_context, free_port

ALICE = f"alice@{DOMAIN}"
BOB = f"bob@{DOMAIN}"


@pytest.fixture(scope="module")
def srv(workdir, pki):
    """imap/imaps/pop3/pop3s asking for client certificates, and an imaps
    and a pop3s that do not."""
    from conftest import Server
    s = Server(workdir, pki, {"tls": {"client_ca": pki["client_ca"]},
                              "auth": {"failure_delay": "0",
                                       "failure_delay_max": "0",
                                       "max_failures": "100"}})
    s.ports = {n: free_port() for n in ("smtp", "imap", "imaps", "imaps_nocert",
                                        "pop3", "pop3s", "pop3s_nocert",
                                        "submissions")}
    role = {"imap": "imap", "imaps": "imaps", "imaps_nocert": "imaps",
            "pop3": "pop3", "pop3s": "pop3s", "pop3s_nocert": "pop3s"}
    s.listeners = {"smtp": {"address": f"127.0.0.1:{s.ports['smtp']}"},
                   "submissions": {"address": f"127.0.0.1:{s.ports['submissions']}",
                                   "role": "submission", "tls": "implicit"}}
    for name, r in role.items():
        s.listeners[name] = {"address": f"127.0.0.1:{s.ports[name]}", "role": r}
        if not name.endswith("_nocert"):
            s.listeners[name]["client_certificates"] = "request"
    s.write_config()
    s.provision()
    s.start()
    # the device certificate names no address: it is bob's by fingerprint
    s.cli("user", "cert", "add", BOB, pki["device"]["crt"])
    yield s
    s.stop()


def context(pki, cert=None):
    ctx = client_context(pki)
    if cert is not None:
        ctx.load_cert_chain(cert["crt"], cert["key"])
    return ctx


def Raw(port, ctx):
    """Exact lines out, lines in, over implicit TLS (conftest.Lines)."""
    return Lines(port, ctx, HOST)


def b64(text):
    return base64.b64encode(text.encode()).decode()


# ------------------------------------------------------------------ IMAP

def imap(srv, cert, listener="imaps"):
    r = Raw(srv.ports[listener], context(srv.pki, cert))
    greeting = r.line()
    assert greeting.startswith("* OK [CAPABILITY IMAP4rev1")
    return r, greeting


def imap_caps(r):
    lines = r.until("c")
    assert lines[-1] == "c OK CAPABILITY completed"
    return lines[0].split()


def test_imap_external_by_address_with_and_without_authzid(srv, pki):
    r, greeting = imap(srv, pki["alice"])
    assert "AUTH=EXTERNAL" in greeting.split()
    r.sock.sendall(b"c CAPABILITY\r\n")
    caps = imap_caps(r)
    assert [c for c in caps if c.startswith("AUTH=")] == ["AUTH=PLAIN", "AUTH=LOGIN", "AUTH=SCRAM-SHA-256",
                         "AUTH=SCRAM-SHA-256-PLUS", "AUTH=EXTERNAL"]
    # SASL-IR "=": an empty initial response, no authzid
    assert r.cmd("a AUTHENTICATE EXTERNAL =").startswith(
        "a OK [CAPABILITY IMAP4rev1")
    # logged in as the certificate's address: its INBOX is there
    r.sock.sendall(b"b SELECT INBOX\r\n")
    lines = r.until("b")
    assert lines[-1].startswith("b OK [READ-WRITE]")
    srv.wait_log(r"event=auth result=ok protocol=imap mech=EXTERNAL "
                 rf"user={re.escape(ALICE)} ")
    r.close()
    # without an initial response: "+ " then an empty line
    r, _ = imap(srv, pki["alice"])
    assert r.cmd("a AUTHENTICATE EXTERNAL") == "+ "
    assert r.cmd("").startswith("a OK [CAPABILITY")
    r.close()
    # an authzid that is the certificate's own user, in any case
    r, _ = imap(srv, pki["alice"])
    assert r.cmd("a AUTHENTICATE EXTERNAL " + b64(ALICE.upper())).startswith(
        "a OK [CAPABILITY")
    r.close()


def test_imap_external_by_fingerprint(srv, pki):
    r, greeting = imap(srv, pki["device"])
    assert "AUTH=EXTERNAL" in greeting.split()
    assert r.cmd("a AUTHENTICATE EXTERNAL " + b64(BOB)).startswith(
        "a OK [CAPABILITY")
    srv.wait_log(r"event=auth result=ok protocol=imap mech=EXTERNAL "
                 rf"user={re.escape(BOB)} ")
    r.close()


def test_imap_external_refuses_another_authzid(srv, pki):
    r, _ = imap(srv, pki["alice"])
    assert r.cmd("a AUTHENTICATE EXTERNAL " + b64(BOB)) == \
        "a NO [AUTHENTICATIONFAILED] Authentication failed"
    srv.wait_log(r"event=auth result=fail protocol=imap mech=EXTERNAL "
                 rf"user=\"?{re.escape(ALICE)}")
    # still not logged in
    assert r.cmd("b SELECT INBOX").startswith("b BAD")
    r.close()


@pytest.mark.parametrize("cert,listener", [(None, "imaps"),
                                           ("rogue", "imaps"),
                                           ("alice", "imaps_nocert")])
def test_imap_external_needs_a_trusted_certificate(srv, pki, cert, listener):
    """No certificate, one from another CA, or a listener that does not ask
    for one: not offered, and refused when tried."""
    r, greeting = imap(srv, pki[cert] if cert else None, listener)
    assert "AUTH=PLAIN" in greeting.split()
    assert "AUTH=EXTERNAL" not in greeting
    r.sock.sendall(b"c CAPABILITY\r\n")
    assert "AUTH=EXTERNAL" not in imap_caps(r)
    assert r.cmd("a AUTHENTICATE EXTERNAL =") == \
        "a NO Unsupported authentication mechanism"
    # the other mechanisms still work
    assert r.cmd("b AUTHENTICATE PLAIN " + b64(f"\0{ALICE}\0{PASSWORD}")) \
        .startswith("b OK [CAPABILITY")
    r.close()


def test_imaplib_external_over_starttls(srv, pki):
    m = imaplib.IMAP4("127.0.0.1", srv.ports["imap"], timeout=10)
    m.starttls(ssl_context=context(pki, pki["alice"]))
    assert "AUTH=EXTERNAL" in m.capabilities
    typ, data = m.authenticate("EXTERNAL", lambda challenge: b"")
    assert typ == "OK" and b"Logged in" in data[0]
    assert m.select("INBOX")[0] == "OK"
    m.logout()


# ------------------------------------------------------------------ POP3

def pop3(srv, cert, listener="pop3s"):
    r = Raw(srv.ports[listener], context(srv.pki, cert))
    assert r.line().startswith("+OK")
    return r


def multi(r):
    out = []
    while True:
        line = r.line()
        if line == ".":
            return out
        out.append(line)


def test_pop3_external_by_address_with_and_without_authzid(srv, pki):
    r = pop3(srv, pki["alice"])
    assert r.cmd("CAPA").startswith("+OK")
    sasl = next(l for l in multi(r) if l.startswith("SASL "))
    assert sasl == "SASL PLAIN LOGIN SCRAM-SHA-256 SCRAM-SHA-256-PLUS EXTERNAL"
    r.sock.sendall(b"AUTH\r\n")
    assert r.line().startswith("+OK")
    assert multi(r)[-1] == "EXTERNAL"
    assert r.cmd("AUTH EXTERNAL =").startswith("+OK Logged in")
    assert r.cmd("STAT").startswith("+OK ")
    srv.wait_log(r"event=auth result=ok protocol=pop3 mech=EXTERNAL "
                 rf"user={re.escape(ALICE)} ")
    assert r.cmd("QUIT").startswith("+OK")
    r.close()
    r = pop3(srv, pki["alice"])
    assert r.cmd("AUTH EXTERNAL") == "+ "
    assert r.cmd("").startswith("+OK Logged in")
    r.cmd("QUIT")
    r.close()
    r = pop3(srv, pki["alice"])
    assert r.cmd("AUTH EXTERNAL " + b64(ALICE)).startswith("+OK Logged in")
    r.cmd("QUIT")
    r.close()


def test_pop3_external_by_fingerprint_and_wrong_authzid(srv, pki):
    r = pop3(srv, pki["device"])
    assert r.cmd("AUTH EXTERNAL " + b64(ALICE)) == \
        "-ERR [AUTH] Authentication failed"
    srv.wait_log(r"event=auth result=fail protocol=pop3 mech=EXTERNAL "
                 rf"user=\"?{re.escape(BOB)}")
    assert r.cmd("STAT") == "-ERR STAT needs a login first"
    assert r.cmd("AUTH EXTERNAL =").startswith("+OK Logged in")
    srv.wait_log(r"event=auth result=ok protocol=pop3 mech=EXTERNAL "
                 rf"user={re.escape(BOB)} ")
    r.cmd("QUIT")
    r.close()


@pytest.mark.parametrize("cert,listener", [(None, "pop3s"),
                                           ("rogue", "pop3s"),
                                           ("alice", "pop3s_nocert")])
def test_pop3_external_needs_a_trusted_certificate(srv, pki, cert, listener):
    r = pop3(srv, pki[cert] if cert else None, listener)
    assert r.cmd("CAPA").startswith("+OK")
    sasl = next(l for l in multi(r) if l.startswith("SASL "))
    assert sasl == "SASL PLAIN LOGIN SCRAM-SHA-256 SCRAM-SHA-256-PLUS"
    assert r.cmd("AUTH EXTERNAL =") == "-ERR Unsupported authentication mechanism"
    assert r.cmd("AUTH PLAIN " + b64(f"\0{ALICE}\0{PASSWORD}")) \
        .startswith("+OK Logged in")
    r.cmd("QUIT")
    r.close()


# ------------------------------------------------------------------ gsasl

def gsasl_imap(srv, mech, extra):
    p = subprocess.run(
        ["gsasl", "--imap", "--connect", f"localhost:{srv.ports['imap']}",
         "--mechanism", mech, "--x509-ca-file", srv.pki["ca"], "--verbose",
         *extra],
        input="", capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout + p.stderr


def test_gsasl_imap(srv, pki):
    """An independent SASL client over IMAP STARTTLS: EXTERNAL with a
    certificate, and SCRAM-SHA-256-PLUS bound to the TLS connection."""
    cert = ["--x509-cert-file", pki["alice"]["crt"],
            "--x509-key-file", pki["alice"]["key"]]
    rc, out = gsasl_imap(srv, "EXTERNAL", cert + ["--authorization-id", ALICE])
    assert rc == 0 and re.search(r"^\. OK \[CAPABILITY", out, re.M), out
    rc, out = gsasl_imap(srv, "EXTERNAL", cert + ["--authorization-id", BOB])
    assert rc != 0 and re.search(r"^\. NO \[AUTHENTICATIONFAILED\]", out, re.M), out
    rc, out = gsasl_imap(srv, "SCRAM-SHA-256-PLUS",
                         ["--authentication-id", ALICE, "--password", PASSWORD])
    assert rc == 0 and re.search(r"^\. OK \[CAPABILITY", out, re.M), out
    srv.wait_log(r"event=auth result=ok protocol=imap mech=SCRAM-SHA-256-PLUS "
                 rf"user={re.escape(ALICE)} ")
    rc, out = gsasl_imap(srv, "SCRAM-SHA-256-PLUS",
                         ["--authentication-id", ALICE, "--password", "wrong"])
    assert rc != 0 and not re.search(r"^\. OK \[CAPABILITY", out, re.M), out
    assert PASSWORD not in srv.log()


def scram_server_first(srv, pki, proto, user):
    """The salt and iteration count a SCRAM-SHA-256 server-first message
    gives user over proto; the exchange is then cancelled."""
    first = base64.b64encode(f"n,,n={user},r=abcdefgh".encode()).decode()
    if proto == "smtp":
        r = Raw(srv.ports["submissions"], context(pki))
        assert r.line().startswith("220 ")
        r.sock.sendall(b"EHLO client.example.org\r\n")
        while not r.line().startswith("250 "):
            pass
        line = r.cmd(f"AUTH SCRAM-SHA-256 {first}")
        assert line.startswith("334 "), line
        assert r.cmd("*").startswith("501 ")
    elif proto == "imap":
        r = Raw(srv.ports["imaps_nocert"], context(pki))
        assert r.line().startswith("* OK")
        line = r.cmd(f"a AUTHENTICATE SCRAM-SHA-256 {first}")
        assert line.startswith("+ "), line
        assert r.cmd("*").startswith("a BAD")
    else:
        r = Raw(srv.ports["pop3s_nocert"], context(pki))
        assert r.line().startswith("+OK")
        line = r.cmd(f"AUTH SCRAM-SHA-256 {first}")
        assert line.startswith("+ "), line
        assert r.cmd("*").startswith("-ERR")
    r.sock.close()
    msg = base64.b64decode(line[4 if proto == "smtp" else 2:]).decode()
    return re.search(r",s=([^,]+),i=(\d+)$", msg).groups()


def test_made_up_scram_salt_is_the_same_over_every_protocol(srv, pki):
    """A user that does not exist gets one made-up salt, whatever the
    protocol and however the name is cased, as a real user gets their one
    stored salt: comparing protocols tells nobody which names exist."""
    for user in (ALICE, "ghost@" + DOMAIN):
        got = {(p, u): scram_server_first(srv, pki, p, u)
               for p in ("smtp", "imap", "pop3")
               for u in (user, user.upper())}
        assert len(set(got.values())) == 1, got
        assert next(iter(got.values()))[1] == "4096"
    assert (scram_server_first(srv, pki, "imap", "ghost@" + DOMAIN) !=
            scram_server_first(srv, pki, "imap", ALICE))


def test_resumed_sessions_keep_to_their_listeners_certificate_rules(workdir, pki):
    """With session tickets on, a TLS session made where a certificate was
    asked for and given is resumed elsewhere: on a listener that asks for
    none, EXTERNAL must still not be offered (the resumed session brings
    the certificate with it); on one that asks, the resumption must work
    (OpenSSL refuses to resume with peer verification on and no session id
    context: the handshake failed with an internal error alert)."""
    from conftest import Server
    s = Server(workdir, pki, {"tls": {"client_ca": pki["client_ca"],
                                      "session_tickets": "yes"}})
    s.ports = {n: free_port() for n in ("smtp", "imaps", "imaps_nocert")}
    s.listeners = {
        "smtp": {"address": f"127.0.0.1:{s.ports['smtp']}"},
        "imaps": {"address": f"127.0.0.1:{s.ports['imaps']}", "role": "imaps",
                  "client_certificates": "request"},
        "imaps_nocert": {"address": f"127.0.0.1:{s.ports['imaps_nocert']}",
                         "role": "imaps"},
    }
    s.write_config()
    s.provision()
    s.start()
    try:
        ctx = context(pki, pki["alice"])

        def connect(port, session=None):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            t = ctx.wrap_socket(sock, server_hostname=HOST, session=session)
            r = Lines.__new__(Lines)
            r.sock, r.buf = t, b""
            return r

        first = connect(s.ports["imaps"])
        assert "AUTH=EXTERNAL" in first.line()
        assert first.cmd("a NOOP").startswith("a OK")  # the ticket is in
        session = first.sock.session
        assert session is not None and session.has_ticket
        first.sock.close()
        other = connect(s.ports["imaps_nocert"], session)
        greeting = other.line()
        assert greeting.startswith("* OK") and "AUTH=EXTERNAL" not in greeting
        assert other.cmd("a AUTHENTICATE EXTERNAL =").startswith("a NO")
        other.sock.close()
        again = connect(s.ports["imaps"], session)
        assert again.sock.session_reused
        assert "AUTH=EXTERNAL" in again.line()
        assert again.cmd("a AUTHENTICATE EXTERNAL =").startswith("a OK")
        again.sock.close()
    finally:
        s.stop()
