"""The postern commands: configuration check with file:line errors, and the
directory (domains, users, aliases) in SQLite, with passwords stored only as
argon2id hashes, checked with an independent argon2 implementation."""
import os
import sqlite3
import subprocess

import argon2
import pytest

from conftest import BIN, DOMAIN, PASSWORD, Server, run


@pytest.fixture
def srv(workdir, pki):
    return Server(workdir, pki)


def db_rows(srv, sql):
    con = sqlite3.connect(os.path.join(srv.data, "postern.db"))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_usage_and_version():
    p = run(BIN, check=False)
    assert p.returncode == 2 and "usage: postern" in p.stderr
    assert run(BIN, "version").stdout.startswith("postern ")
    p = run(BIN, "frobnicate", check=False)
    assert p.returncode == 2 and "unknown command 'frobnicate'" in p.stderr


def test_config_check_ok(srv):
    out = srv.cli("config", "check").stdout
    assert out == f"{srv.conf}: configuration OK (2 listeners)\n"


def test_config_check_reports_file_and_line(srv):
    with open(srv.conf, "a") as f:
        f.write("\n[smtp]\nmax_message_size = lots\nmax_recipients = 0\n"
                "no_such_key = 1\n[listener broken]\naddress = 127.0.0.1:notaport\n"
                "[bogus]\n")
    lines = open(srv.conf).read().split("\n")
    p = srv.cli("config", "check", check=False)
    assert p.returncode == 1
    errors = p.stderr.strip().split("\n")
    n = lambda text: lines.index(text) + 1
    assert errors[0] == (f"{srv.conf}:{n('max_message_size = lots')}: invalid value "
                         "'lots' for 'max_message_size': expected a size such as 10M")
    assert errors[1].startswith(f"{srv.conf}:{n('max_recipients = 0')}: invalid value '0'")
    assert errors[2] == f"{srv.conf}:{n('no_such_key = 1')}: unknown setting 'no_such_key' in [smtp]"
    assert errors[3] == f"{srv.conf}:{n('[bogus]')}: unknown section [bogus]"
    assert errors[-1] == f"postern: 4 errors in {srv.conf}"


def test_config_check_semantic_errors(srv):
    with open(srv.conf, "a") as f:
        f.write("[listener bad]\naddress = 300.0.0.1:25\n")
    p = srv.cli("config", "check", check=False)
    line = open(srv.conf).read().split("\n").index("[listener bad]") + 1
    assert p.returncode == 1
    assert f"{srv.conf}:{line}: listener 'bad': address '300.0.0.1:25': invalid IPv4 address" in p.stderr


def test_config_check_loads_the_keys(srv, pki):
    srv.settings["tls"]["key"] = pki["other"]["key"]   # wrong key for the cert
    srv.write_config()
    p = srv.cli("config", "check", check=False)
    assert p.returncode == 1 and "key does not match the certificate" in p.stderr
    srv.settings["tls"]["key"] = "/nonexistent/key.pem"
    srv.write_config()
    p = srv.cli("config", "check", check=False)
    assert p.returncode == 1 and "/nonexistent/key.pem: cannot load private key" in p.stderr


def test_config_reference_matches_docs():
    doc = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "configuration.md")
    with open(doc) as f:
        assert f.read() == run(BIN, "config", "reference").stdout, \
            "docs/configuration.md is stale: run make docs"


def test_domains(srv):
    assert srv.cli("domain", "add", "Example.TEST").stdout == "added example.test\n"
    p = srv.cli("domain", "add", "example.test", check=False)
    assert p.returncode == 1 and "already a local domain" in p.stderr
    p = srv.cli("domain", "add", "bad_domain..x", check=False)
    assert p.returncode == 2 and "not a valid domain name" in p.stderr
    srv.cli("domain", "add", "second.test")
    assert srv.cli("domain", "list").stdout == "example.test\t0 users\nsecond.test\t0 users\n"
    srv.add_user(f"carol@{DOMAIN}")
    p = srv.cli("domain", "del", DOMAIN, check=False)
    assert p.returncode == 1 and "still has 1 user(s)" in p.stderr
    assert srv.cli("domain", "del", "second.test").stdout == "deleted second.test\n"
    p = srv.cli("domain", "del", "second.test", check=False)
    assert p.returncode == 1 and "not a local domain" in p.stderr


def test_users_and_password_hashes(srv):
    srv.cli("domain", "add", DOMAIN)
    out = srv.cli("user", "add", f"Carol@{DOMAIN}", input=PASSWORD + "\n").stdout
    assert out.startswith(f"added carol@{DOMAIN}, mailbox ")
    assert os.path.isdir(os.path.join(srv.maildir("carol"), "new"))
    [(stored,)] = db_rows(srv, f"SELECT password FROM users WHERE address='carol@{DOMAIN}'")
    assert stored.startswith("$argon2id$v=19$")
    assert argon2.PasswordHasher().verify(stored, PASSWORD)   # independent check
    with pytest.raises(argon2.exceptions.VerifyMismatchError):
        argon2.PasswordHasher().verify(stored, PASSWORD + "x")
    # the clear password is nowhere in the database files
    for name in os.listdir(srv.data):
        path = os.path.join(srv.data, name)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                assert PASSWORD.encode() not in f.read(), name
    gen = srv.cli("user", "add", f"dave@{DOMAIN}", "--generate").stdout
    password = gen.split("\n")[0].removeprefix("password: ")
    assert len(password) == 20
    [(h,)] = db_rows(srv, f"SELECT password FROM users WHERE address='dave@{DOMAIN}'")
    assert argon2.PasswordHasher().verify(h, password)
    srv.cli("user", "passwd", f"carol@{DOMAIN}", input="new secret\n")
    [(h2,)] = db_rows(srv, f"SELECT password FROM users WHERE address='carol@{DOMAIN}'")
    assert h2 != stored and argon2.PasswordHasher().verify(h2, "new secret")
    assert srv.cli("user", "list").stdout == f"carol@{DOMAIN}\ndave@{DOMAIN}\n"
    srv.cli("user", "quota", f"dave@{DOMAIN}", "1M")
    assert srv.cli("user", "list", DOMAIN).stdout == \
        f"carol@{DOMAIN}\ndave@{DOMAIN}\tquota=1048576\n"


def test_user_errors(srv):
    srv.cli("domain", "add", DOMAIN)
    p = srv.cli("user", "add", "eve@nowhere.test", input="pw\n", check=False)
    assert p.returncode == 1 and "nowhere.test is not a local domain" in p.stderr
    for bad in ["a%b@" + DOMAIN, "a+b@" + DOMAIN, ".a@" + DOMAIN, "noat"]:
        p = srv.cli("user", "add", bad, input="pw\n", check=False)
        assert p.returncode == 2, bad
    p = srv.cli("user", "add", f"eve@{DOMAIN}", input="\n", check=False)
    assert p.returncode == 1 and "password" in p.stderr
    srv.cli("user", "add", f"eve@{DOMAIN}", input="pw\n")
    p = srv.cli("user", "add", f"eve@{DOMAIN}", input="pw\n", check=False)
    assert p.returncode == 1 and "exists already" in p.stderr


def test_aliases(srv):
    srv.cli("domain", "add", DOMAIN)
    srv.add_user(f"alice@{DOMAIN}")
    srv.add_user(f"bob@{DOMAIN}")
    assert srv.cli("alias", "add", f"team@{DOMAIN}", f"alice@{DOMAIN}").stdout == \
        f"added team@{DOMAIN} -> alice@{DOMAIN}\n"
    srv.cli("alias", "add", f"team@{DOMAIN}", f"bob@{DOMAIN}")
    srv.cli("alias", "add", f"@{DOMAIN}", f"team@{DOMAIN}")
    p = srv.cli("alias", "add", f"x@{DOMAIN}", f"nobody@{DOMAIN}", check=False)
    assert p.returncode == 1 and "not a local user or alias" in p.stderr
    # the alias must be ours; a target elsewhere is a forward
    p = srv.cli("alias", "add", "x@other.example", f"alice@{DOMAIN}", check=False)
    assert p.returncode == 1 and "other.example is not a local domain" in p.stderr
    # (its local part keeps its case: only the final host may ignore it)
    assert srv.cli("alias", "add", f"x@{DOMAIN}", "Some.One@Other.Example").stdout == \
        f"added x@{DOMAIN} -> Some.One@other.example (forwarded elsewhere)\n"
    p = srv.cli("alias", "add", f"y@{DOMAIN}", "@other.example", check=False)
    assert p.returncode != 0
    p = srv.cli("alias", "add", f"@{DOMAIN}", "someone@other.example", check=False)
    assert p.returncode == 1 and "a catch-all cannot forward elsewhere" in p.stderr
    srv.cli("alias", "del", f"x@{DOMAIN}", "some.one@other.example")
    assert srv.cli("alias", "list").stdout == (
        f"@{DOMAIN}\tteam@{DOMAIN}\nteam@{DOMAIN}\talice@{DOMAIN}\n"
        f"team@{DOMAIN}\tbob@{DOMAIN}\n")
    srv.cli("user", "del", f"bob@{DOMAIN}")   # its alias rows go with it
    assert f"bob@{DOMAIN}" not in srv.cli("alias", "list").stdout
    srv.cli("alias", "del", f"team@{DOMAIN}")
    assert srv.cli("alias", "list").stdout == f"@{DOMAIN}\tteam@{DOMAIN}\n"


def test_files_belong_to_the_server_user(srv):
    if os.geteuid() != 0:
        pytest.skip("only meaningful as root")
    import pwd
    srv.cli("domain", "add", DOMAIN)
    srv.add_user(f"alice@{DOMAIN}")
    uid = pwd.getpwnam("postern").pw_uid
    for root, dirs, files in os.walk(srv.data):
        for name in dirs + files:
            assert os.stat(os.path.join(root, name)).st_uid == uid, name


def test_server_drops_privileges_and_logs_no_password(make_server):
    s = make_server()
    with open(f"/proc/{s.proc.pid}/status") as f:
        status = f.read()
    uids = [l for l in status.split("\n") if l.startswith("Uid:")][0].split()[1:]
    if os.geteuid() == 0:
        import pwd
        assert uids == [str(pwd.getpwnam("postern").pw_uid)] * 4
    assert "NoNewPrivs:\t1" in status or os.geteuid() != 0
    assert PASSWORD not in s.log()


def test_example_config_is_valid(srv, pki):
    """etc/postern.conf.example passes config check once its files exist."""
    example = os.path.join(os.path.dirname(__file__), "..", "..", "etc",
                           "postern.conf.example")
    with open(example) as f:
        text = f.read()
    text = (text.replace("/etc/postern/tls/fullchain.pem", pki["server"]["crt"])
                .replace("/etc/postern/tls/privkey.pem", pki["server"]["key"])
                .replace("/var/lib/postern", srv.data))
    path = os.path.join(srv.dir, "example.conf")
    with open(path, "w") as f:
        f.write(text)
    p = run(BIN, "-c", path, "config", "check")
    assert p.stdout == f"{path}: configuration OK (3 listeners)\n"
