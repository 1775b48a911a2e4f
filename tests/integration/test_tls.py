"""TLS: 1.2 and 1.3 only, SNI, session tickets off by default, STARTTLS
that forgets everything sent before the handshake, handshake timeouts."""
import socket
import ssl
import subprocess
import time

import pytest

from conftest import DOMAIN, HOST, client_context


def s_client(port, *args, starttls=True, stdin="QUIT\r\n"):
    cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-ign_eof"]
    if starttls:
        cmd += ["-starttls", "smtp"]
    p = subprocess.run(cmd + list(args), input=stdin, capture_output=True,
                       text=True, timeout=30)
    return p.returncode, p.stdout + p.stderr


def test_tls_1_1_is_refused(server):
    rc, out = s_client(server.port, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0")
    assert rc != 0
    assert "alert protocol version" in out or "unsupported protocol" in out, out
    rc, out = s_client(server.tls_port, "-tls1", "-cipher", "DEFAULT:@SECLEVEL=0",
                       starttls=False)
    assert rc != 0 and "Cipher    : 0000" in out, out   # no session


def test_tls_1_2_and_1_3_work(server):
    rc, out = s_client(server.port, "-tls1_2", "-brief", "-CAfile", server.pki["ca"],
                       "-verify_return_error")
    assert rc == 0, out
    assert "Protocol version: TLSv1.2" in out
    assert "Ciphersuite: ECDHE-RSA-" in out     # forward secrecy
    assert "GCM" in out or "CHACHA20" in out    # AEAD
    rc, out = s_client(server.tls_port, "-tls1_3", "-brief", starttls=False)
    assert rc == 0 and "Protocol version: TLSv1.3" in out, out


def test_no_session_tickets_by_default(server):
    rc, out = s_client(server.port, "-tls1_3")
    assert rc == 0, out
    assert "New Session Ticket" not in out
    rc, out = s_client(server.port, "-tls1_2")
    assert rc == 0 and "TLS session ticket lifetime hint" not in out, out


def test_session_tickets_when_configured(make_server):
    s = make_server(settings={"tls": {"session_tickets": "yes"}})
    rc, out = s_client(s.port, "-tls1_3")
    assert rc == 0 and "New Session Ticket arrived" in out, out


def test_sni_chooses_the_certificate(make_server, pki):
    s = make_server(settings={"certificate other.example.test": {
        "certificate": pki["other"]["crt"], "key": pki["other"]["key"]}})
    rc, out = s_client(s.port, "-servername", "other.example.test", "-CAfile",
                       pki["ca"], "-verify_hostname", "other.example.test",
                       "-verify_return_error")
    assert rc == 0, out
    assert "subject=CN = other.example.test" in out
    rc, out = s_client(s.port, "-servername", "unknown.example.org")
    assert rc == 0 and f"subject=CN = {HOST}" in out, out
    rc, out = s_client(s.tls_port, "-servername", "OTHER.example.test",
                       starttls=False)
    assert rc == 0 and "subject=CN = other.example.test" in out, out


def test_starttls_injection_is_discarded(server, chat):
    """CVE-2011-0411 class: commands pipelined behind STARTTLS in the same
    write must never be executed after the handshake."""
    c = chat(server.port)
    c.greet()
    c.send(b"STARTTLS\r\nEHLO injected.example\r\nMAIL FROM:<inj@other.example>\r\n")
    c.expect(220, "2.0.0 Ready to start TLS")
    assert c.buf == b""
    ctx = client_context(server.pki)
    c.sock = ctx.wrap_socket(c.sock, server_hostname=HOST)
    assert c.nothing_pending(0.7), c.buf   # no reply to the injected commands
    text = c.cmd("EHLO real.example", 250)
    assert "STARTTLS" not in text
    c.cmd(f"RCPT TO:<alice@{DOMAIN}>", 503)   # no MAIL survived the handshake
    c.cmd("MAIL FROM:<a@other.example>", 250)
    c.cmd("QUIT", 221)
    assert "name=injected.example" not in server.log()


def test_starttls_rules(server, chat):
    c = chat(server.port)
    c.greet()
    c.cmd("STARTTLS now", 501, "5.5.4")
    c.cmd("STARTTLS", 220)
    c.sock = client_context(server.pki).wrap_socket(c.sock, server_hostname=HOST)
    c.cmd("MAIL FROM:<a@other.example>", 503, "HELO or EHLO first")  # state reset
    c.cmd("EHLO again.example", 250)
    c.cmd("STARTTLS", 503, "5.5.1")
    c.cmd("QUIT", 221)
    t = chat(server.tls_port)
    t.sock = client_context(server.pki).wrap_socket(t.sock, server_hostname=HOST)
    t.greet()
    t.cmd("STARTTLS", 503, "5.5.1")


def test_handshake_timeout(make_server, chat):
    s = make_server(settings={"smtp": {"timeout_tls_handshake": "1s"}})
    c = chat(s.tls_port)
    t0 = time.time()
    assert c.closed(wait=5)
    assert 0.8 < time.time() - t0 < 3
    c = chat(s.port)
    c.greet()
    c.cmd("STARTTLS", 220)
    t0 = time.time()
    assert c.closed(wait=5)             # no ClientHello: dropped
    assert time.time() - t0 < 3


def test_plaintext_on_the_tls_port_fails_cleanly(server, chat):
    c = chat(server.tls_port)
    c.send(b"EHLO plain.example\r\n")
    assert c.closed(wait=5)
    assert b"250" not in c.buf


def test_require_tls_and_no_tls_listeners(make_server, chat):
    s = make_server(listeners={
        "strict": {"address": "127.0.0.1:%d" % __import__("conftest").free_port(),
                   "require_tls": "yes"},
        "plain": {"address": "127.0.0.1:%d" % __import__("conftest").free_port(),
                  "tls": "none"},
    })
    strict = int(s.listeners["strict"]["address"].split(":")[1])
    plain = int(s.listeners["plain"]["address"].split(":")[1])
    c = chat(strict)
    c.greet()
    c.cmd("MAIL FROM:<a@other.example>", 530, "5.7.0")
    c.cmd("STARTTLS", 220)
    c.sock = client_context(s.pki).wrap_socket(c.sock, server_hostname=HOST)
    c.cmd("EHLO x.example", 250)
    c.cmd("MAIL FROM:<a@other.example>", 250)
    p = chat(plain)
    text = p.greet()
    assert "STARTTLS" not in text
    p.cmd("STARTTLS", 502, "5.5.1")
