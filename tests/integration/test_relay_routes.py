"""Relay routes: a relay domain whose mail Postern takes over TLS on its MX
listener and hands in plaintext to an internal server, and a smarthost
route that logs in (AUTH PLAIN over verified TLS) before it sends. The
peers are aiosmtpd, with its own AUTH implementation judging ours."""
import os
import smtplib
import time

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from conftest import client_context, free_port, make_cert
from test_outbound import Recorder, ca_of, outbound_server, submit, tls_context

SMARTHOST_USER = "relay-account"
SMARTHOST_PASSWORD = "s3cret-relay-pass"


@pytest.fixture
def controllers():
    started = []
    yield started
    for c in started:
        c.stop()


def test_relay_domain_goes_to_the_internal_server_in_plaintext(make_server, controllers):
    port = free_port()
    internal = Recorder()
    c = Controller(internal, hostname="127.0.0.80", port=port, ready_timeout=10)
    c.start()
    controllers.append(c)
    s = make_server(settings={"route corp.example": {
        "relay": "yes", "next_hop": f"127.0.0.80:{port}", "tls": "none"}})
    with smtplib.SMTP("127.0.0.1", s.port, timeout=10) as m:
        m.starttls(context=client_context(s.pki))
        m.ehlo("sender.example.org")
        m.mail("someone@sender.example.org")
        assert m.rcpt("anyone@corp.example")[0] == 250
        assert m.rcpt("x@other.example")[0] == 554        # not a relay domain
        assert m.rcpt("x%y@corp.example")[0] == 554        # no relay tricks either
        m.data(b"From: someone@sender.example.org\r\nSubject: to corp\r\n\r\nhello corp\r\n")
    internal.wait(s)
    mail_from, rcpts, content, tls = internal.messages[0]
    assert (mail_from, rcpts, tls) == ("someone@sender.example.org", ["anyone@corp.example"],
                                       False)
    assert b"hello corp" in content
    assert b"with ESMTPS" in content       # the Internet leg was encrypted
    s.wait_log(r"event=attempt domain=corp\.example mx=127\.0\.0\.80 tls=none .* "
               r"result=session")


def smarthost(controllers, pki, ip, port, seen):
    """aiosmtpd requiring STARTTLS and AUTH, with a certificate for ip."""
    cert = make_cert(pki["dir"], ca_of(pki), f"smarthost-{ip}", [f"IP:{ip}"])

    def authenticator(server, session, envelope, mechanism, auth_data):
        seen.append((mechanism, auth_data.login, auth_data.password,
                     session.ssl is not None))
        ok = (auth_data.login == SMARTHOST_USER.encode() and
              auth_data.password == SMARTHOST_PASSWORD.encode())
        return AuthResult(success=ok, handled=False)   # aiosmtpd then replies 535

    rec = Recorder()
    c = Controller(rec, hostname=ip, port=port, ready_timeout=10,
                   tls_context=tls_context(cert), require_starttls=True,
                   authenticator=authenticator, auth_required=True,
                   auth_require_tls=True)
    c.start()
    controllers.append(c)
    return rec


def test_smarthost_route_logs_in_over_verified_tls(make_server, pki, controllers, tmp_path):
    port = free_port()
    seen = []
    rec = smarthost(controllers, pki, "127.0.0.81", port, seen)
    pw = tmp_path / "smarthost.pass"
    pw.write_text(SMARTHOST_PASSWORD + "\n")
    os.chmod(pw, 0o600)
    s = outbound_server(make_server, pki, port, routes={"*": {
        "next_hop": f"127.0.0.81:{port}", "tls": "verify",
        "auth_user": SMARTHOST_USER, "auth_password_file": str(pw)}})
    submit(s, ["friend@anywhere.example"])
    rec.wait(s)
    assert seen == [("PLAIN", SMARTHOST_USER.encode(), SMARTHOST_PASSWORD.encode(), True)]
    s.wait_log(r"mx=127\.0\.0\.81 tls=TLSv1\.[23] cipher=\S+ verified=yes by=pkix "
               r"result=session")
    assert SMARTHOST_PASSWORD not in s.log()


def test_smarthost_refusing_the_login_defers(make_server, pki, controllers, tmp_path):
    port = free_port()
    seen = []
    rec = smarthost(controllers, pki, "127.0.0.82", port, seen)
    pw = tmp_path / "smarthost.pass"
    pw.write_text("not-the-password\n")
    s = outbound_server(make_server, pki, port, routes={"*": {
        "next_hop": f"127.0.0.82:{port}", "tls": "verify",
        "auth_user": SMARTHOST_USER, "auth_password_file": str(pw)}})
    submit(s, ["friend@anywhere.example"])
    s.wait_log(r"reply=\"AUTH as relay-account failed: 535")
    s.wait_log(r"event=retry-scheduled")
    time.sleep(0.3)
    assert rec.messages == [] and s.messages("alice") == []   # deferred, not bounced
    assert "not-the-password" not in s.log()


def test_no_password_is_sent_without_tls(make_server, pki, controllers, tmp_path):
    """A smarthost that offers no STARTTLS never sees the password: the
    session stops before AUTH."""
    port = free_port()
    seen = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        seen.append(auth_data)
        return AuthResult(success=True)

    rec = Recorder()
    c = Controller(rec, hostname="127.0.0.83", port=port, ready_timeout=10,
                   authenticator=authenticator, auth_require_tls=False)
    c.start()
    controllers.append(c)
    pw = tmp_path / "smarthost.pass"
    pw.write_text(SMARTHOST_PASSWORD + "\n")
    s = outbound_server(make_server, pki, port, routes={"*": {
        "next_hop": f"127.0.0.83:{port}", "tls": "verify",
        "auth_user": SMARTHOST_USER, "auth_password_file": str(pw)}})
    submit(s, ["friend@anywhere.example"])
    s.wait_log(r"TLS is required for 127\.0\.0\.83, but it does not offer STARTTLS")
    time.sleep(0.3)
    assert seen == [] and rec.messages == []


def test_relay_and_auth_settings_are_checked(make_server, pki, tmp_path):
    s = make_server(start=False)
    with open(s.conf, "a") as f:
        f.write("[route corp.example]\nrelay = yes\n"
                "[route *]\nrelay = yes\nnext_hop = 10.0.0.1:25\n"
                "[route b.example]\nauth_user = x\nnext_hop = 10.0.0.2:25\n"
                "[route c.example]\nauth_user = x\nauth_password_file = /x\n"
                "next_hop = 10.0.0.3:25\ntls = encrypt\n")
    p = s.cli("config", "check", check=False)
    assert p.returncode != 0
    err = p.stderr
    assert "route 'corp.example': relay needs a domain and a next_hop" in err
    assert "route '*': relay needs a domain and a next_hop" in err
    assert "route 'b.example': auth_user and auth_password_file go together" in err
    assert "route 'c.example': auth_user needs a verified server" in err


def test_missing_password_file_stops_the_start(make_server, pki, tmp_path):
    s = make_server(start=False, settings={"route *": {
        "next_hop": "10.0.0.1:25", "tls": "verify", "auth_user": "x",
        "auth_password_file": str(tmp_path / "nowhere")}})
    with pytest.raises(AssertionError, match="cannot read"):
        s.start()
    s.proc = None

