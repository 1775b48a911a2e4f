"""postern send: a client for scripts that verifies the server and refuses
to log in over a connection it cannot trust, saying why in plain words."""
import os
import re
import subprocess

import pytest

from conftest import BIN, DOMAIN, PASSWORD, free_port

ALICE = f"alice@{DOMAIN}"
MESSAGE = (f"From: Alice <{ALICE}>\nSubject: from a script\n\n"
           ".a line that starts with a dot\nand one more\n").encode()


def send(port, *args, password=PASSWORD, message=MESSAGE, mode="starttls",
         host="localhost"):
    env = dict(os.environ, POSTERN_PASSWORD=password)
    p = subprocess.run([BIN, "send", "--server", f"{host}:{port}", "--tls", mode,
                        *args], input=message, capture_output=True, env=env,
                       timeout=30)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def server_with(make_server, pki, cert=None):
    sub, subs = free_port(), free_port()
    settings = {}
    if cert is not None:
        settings["tls"] = {"certificate": cert["crt"], "key": cert["key"]}
    s = make_server(settings=settings, listeners={
        "submission": {"address": f"127.0.0.1:{sub}", "role": "submission"},
        "submissions": {"address": f"127.0.0.1:{subs}", "role": "submission",
                        "tls": "implicit"},
    })
    s.sub, s.subs = sub, subs
    return s


def test_sends_over_starttls_and_implicit_tls(make_server, pki):
    s = server_with(make_server, pki)
    rc, out, err = send(s.sub, "--user", ALICE, "--to", f"bob@{DOMAIN}", "--ca", pki["ca"])
    assert rc == 0, err
    assert re.match(r"sent: 2\.0\.0 Ok: queued as [0-9A-F]{16}\n", out)
    rc, out, err = send(s.subs, "--user", ALICE, "--to", f"bob@{DOMAIN}", "--ca",
                        pki["ca"], mode="implicit", host="127.0.0.1")
    assert rc == 0, err
    msgs = s.wait_messages(2, "bob")
    data = s.read_message(msgs[0])
    assert b"\n.a line that starts with a dot\nand one more\n" in data
    assert b"with ESMTPSA" in data


@pytest.mark.parametrize("cert,host,message", [
    ("expired", "localhost", "its certificate expired on Feb  1 00:00:00 2020 GMT"),
    ("other", "localhost",
     "its certificate is for another name (other.example.test), not localhost"),
    ("rogue_server", "localhost",
     "its certificate comes from an issuer we do not trust (/CN=Rogue)"),
])
def test_refuses_servers_it_cannot_trust(make_server, pki, cert, host, message):
    s = server_with(make_server, pki, pki[cert])
    rc, out, err = send(s.sub, "--user", ALICE, "--to", f"bob@{DOMAIN}", "--ca",
                        pki["ca"], host=host)
    assert rc == 1
    assert f"postern send: cannot trust {host}: {message}" in err, err
    # nothing was sent: no login was even tried
    assert "event=auth" not in s.log() and "event=mail" not in s.log()
    assert s.messages("bob") == []


def test_insecure_is_explicit(make_server, pki):
    s = server_with(make_server, pki, pki["rogue_server"])
    rc, out, err = send(s.sub, "--user", ALICE, "--to", f"bob@{DOMAIN}", "--insecure")
    assert rc == 0, err
    assert "warning: not verified (--insecure)" in err
    s.wait_messages(1, "bob")


def test_errors_are_clear(make_server, pki):
    s = server_with(make_server, pki)
    rc, out, err = send(s.sub, "--user", ALICE, "--to", f"bob@{DOMAIN}", "--ca",
                        pki["ca"], password="wrong")
    assert rc == 1 and "login: the server said: 535 5.7.8" in err
    rc, out, err = send(s.sub, "--user", ALICE, "--to", f"nobody@{DOMAIN}",
                        "--ca", pki["ca"])
    assert rc == 1 and f"nobody@{DOMAIN}: the server said: 550 5.1.1" in err
    rc, out, err = send(free_port(), "--user", ALICE, "--to", "x@y.example")
    assert rc == 1 and "cannot connect to localhost" in err
    p = subprocess.run([BIN, "send"], capture_output=True, timeout=10)
    assert p.returncode == 2 and b"usage: postern send" in p.stderr
