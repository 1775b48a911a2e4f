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
import struct
import subprocess
import time

import pytest

from conftest import (DOMAIN, HOST, PASSWORD, Chat, Lines, client_context, free_port,
                      send_message)

ALICE = f"alice@{DOMAIN}"
BOB = f"bob@{DOMAIN}"

# From a domain no test publishes a DMARC record for (other tests give
# example.test p=quarantine in the shared test DNS: mail from outside that
# claims it goes to Junk)
MESSAGE = (f"From: Bob Example <bob@imap-sender.example>\r\nTo: Alice <{ALICE}>\r\n"
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
    s.add_user(f"frank@{DOMAIN}")
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


Raw = Lines  # a raw IMAP client: exact bytes out, lines in (conftest.py)


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


def test_authenticate_login_mechanism(srv):
    """The LOGIN mechanism (as submission offers it): "Username:" and
    "Password:" challenges, or the user name as initial response; a wrong
    password is NO [AUTHENTICATIONFAILED]."""
    b64 = lambda t: base64.b64encode(t.encode()).decode()
    r = Raw(srv.imaps, client_context(srv.pki))
    r.line()
    r.send("a AUTHENTICATE LOGIN\r\n")
    assert r.line() == "+ " + b64("Username:")
    r.send(b64(ALICE) + "\r\n")
    assert r.line() == "+ " + b64("Password:")
    r.send(b64(PASSWORD) + "\r\n")
    assert r.line().startswith("a OK [CAPABILITY IMAP4rev1")
    r2 = Raw(srv.imaps, client_context(srv.pki))
    r2.line()
    r2.send(f"b AUTHENTICATE LOGIN {b64(ALICE)}\r\n")
    assert r2.line() == "+ " + b64("Password:")
    r2.send(b64("not the password") + "\r\n")
    assert r2.line().startswith("b NO [AUTHENTICATIONFAILED]")
    m = implicit(srv, login=False)
    answers = iter([ALICE.encode(), PASSWORD.encode()])
    assert m.authenticate("LOGIN", lambda challenge: next(answers))[0] == "OK"
    m.logout()


def test_scram_only_server_disables_login(make_server):
    """[auth] mechanisms without PLAIN and LOGIN: LOGINDISABLED after TLS
    too, the LOGIN command is refused, AUTHENTICATE offers SCRAM only."""
    s = imap_server(make_server, {"auth": {"mechanisms": "SCRAM-SHA-256"}})
    m = implicit(s, login=False)
    caps = m.capabilities
    assert "LOGINDISABLED" in caps and "AUTH=SCRAM-SHA-256" in caps
    assert not any(c in caps for c in ("AUTH=PLAIN", "AUTH=LOGIN"))
    typ, data = m._simple_command("LOGIN", ALICE, PASSWORD)
    assert typ == "NO" and data[0].startswith(b"[CANNOT]"), data
    m.logout()


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


# ------------------------------------------------------------------ folders

def test_list_shows_inbox_and_special_use_folders(srv):
    m = starttls(srv, f"carol@{DOMAIN}")
    typ, data = m.list()
    assert typ == "OK"
    lines = [d.decode() for d in data]
    assert lines[0] == '(\\HasNoChildren) "/" INBOX'
    for name in ("Archive", "Drafts", "Junk", "Sent", "Trash"):
        assert f'(\\HasNoChildren \\{name}) "/" {name}' in lines, lines
    typ, data = m._simple_command("LIST", "(SPECIAL-USE)", '""', "*",
                                  "RETURN", "(STATUS (MESSAGES UIDNEXT))")
    assert typ == "OK"
    untagged = m.untagged_responses
    lists = [d.decode() for d in untagged.pop("LIST")]
    assert len(lists) == 5 and all("INBOX" not in x for x in lists)
    status = [d.decode() for d in untagged.pop("STATUS")]
    assert 'Sent (MESSAGES 0 UIDNEXT 1)' in status
    m.logout()


def test_create_rename_delete_subscribe_and_hierarchy(srv):
    m = starttls(srv, f"carol@{DOMAIN}")
    assert m.create("Projects/2024/Q1")[0] == "OK"
    assert m.create("Caf&AOk-")[0] == "OK"   # modified UTF-7 for "Café"
    assert os.path.isdir(os.path.join(srv.maildir("carol"), ".Caf&AOk-"))
    assert m.create("Caf&AOk")[0] == "NO"    # invalid modified UTF-7
    typ, data = m.list('""', "Projects/%")
    assert [d.decode() for d in data] == ['(\\NonExistent \\HasChildren) "/" Projects/2024']
    typ, data = m.list('""', "*")
    names = [d.decode().split(' "/" ')[1] for d in data]
    assert "Projects" in names and "Projects/2024/Q1" in names
    assert m.create("Projects/2024/Q1")[1][0].startswith(b"[ALREADYEXISTS]")
    assert m.rename("Projects", "Work")[1][0].startswith(b"[NONEXISTENT]")
    assert m.create("Projects")[0] == "OK"
    assert m.rename("Projects", "Work")[0] == "OK"
    typ, data = m.list("Work/", "*")
    assert [d.decode() for d in data] == ['(\\NonExistent \\HasChildren) "/" Work/2024',
                                         '(\\HasNoChildren) "/" Work/2024/Q1']
    assert m.list('""', "Projects*")[1] == [None]
    assert m.subscribe("Work/2024/Q1")[0] == "OK"
    typ, data = m.lsub('""', "*")
    assert b'"/" Work/2024/Q1' in b"".join(data)
    typ, data = m._simple_command("LIST", "(SUBSCRIBED)", '""', "*")
    assert b"\\Subscribed" in b"".join(m.untagged_responses.pop("LIST"))
    assert m.unsubscribe("Work/2024/Q1")[0] == "OK"
    assert m.delete("Work/2024/Q1")[0] == "OK"
    assert m.delete("INBOX")[0] == "NO"
    typ, data = m.status("INBOX", "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN SIZE)")
    assert typ == "OK" and re.match(rb'INBOX \(MESSAGES 0 UIDNEXT 1 UIDVALIDITY \d+ UNSEEN 0 SIZE 0\)', data[0])
    m.logout()


@pytest.mark.parametrize("name", ["../x", "a/../../b", "/etc", "a//b", ".", "x/.."])
def test_names_that_leave_the_tree_are_refused(srv, name):
    m = starttls(srv, f"carol@{DOMAIN}")
    typ, data = m.create(f'"{name}"')
    assert typ == "NO", data
    typ, data = m.select(f'"{name}"')
    assert typ == "NO", data
    assert not os.path.exists(os.path.join(srv.data, "mail", DOMAIN, "x"))
    m.logout()


def test_other_users_mail_is_not_reachable(srv):
    deliver(srv, f"dave@{DOMAIN}")
    m = starttls(srv, f"erin@{DOMAIN}")
    for name in ("../dave", "../dave/INBOX", "%2E%2E/dave"):
        assert m.select(f'"{name}"')[0] == "NO"
    assert m.select("INBOX")[1] == [b"0"]
    m.logout()


# ------------------------------------------------------------------ messages

def test_delivered_message_is_fetched_byte_exact(srv):
    deliver(srv, ALICE)
    srv.wait_messages(1, "alice")
    m = starttls(srv)
    typ, data = m.select("INBOX")
    assert typ == "OK" and int(data[0]) >= 1
    n = data[0].decode()
    stored = srv.read_message(srv.messages("alice")[-1])
    typ, data = m.fetch(n, "(BODY.PEEK[] RFC822.SIZE FLAGS UID INTERNALDATE)")
    assert typ == "OK"
    body = data[0][1]
    crlf = re.sub(rb"(?<!\r)\n", b"\r\n", stored)
    assert body == crlf
    assert body.endswith(MESSAGE)
    meta = data[0][0].decode() + data[1].decode()
    assert f"RFC822.SIZE {len(crlf)}" in meta
    assert "FLAGS ()" in meta and "INTERNALDATE" in meta
    typ, data = m.fetch(n, "(ENVELOPE BODYSTRUCTURE)")
    meta = data[0].decode() if isinstance(data[0], bytes) else data[0][0].decode()
    assert '"Hello over IMAP"' in meta
    assert '(("Bob Example" NIL "bob" "imap-sender.example"))' in meta
    assert '("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 27 2' in meta
    typ, data = m.fetch(n, "(BODY.PEEK[HEADER.FIELDS (Subject)] BODY.PEEK[TEXT]<6.4>)")
    assert data[0][1] == b"Subject: Hello over IMAP\r\n\r\n"
    assert data[1][1] == b"line"
    m.logout()


def test_seen_set_by_body_not_by_peek_and_persists(srv):
    deliver(srv, f"dave@{DOMAIN}")
    srv.wait_messages(2, "dave")
    m = starttls(srv, f"dave@{DOMAIN}")
    m.select("INBOX")
    typ, data = m.fetch("1", "(BODY.PEEK[])")
    assert typ == "OK"
    assert m.fetch("1", "FLAGS")[1][0] == b"1 (FLAGS ())"
    typ, data = m.fetch("1", "(BODY[TEXT])")
    assert b"FLAGS (\\Seen)" in data[0][0] or b"FLAGS (\\Seen)" in b"".join(
        x if isinstance(x, bytes) else x[0] for x in data)
    m.store("2", "+FLAGS", "(\\Flagged $Work)")
    m.logout()
    m = implicit(srv, f"dave@{DOMAIN}")
    m.select("INBOX", readonly=True)
    typ, data = m.fetch("1:2", "(UID FLAGS)")
    assert re.match(rb"1 \(UID \d+ FLAGS \(\\Seen\)\)", data[0])
    assert re.match(rb"2 \(UID \d+ FLAGS \(\\Flagged \$Work\)\)", data[1])
    # EXAMINE is read-only: BODY[] does not set \Seen, STORE is refused
    m.fetch("2", "(BODY[])")
    assert m.fetch("2", "FLAGS")[1][0] == b"2 (FLAGS (\\Flagged $Work))"
    assert m.store("2", "+FLAGS", "(\\Seen)")[0] == "NO"
    m.logout()


def test_two_sessions_one_expunges_the_other_sees_it(srv):
    user = f"erin@{DOMAIN}"
    for i in range(3):
        deliver(srv, user, MESSAGE.replace(b"First", b"Number %d" % i))
    srv.wait_messages(3, "erin")
    a = starttls(srv, user)
    b = implicit(srv, user)
    assert a.select("INBOX")[1] == [b"3"]
    assert b.select("INBOX")[1] == [b"3"]
    typ, data = a.uid("FETCH", "1:*", "(UID)")
    uids_before = [re.search(rb"UID (\d+)", d).group(1) for d in data]
    a.store("2", "+FLAGS.SILENT", "(\\Deleted)")
    typ, data = a.expunge()
    assert data == [b"2"]
    b.noop()
    assert b.untagged_responses.pop("EXPUNGE") == [b"2"]
    typ, data = b.fetch("1:*", "(UID)")
    uids_after = [re.search(rb"UID (\d+)", d).group(1) for d in data]
    assert uids_after == [uids_before[0], uids_before[2]]
    # a new delivery shows up as EXISTS after NOOP
    deliver(srv, user)
    srv.wait_messages(3, "erin")
    b.untagged_responses.pop("EXISTS", None)
    b.noop()
    assert b.untagged_responses.get("EXISTS") == [b"3"]
    a.logout()
    b.logout()
    # UIDs are stable across reconnects
    c = starttls(srv, user)
    c.select("INBOX")
    typ, data = c.fetch("1:2", "(UID)")
    assert [re.search(rb"UID (\d+)", d).group(1) for d in data] == uids_after
    c.logout()


def test_two_sessions_expunge_raw(srv):
    """The EXPUNGE response as it is on the wire."""
    user = f"carol@{DOMAIN}"
    deliver(srv, user)
    deliver(srv, user)
    srv.wait_messages(2, "carol")
    a = starttls(srv, user)
    a.select("INBOX")
    r = Raw(srv.imaps, client_context(srv.pki))
    r.line()
    r.send(f'a LOGIN {user} "{PASSWORD}"\r\nb SELECT INBOX\r\n')
    r.until("b")
    a.store("1", "+FLAGS", "(\\Deleted)")
    a.expunge()
    r.send("c NOOP\r\n")
    assert r.until("c") == ["* 1 EXPUNGE", "c OK NOOP completed"]
    a.logout()


def test_rename_inbox_moves_its_messages_and_leaves_it_empty(srv):
    """RFC 9051 6.3.6: RENAME INBOX moves the messages to a new folder,
    flags kept; INBOX stays, empty; a session with INBOX selected sees the
    EXPUNGEs; a target that exists is refused and nothing moves."""
    user = f"frank@{DOMAIN}"
    m, other = starttls(srv, user), implicit(srv, user)
    one = b"From: f@imap-sender.example\r\nSubject: one\r\n\r\nfirst\r\n"
    two = b"From: f@imap-sender.example\r\nSubject: two\r\n\r\nsecond\r\n"
    assert m.append("INBOX", "(\\Flagged)", None, one)[0] == "OK"
    assert m.append("INBOX", None, None, two)[0] == "OK"
    assert other.select("INBOX") == ("OK", [b"2"])
    typ, data = m.rename("INBOX", "Sent")
    assert typ == "NO" and data[0].startswith(b"[ALREADYEXISTS]")
    assert m.status("INBOX", "(MESSAGES)")[1][0].endswith(b"(MESSAGES 2)")
    assert m.rename("INBOX", "Old/Inbox")[0] == "OK"
    assert m.status("INBOX", "(MESSAGES)")[1][0].endswith(b"(MESSAGES 0)")
    assert m.select("Old/Inbox") == ("OK", [b"2"])
    typ, data = m.fetch("1:2", "(FLAGS BODY.PEEK[])")
    assert b"\\Flagged" in data[0][0] and data[0][1] == one
    assert b"\\Flagged" not in data[2][0] and data[2][1] == two
    other.noop()
    assert other.untagged_responses.get("EXPUNGE") == [b"2", b"1"]  # last first
    assert other.select("INBOX") == ("OK", [b"0"])
    assert b'"/" INBOX' in b"".join(m.list('""', "INBOX")[1])
    m.logout()
    other.logout()


WATCHED = ("dovecot-uidlist", "postern-modseq", "dovecot-keywords", "cur", "new")


def age_folder(md):
    """Put the folder's watched times (src/store/stamp.h) a day back, as
    if nothing had touched it for a while: its next sync is cached."""
    t = time.time() - 86400
    for name in WATCHED:
        path = os.path.join(md, name)
        if os.path.exists(path):
            os.utime(path, (t, t))


def warm(s, md):
    """Age the folder and SELECT it twice: the first fills the process's
    cache, the second is served by it (the log says so)."""
    age_folder(md)
    hits = s.log().count(f"store event=cache-hit dir={md} ")
    for _ in range(2):
        m = starttls(s)
        m.select("INBOX")
        m.logout()
    s.wait_log(re.escape(f"store event=cache-hit dir={md} "), count=hits + 1)


def flags_of(m, seq):
    typ, data = m.fetch(seq, "(FLAGS)")
    assert typ == "OK", data
    return re.search(rb"FLAGS \(([^)]*)\)", data[0]).group(1)


def test_cached_folder_state_follows_every_change(make_server):
    """SELECT and STATUS of a folder nobody changed are served from the
    process's cache of synced states (store/cache.h); a flag change by
    another session, a delivery and an expunge are each seen at once."""
    s = imap_server(make_server)
    md = s.maildir()
    for i in range(3):
        deliver(s, ALICE, MESSAGE.replace(b"First", b"Number %d" % i))
    s.wait_messages(3)
    a = starttls(s)
    assert a.select("INBOX")[1] == [b"3"]  # UIDs given
    warm(s, md)
    m = implicit(s)
    assert m.select("INBOX")[1] == [b"3"]
    assert b"\\Flagged" not in flags_of(m, "1")
    m.logout()

    # another session flags message 1 (a rename in cur/)
    assert a.store("1", "+FLAGS", "(\\Flagged)")[0] == "OK"
    m = implicit(s)
    m.select("INBOX")
    assert b"\\Flagged" in flags_of(m, "1")
    m.logout()

    # a delivery (a new file in new/): SELECT and STATUS count it
    warm(s, md)
    deliver(s, ALICE)
    s.wait_messages(4)
    m = implicit(s)
    typ, data = m.status("INBOX", "(MESSAGES UIDNEXT)")
    assert data == [b"INBOX (MESSAGES 4 UIDNEXT 5)"], data
    assert m.select("INBOX")[1] == [b"4"]
    m.logout()

    # an expunge by another session (files unlinked, the uidlist rewritten)
    warm(s, md)
    a.store("2", "+FLAGS.SILENT", "(\\Deleted)")
    assert a.expunge()[1] == [b"2"]
    m = implicit(s)
    assert m.select("INBOX")[1] == [b"3"]
    typ, data = m.fetch("1:*", "(UID)")
    assert [re.search(rb"UID (\d+)", d).group(1) for d in data] == [b"1", b"3", b"4"]
    m.logout()
    a.logout()


def test_append_with_appenduid_then_fetch(srv):
    m = starttls(srv, f"carol@{DOMAIN}")
    msg = b"From: carol@example.test\r\nSubject: draft\r\n\r\nbody\r\n"
    typ, data = m.append("Drafts", "(\\Draft $Pending)",
                         imaplib.Time2Internaldate(1700000000), msg)
    assert typ == "OK"
    mo = re.match(rb"\[APPENDUID (\d+) (\d+)\] APPEND completed", data[0])
    assert mo, data
    uid = mo.group(2).decode()
    m.select("Drafts")
    typ, data = m.uid("FETCH", uid, "(FLAGS INTERNALDATE BODY.PEEK[] RFC822.SIZE)")
    meta = data[0][0].decode() + data[1].decode()
    assert "FLAGS (\\Draft $Pending)" in meta
    assert 'INTERNALDATE "14-Nov-2023 22:13:20 +0000"' in meta
    assert f"RFC822.SIZE {len(msg)}" in meta
    assert data[0][1] == msg
    assert m.append("NoSuchFolder", None, None, msg)[1][0].startswith(b"[TRYCREATE]")
    m.logout()


def test_copy_and_move_with_copyuid(srv):
    user = f"dave@{DOMAIN}"
    m = starttls(srv, user)
    m.select("INBOX")
    n = int(m.select("INBOX")[1][0])
    assert n >= 2
    typ, data = m.uid("FETCH", "1:*", "(UID)")
    uids = [int(re.search(rb"UID (\d+)", d).group(1)) for d in data]
    typ, data = m.copy("1:2", "Archive")
    assert typ == "OK"
    mo = re.match(rb"\[COPYUID (\d+) (\S+) (\S+)\] COPY completed", data[0])
    assert mo and mo.group(2) == f"{uids[0]}:{uids[1]}".encode(), data
    assert mo.group(3) == b"1:2"
    typ, data = m._simple_command("MOVE", "1", "Trash")
    assert typ == "OK"
    assert m.untagged_responses.pop("EXPUNGE") == [b"1"]
    oks = b" ".join(m.untagged_responses.pop("OK", []))
    assert b"[COPYUID" in oks
    assert m.status("Trash", "(MESSAGES)")[1][0].endswith(b"(MESSAGES 1)")
    assert m.status("Archive", "(MESSAGES)")[1][0].endswith(b"(MESSAGES 2)")
    assert m.copy("1", "Nowhere")[1][0].startswith(b"[TRYCREATE]")
    m.logout()


def test_curl_lists_and_fetches(srv):
    deliver(srv, f"bob@{DOMAIN}")
    srv.wait_messages(1, "bob")
    base = ["curl", "-sS", "--cacert", srv.pki["ca"], "--resolve",
            f"{HOST}:{srv.imaps}:127.0.0.1", "-u", f"{BOB}:{PASSWORD}"]
    out = subprocess.run(base + [f"imaps://{HOST}:{srv.imaps}/"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert '"/" INBOX' in out.stdout and "\\Sent" in out.stdout
    out = subprocess.run(base + [f"imaps://{HOST}:{srv.imaps}/INBOX;UID=1"],
                         capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.endswith(MESSAGE)
    # over STARTTLS, with the TLS required
    out = subprocess.run(["curl", "-sS", "--ssl-reqd", "--cacert", srv.pki["ca"],
                          "--resolve", f"{HOST}:{srv.imap}:127.0.0.1", "-u",
                          f"{BOB}:{PASSWORD}",
                          f"imap://{HOST}:{srv.imap}/INBOX;UID=1;SECTION=HEADER.FIELDS%20(SUBJECT)"],
                         capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout == b"Subject: Hello over IMAP\r\n\r\n"


def test_idle_sees_new_mail_within_a_second(srv):
    user = f"erin@{DOMAIN}"
    r = Raw(srv.imaps, client_context(srv.pki))
    r.line()
    r.send(f'a LOGIN {user} "{PASSWORD}"\r\nb SELECT INBOX\r\n')
    lines = r.until("b")
    exists = int(next(x for x in lines if x.endswith("EXISTS")).split()[1])
    r.send("c IDLE\r\n")
    assert r.line() == "+ idling"
    t = time.time()
    deliver(srv, user)
    assert r.line() == f"* {exists + 1} EXISTS"
    assert time.time() - t < 3
    r.send("DONE\r\n")
    assert r.line() == "c OK IDLE terminated"


def test_search(srv):
    user = f"bob@{DOMAIN}"
    m = starttls(srv, user)
    for i, (subj, flags) in enumerate([("alpha report", "(\\Seen)"),
                                       ("beta notes", "(\\Flagged $Todo)"),
                                       ("Alpha again", None)]):
        msg = (f"From: Zed <zed@example.org>\r\nTo: {user}\r\nCc: cc@example.org\r\n"
               f"Subject: {subj}\r\nDate: 0{i + 1} Mar 2024 09:00:00 +0100\r\n\r\n"
               f"body number {i} {'x' * (1000 * i)}\r\n").encode()
        m.append("Archive", flags, imaplib.Time2Internaldate(1710000000 + 86400 * i), msg)
    m.select("Archive")

    def search(*keys):
        typ, data = m.search(None, *keys)
        assert typ == "OK", data
        return data[0].decode()
    assert search("ALL") == "1 2 3"
    assert search("SUBJECT", "alpha") == "1 3"
    assert search("SEEN") == "1" and search("UNSEEN") == "2 3"
    assert search("FLAGGED") == "2" and search("KEYWORD", "$Todo") == "2"
    assert search("UNKEYWORD", "$Todo") == "1 3" and search("KEYWORD", "$None") == ""
    assert search("OR", "SEEN", "FLAGGED") == "1 2"
    assert search("NOT", "(SEEN FLAGGED)") == "1 2 3"
    assert search("NOT", "SEEN", "NOT", "FLAGGED") == "3"
    assert search("LARGER", "1000") == "2 3" and search("SMALLER", "1000") == "1"
    assert search("BODY", '"NUMBER 2"') == "3" and search("TEXT", "zed@") == "1 2 3"
    assert search("HEADER", "Cc", "cc@") == "1 2 3" and search("FROM", "nobody") == ""
    assert search("SENTON", "02-Mar-2024") == "2"
    assert search("SENTSINCE", "2-Mar-2024") == "2 3"
    assert search("SENTBEFORE", "2-Mar-2024") == "1"
    assert search("SINCE", "10-Mar-2024") == "2 3"       # internal dates
    assert search("BEFORE", "10-Mar-2024") == "1"
    assert search("ON", "10-Mar-2024") == "2"
    assert search("2:*", "NEW") == "" and search("OLD", "1,3") == "1 3"
    assert search("CHARSET", "UTF-8", "ALL") == "1 2 3"
    typ, data = m.uid("SEARCH", "SUBJECT", "beta")
    assert typ == "OK" and data[0].decode().isdigit()
    typ, data = m._simple_command("SEARCH", "RETURN", "(MIN MAX COUNT ALL)", "ALL")
    assert typ == "OK"
    es = m.untagged_responses.pop("ESEARCH")[0].decode()
    assert es.endswith("MIN 1 MAX 3 COUNT 3 ALL 1:3"), es
    typ, data = m._simple_command("SEARCH", "CHARSET", "KOI8-R", "ALL")
    assert typ == "NO" and b"BADCHARSET" in data[0]
    with pytest.raises(imaplib.IMAP4.error, match="Unknown search key"):
        m.search(None, "NOSUCHKEY")
    m.logout()


def test_login_and_idle_timeouts(make_server):
    s = imap_server(make_server, {"imap": {"timeout_login": "1s",
                                           "timeout_idle": "1s"}})
    r = Raw(s.imap)
    r.line()
    r.send("a STARTTLS\r\n")
    r.line()
    r.sock = client_context(s.pki).wrap_socket(r.sock, server_hostname="localhost")
    r.send("b NOOP\r\n")          # NOOPs do not extend the login deadline
    assert r.line() == "b OK NOOP completed"
    t = time.time()
    assert r.line() == "* BYE Login timeout"
    assert r.closed() and time.time() - t < 3
    r = Raw(s.imaps, client_context(s.pki))
    r.line()
    r.send(f'a LOGIN {ALICE} "{PASSWORD}"\r\n')
    r.until("a")
    assert r.line() == "* BYE Autologout; idle for too long"
    assert r.closed()


def test_append_non_synchronising_literal(srv):
    r = Raw(srv.imaps, client_context(srv.pki))
    r.line()
    msg = b"Subject: literal+\r\n\r\nhi\r\n"
    r.send(f'a LOGIN {ALICE} "{PASSWORD}"\r\n'.encode() +
           b"b APPEND Drafts (\\Seen) {%d+}\r\n" % len(msg) + msg + b"\r\n")
    r.until("a")
    line = r.line()
    assert re.match(r"b OK \[APPENDUID \d+ \d+\] APPEND completed", line), line
    # a synchronising one waits for the continuation
    r.send(b"c APPEND Drafts {%d}\r\n" % len(msg))
    assert r.line() == "+ Ready for literal data"
    r.send(msg + b"\r\n")
    assert r.line().startswith("c OK [APPENDUID")


# ------------------------------------------------------------------ robustness

def tls_login(s, user=ALICE):
    """A raw client on the imaps listener, logged in."""
    r = Raw(s.imaps, client_context(s.pki))
    r.line()
    r.send(f'l LOGIN {user} "{PASSWORD}"\r\n')
    assert r.until("l")[-1].startswith("l OK"), "login failed"
    return r


def reset(r):
    """Close with a TCP RST (SO_LINGER 0): the server's next write fails."""
    r.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    r.sock.close()


def test_reset_while_commands_are_pipelined(make_server):
    """Commands pipelined behind output, then a reset: the write that fails
    deep inside a command (the flush before a job starts) ends the session,
    which must not be freed under its callers (it was: a use-after-free in
    job_submit, seen with the ASan build, and a pool job on freed memory).
    The server serves the next client, and stops cleanly."""
    s = imap_server(make_server, {"": {"workers": "1"}})
    r = tls_login(s)
    r.send(b"ap APPEND INBOX {%d+}\r\n" % len(MESSAGE) + MESSAGE + b"\r\n")
    assert r.until("ap")[-1].startswith("ap OK")
    r.send(b"z LOGOUT\r\n")
    r.until("z")
    for _ in range(25):
        r = tls_login(s)
        r.send(b"s SELECT INBOX\r\n")
        r.until("s")
        # enough output to be pending when the FETCH starts its job
        r.send(b"a CAPABILITY\r\n" * 600 + b"b FETCH 1:* (UID)\r\n")
        reset(r)
    r = tls_login(s)
    r.send(b"s SELECT INBOX\r\nf FETCH 1 (UID)\r\n")
    assert r.until("f")[-2:] == ["* 1 FETCH (UID 1)", "f OK FETCH completed"]


def big_message(size, fill=b"a"):
    """About size bytes: a header and lines of 76 fill bytes."""
    head = b"From: x@imap-sender.example\r\nSubject: big\r\n\r\n"
    return head + (fill * 76 + b"\r\n") * (size // 78)


def append(r, box, msg):
    r.send(f"ap APPEND {box} {{{len(msg)}+}}\r\n".encode() + msg + b"\r\n")
    line = r.until("ap")[-1]
    assert line.startswith("ap OK"), line


def test_client_gone_during_fetch_leaks_nothing(make_server):
    """The client goes while a FETCH waits for it to read: the job's
    context is freed with the session (LeakSanitizer saw it leak when the
    server, built with SANITIZE=1, stopped)."""
    s = imap_server(make_server)
    r = tls_login(s)
    for i in range(3):
        append(r, "INBOX", big_message(900_000))
    # more than the socket buffers take: the job waits for us to read
    r.send(b"s SELECT INBOX\r\nf FETCH 1:* (" + b"BODY.PEEK[] " * 3 +
           b"BODY.PEEK[])\r\n")
    time.sleep(1)
    r.sock.close()
    s.wait_log(r"event=disconnect")
    r = tls_login(s)        # the server goes on
    r.send(b"n NOOP\r\n")
    assert r.until("n")[-1] == "n OK NOOP completed"


def read_with_literals(r, tag):
    """The response up to the tagged line: a list of lines, a literal's
    bytes standing after the line that announced it. A literal whose bytes
    do not come within 5 s fails the test."""
    out = []
    while True:
        line = r.line()
        out.append(line)
        m = re.search(r"\{(\d+)\}$", line)
        if m:
            n = int(m.group(1))
            r.sock.settimeout(5)
            while len(r.buf) < n:
                chunk = r.sock.recv(1 << 20)
                assert chunk, "closed inside a literal"
                r.buf += chunk
            out.append(r.buf[:n])
            r.buf = r.buf[n:]
        elif line.startswith(tag + " "):
            return out


def test_fetch_never_announces_a_literal_it_does_not_send(make_server):
    """Three messages near the size limit fill the job's output buffer: the
    third literal was announced ({N}) without its bytes and the FETCH still
    ended OK, so the client read what followed as the message. Each
    message's response now goes whole, or waits for the client to read."""
    s = imap_server(make_server, {"imap": {"max_message_size": "1M"}})
    r = tls_login(s)
    msgs = [big_message(900_000, bytes([0x61 + i])) for i in range(3)]
    for m in msgs:
        append(r, "INBOX", m)
    r.send(b"s SELECT INBOX\r\n")
    r.until("s")
    r.send(b"f FETCH 1:3 BODY.PEEK[]\r\n")
    out = read_with_literals(r, "f")
    assert out == [f"* 1 FETCH (BODY[] {{{len(msgs[0])}}}", msgs[0], ")",
                   f"* 2 FETCH (BODY[] {{{len(msgs[1])}}}", msgs[1], ")",
                   f"* 3 FETCH (BODY[] {{{len(msgs[2])}}}", msgs[2], ")",
                   "f OK FETCH completed"]
    # one message whose items alone pass the buffer: refused, not cut
    r.send(b"g FETCH 1 (BODY.PEEK[] BODY.PEEK[] BODY.PEEK[])\r\n")
    assert read_with_literals(r, "g") == [
        "g NO [LIMIT] The response to message 1 is too large; fetch fewer "
        "items at once"]
    r.send(b"n NOOP\r\n")
    assert r.until("n") == ["n OK NOOP completed"]


def test_search_strings_are_bounded_and_matched_in_linear_time(make_server):
    """SEARCH matched substrings in O(message x string): "a...ab" of
    1.5 MB over 3 MB of "a" held the only store thread (io_threads 1) for
    hours, and every other user's command waited behind it. Strings are
    at most 1 KB now, and matched in linear time."""
    s = imap_server(make_server, {"": {"io_threads": "1"}})
    r = tls_login(s)
    append(r, "INBOX", b"Subject: x\r\n\r\n" + b"a" * 3_000_000 + b"\r\n")
    r.send(b"s SELECT INBOX\r\n")
    r.until("s")
    needle = b"a" * 1_500_000 + b"b"
    r.send(b"q SEARCH BODY {%d+}\r\n" % len(needle) + needle + b"\r\n")
    assert r.until("q") == ["q BAD Search string too long (at most 1024 bytes)"]
    # the longest string allowed over the whole message; another user is
    # served meanwhile
    r.send(b"q2 SEARCH BODY {1024+}\r\n" + b"a" * 1023 + b"b\r\n")
    b = tls_login(s, BOB)
    b.send(b"x SELECT INBOX\r\n")
    assert b.until("x")[-1] == "x OK [READ-WRITE] SELECT completed"
    assert r.until("q2") == ["* SEARCH", "q2 OK SEARCH completed"]
    r.send(b"q3 SEARCH TEXT {1024+}\r\n" + b"A" * 1024 + b"\r\n")
    assert r.until("q3") == ["* SEARCH 1", "q3 OK SEARCH completed"]


def test_client_that_never_reads_is_closed(make_server):
    """A FETCH whose output the client never reads: the session stayed for
    ever (the idle timer was re-armed while a job was under way), holding
    up to a message of memory. It ends once the output has not moved for
    timeout_idle."""
    s = imap_server(make_server, {"imap": {"timeout_idle": "2s"}})
    r = tls_login(s)
    for i in range(3):
        append(r, "INBOX", big_message(900_000))
    r.send(b"s SELECT INBOX\r\n")
    r.until("s")
    r.send(b"g FETCH 1:* (" + b"BODY.PEEK[] " * 3 + b"BODY.PEEK[])\r\n")
    t = time.time()
    s.wait_log(r'event=disconnect reason="output not read"', timeout=15)
    assert time.time() - t < 10


def test_lost_index_ends_the_session(make_server):
    """The folder's index (dovecot-uidlist and its modseq file) vanishes
    under a session: its UIDs mean nothing now, so after "* BYE" the
    session is closed (it stayed open and went on answering)."""
    s = imap_server(make_server)
    r = tls_login(s)
    append(r, "INBOX", MESSAGE)
    r.send(b"s SELECT INBOX\r\n")
    r.until("s")
    md = s.maildir()
    for name in os.listdir(md):
        if name.startswith("dovecot-uidlist") or name.startswith("postern-modseq"):
            os.unlink(os.path.join(md, name))
    r.send(b"n NOOP\r\n")
    assert r.until("n") == ["* BYE The mailbox index was lost; reconnect",
                            "n OK NOOP completed"]
    assert r.closed()


def test_sequence_sets_are_bounded_and_checked(make_server):
    """A set of many overlapping ranges was resolved range by range over
    every message, on the event loop (16000 x "1:*" over 150K messages
    stalled every session of the worker for seconds): ranges are merged
    first and at most 10000 taken. A sequence number above EXISTS is BAD
    (RFC 9051 9), not silently ignored; UIDs that do not exist are."""
    s = imap_server(make_server)
    r = tls_login(s)
    for i in range(3):
        append(r, "INBOX", MESSAGE)
    r.send(b"s SELECT INBOX\r\n")
    r.until("s")
    r.send(b"a FETCH 3,1:2,2,*:2 (UID)\r\n")
    assert r.until("a") == ["* 1 FETCH (UID 1)", "* 2 FETCH (UID 2)",
                            "* 3 FETCH (UID 3)", "a OK FETCH completed"]
    r.send(b"b FETCH " + b",".join([b"1:*"] * 10000) + b" (UID)\r\n")
    assert r.until("b")[-4:] == ["* 1 FETCH (UID 1)", "* 2 FETCH (UID 2)",
                                 "* 3 FETCH (UID 3)", "b OK FETCH completed"]
    r.send(b"c FETCH " + b",".join([b"1"] * 10001) + b" (UID)\r\n")
    assert r.until("c") == ["c BAD Too many ranges in the sequence set (at most 10000)"]
    for tag, cmd in (("d", "FETCH 4 (UID)"), ("e", "FETCH 2:5 (UID)"),
                     ("f", "STORE 9 +FLAGS (\\Seen)"), ("g", "COPY 1,4 Drafts")):
        r.send(f"{tag} {cmd}\r\n")
        assert r.until(tag) == [f"{tag} BAD Invalid message sequence number (above EXISTS)"]
    r.send(b"h UID FETCH 2:100 (UID)\r\n")
    assert r.until("h") == ["* 2 FETCH (UID 2)", "* 3 FETCH (UID 3)",
                            "h OK UID FETCH completed"]


def test_fetch_of_a_message_expunged_elsewhere_says_expungeissued(make_server):
    """RFC 5530 3: the message another session expunged is still in this
    session's view (no EXPUNGE may be sent during FETCH); the FETCH of it
    ends NO [EXPUNGEISSUED], not a bare NO."""
    s = imap_server(make_server)
    a = tls_login(s)
    append(a, "INBOX", MESSAGE)
    append(a, "INBOX", MESSAGE)
    a.send(b"s SELECT INBOX\r\n")
    a.until("s")
    b = tls_login(s)
    b.send(b"s SELECT INBOX\r\nt STORE 1 +FLAGS.SILENT (\\Deleted)\r\nx EXPUNGE\r\n")
    assert b.until("x")[-1] == "x OK EXPUNGE completed"
    a.send(b"f FETCH 1:2 (BODY.PEEK[HEADER.FIELDS (Subject)])\r\n")
    out = a.until("f")
    assert out[-1] == ("f NO [EXPUNGEISSUED] Some messages could not be "
                       "fetched (expunged meanwhile?)"), out
    assert out[0].startswith("* 2 FETCH ("), out
