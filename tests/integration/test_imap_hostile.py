"""Hostile input to the IMAP and POP3 servers over the wire, beyond what
test_imap.py and test_pop3.py cover: FETCH BODYSTRUCTURE of a message with
10,000 nested multiparts and of one with 100,000 header lines (answered
whole, depth-limited, with the server's peak memory measured), list
nesting, NUL and invalid UTF-8 in quoted strings, mailbox names with
"%2F" and other ways out of the user's tree, another user's canary file
that no command may read, the failed-login penalty shared by IMAP, POP3
and submission, and a session in IDLE that sees another one's EXPUNGE.

Memory is read from /proc/PID/status of the server: VmHWM (peak resident
set) is reset through /proc/PID/clear_refs ("5", Linux 4.0) just before
the command, so the figure is the peak of that command alone. Elapsed
times are printed, never asserted (no timed assertions in make check)."""
import base64
import os
import re
import time

import pytest

from conftest import (DOMAIN, HOST, PASSWORD, VALGRIND, Chat, client_context,
                      free_port, send_message)
from test_imap import Raw, read_with_literals

ALICE = f"alice@{DOMAIN}"
BOB = f"bob@{DOMAIN}"


def imap_server(make_server, settings=None, extra=None):
    conf = {"auth": {"failure_delay": "0", "failure_delay_max": "0"}}
    for k, v in (settings or {}).items():
        conf.setdefault(k, {}).update(v)
    smtp, imaps = free_port(), free_port()
    listeners = {
        "smtp": {"address": f"127.0.0.1:{smtp}"},
        "imaps": {"address": f"127.0.0.1:{imaps}", "role": "imaps"},
    }
    listeners.update(extra or {})
    s = make_server(settings=conf, listeners=listeners)
    s.smtp, s.imaps = smtp, imaps
    return s


def login(s, user=ALICE):
    r = Raw(s.imaps, client_context(s.pki))
    r.line()
    r.send(f'l LOGIN {user} "{PASSWORD}"\r\n')
    assert r.until("l")[-1].startswith("l OK"), "login failed"
    return r


def append(r, box, msg):
    r.send(f"ap APPEND {box} {{{len(msg)}+}}\r\n".encode() + msg + b"\r\n")
    line = r.until("ap")[-1]
    assert line.startswith("ap OK"), line


def deliver(s, rcpt, body):
    c = Chat(s.smtp)
    c.greet()
    send_message(c, "sender@other.example", [rcpt], body)
    c.cmd("QUIT", 221)
    c.close()


# ------------------------------------------------------------ memory

def status_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def reset_peak(pid):
    """Make VmHWM start again from the current resident set."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
    except OSError as e:    # a kernel before 4.0, or a locked-down /proc
        pytest.skip(f"cannot reset the peak RSS: {e}")


def measured(s, r, tag, command):
    """Send one command; return its response lines and how far the
    server's peak resident set rose above what it was before (KB)."""
    pid = s.proc.pid
    reset_peak(pid)
    before = status_kb(pid, "VmRSS")
    t = time.monotonic()
    r.send(f"{tag} {command}\r\n")
    out = r.until(tag)
    elapsed = time.monotonic() - t
    grew = status_kb(pid, "VmHWM") - before
    print(f"\n{command}: {elapsed * 1000:.0f} ms, peak RSS +{grew} KB")
    return out, grew


def memory_bound_kb(msg_len):
    """What one FETCH BODYSTRUCTURE of a message of msg_len bytes may cost
    at most. The job reads the message into memory (1x); mime.h promises
    O(parts) nodes (MIME_PARTS_MAX 10,000 at most, a few hundred bytes
    each: under 4 MB) plus copied header strings of about twice the
    header's bytes (2x, here nearly all of the message); the CRLF index
    and the response are smaller than the message (1x). 4x the message
    plus 8 MB of allocator slack is generous for that, and small beside
    what a parse that copied per nesting level (10,000 x the rest of the
    message: gigabytes) or per header line would take."""
    return 4 * msg_len // 1024 + 8 * 1024


# ------------------------------------------------------------ BODYSTRUCTURE

DEPTH = 10000
MIME_DEPTH_MAX = 100     # src/mail/mime.h


def nested_multiparts(n):
    head = (b"From: x@imap-sender.example\r\nSubject: nested\r\n"
            b"MIME-Version: 1.0\r\n")
    parts = [b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n'
             % (i, i) for i in range(n)]
    tail = [b"--b%d--\r\n" % i for i in reversed(range(n))]
    return (head + b"".join(parts) +
            b"Content-Type: text/plain\r\n\r\ndeep\r\n" + b"".join(tail))


def nested_expected(msg):
    """BODYSTRUCTURE of nested_multiparts(): MIME_DEPTH_MAX multiparts, and
    at that depth the rest as one opaque leaf (RFC 9051 7.5.2 form, with
    the extension data: params, disposition, language, location)."""
    hdr = b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n' % MIME_DEPTH_MAX
    start = msg.index(hdr) + len(hdr)
    end = msg.index(b"\r\n--b%d--" % (MIME_DEPTH_MAX - 1))
    leaf = (f'("APPLICATION" "OCTET-STREAM" ("BOUNDARY" "b{MIME_DEPTH_MAX}") '
            f'NIL NIL "7BIT" {end - start} NIL NIL NIL NIL)')
    closes = "".join(f' "MIXED" ("BOUNDARY" "b{d}") NIL NIL NIL)'
                     for d in reversed(range(MIME_DEPTH_MAX)))
    return "(" * MIME_DEPTH_MAX + leaf + closes


@pytest.mark.skipif(VALGRIND, reason="valgrind's own memory hides the server's")
@pytest.mark.skipif(VALGRIND, reason="valgrind's own memory hides the server's")
def test_huge_literal_announcements_allocate_nothing(make_server):
    """{4294967296} before and after login is refused from its size alone:
    the server's virtual size never grows by anything like it (VmPeak, the
    peak of the mapped size, since an untouched allocation of 4 GiB would
    not show in the resident set)."""
    s = imap_server(make_server)
    pid = s.proc.pid
    m = login(s)    # first: the password check's own memory is no part of it
    r = Raw(s.imaps, client_context(s.pki))
    r.line()
    base = status_kb(pid, "VmSize")
    r.send("a LOGIN {4294967296}\r\n")
    assert r.line().startswith("a BAD [TOOBIG]")
    r.send("b NOOP\r\n")
    assert r.line() == "b OK NOOP completed"
    m.send("c APPEND INBOX {4294967296}\r\n")
    assert m.line().startswith("c BAD [TOOBIG]")
    m.send("e NOOP\r\n")
    assert m.until("e")[-1] == "e OK NOOP completed"
    # a non-synchronising one cannot be skipped (its bytes are on the
    # way): refused, and the connection closed
    m.send("d APPEND INBOX {18446744073709551615+}\r\n")
    assert m.until("d")[-1].startswith("d BAD")
    assert m.closed()
    grew = status_kb(pid, "VmPeak") - base
    print(f"\nVmPeak - VmSize before: {grew} KB")
    # glibc maps a 64 MiB arena for a thread's first allocation, so a few
    # of those may show; 4 GiB (4,194,304 KB) may not
    assert grew < 1024 * 1024, grew


def test_bodystructure_of_10000_nested_multiparts(make_server):
    s = imap_server(make_server)
    r = login(s)
    msg = nested_multiparts(DEPTH)
    append(r, "INBOX", msg)
    r.send("s SELECT INBOX\r\n")
    r.until("s")
    out, grew = measured(s, r, "f", "FETCH 1 BODYSTRUCTURE")
    assert out == [f"* 1 FETCH (BODYSTRUCTURE {nested_expected(msg)})",
                   "f OK FETCH completed"], out[0][:300]
    bound = memory_bound_kb(len(msg))
    print(f"message {len(msg)} bytes, bound +{bound} KB")
    assert grew < bound, (grew, bound)
    # the part at the depth limit is served whole, as the leaf it is; a
    # section deeper than any part can be is refused as such
    path = ".".join(["1"] * MIME_DEPTH_MAX)
    r.send(f"b FETCH 1 BODY.PEEK[{path}]<0.20>\r\n")
    assert read_with_literals(r, "b") == [
        f"* 1 FETCH (BODY[{path}]<0> {{20}}",
        b"--b%d\r\nContent-Type" % MIME_DEPTH_MAX, ")", "b OK FETCH completed"]
    r.send(f"c FETCH 1 BODY.PEEK[{path}.1]\r\n")
    assert r.until("c") == ["c BAD Invalid section: too many part numbers"]
    r.send("d FETCH 1 BODY.PEEK[1.2]\r\n")
    assert r.until("d") == ["* 1 FETCH (BODY[1.2] NIL)", "d OK FETCH completed"]
    # the session and the server go on
    r.send("n NOOP\r\n")
    assert r.until("n") == ["n OK NOOP completed"]


HEADER_LINES = 100000


def many_header_lines(n):
    """A multipart whose header has n filler fields between its
    Content-Type and its Subject; "X:v" keeps it under SMTP's 1 MB
    max_header_size so that it can be delivered."""
    return (b"Content-Type: multipart/mixed; boundary=z\r\n" +
            b"X:v\r\n" * n +
            b"Subject: at the end\r\n\r\n--z\r\n\r\none\r\n--z--\r\n")


@pytest.mark.skipif(VALGRIND, reason="valgrind's own memory hides the server's")
def test_bodystructure_of_100000_header_lines(make_server):
    s = imap_server(make_server)
    msg = many_header_lines(HEADER_LINES)
    deliver(s, ALICE, msg)
    [path] = s.wait_messages(1)
    stored = s.read_message(path)
    assert stored.replace(b"\n", b"\r\n").endswith(msg)
    r = login(s)
    r.send("s SELECT INBOX\r\n")
    assert "* 1 EXISTS" in r.until("s")
    out, grew = measured(s, r, "f", "FETCH 1 BODYSTRUCTURE")
    assert out == ['* 1 FETCH (BODYSTRUCTURE (("TEXT" "PLAIN" ("CHARSET" '
                   '"us-ascii") NIL NIL "7BIT" 3 1 NIL NIL NIL NIL) "MIXED" '
                   '("BOUNDARY" "z") NIL NIL NIL))',
                   "f OK FETCH completed"], out[0][:300]
    bound = memory_bound_kb(len(stored))
    print(f"message {len(stored)} bytes, bound +{bound} KB")
    assert grew < bound, (grew, bound)
    # the header is read to its end: the Subject after 100,000 fields
    out, grew = measured(s, r, "e", "FETCH 1 (ENVELOPE BODY.PEEK[1])")
    assert out == ['* 1 FETCH (ENVELOPE (NIL "at the end" NIL NIL NIL NIL NIL '
                   'NIL NIL NIL) BODY[1] {3}', "one)", "e OK FETCH completed"]
    assert grew < bound, (grew, bound)


# ------------------------------------------------------------ the parser

def test_list_nesting_and_nul_over_the_wire(make_server):
    """The parser's limits hold on a real session, before and after login,
    and each error leaves the session usable."""
    s = imap_server(make_server)
    r = Raw(s.imaps, client_context(s.pki))
    r.line()
    r.send(b"a ID " + b"(" * 17 + b")" * 17 + b"\r\n")
    assert r.until("a") == ["a BAD Lists nested too deeply"]
    r.send(b"b ID " + b"(" * 50000 + b"\r\n")
    assert r.until("b") == ["b BAD Lists nested too deeply"]
    r.send(b'c LOGIN "alice\0@example.test" x\r\n')
    assert r.until("c") == ["c BAD NUL byte in quoted string"]
    r.send(f'l LOGIN {ALICE} "{PASSWORD}"\r\n'.encode())
    assert r.until("l")[-1].startswith("l OK")
    append(r, "INBOX", b"Subject: x\r\n\r\ny\r\n")
    r.send(b"s SELECT INBOX\r\n")
    r.until("s")
    r.send(b"d SEARCH " + b"(" * 16 + b"ALL" + b")" * 16 + b"\r\n")
    assert r.until("d") == ["* SEARCH 1", "d OK SEARCH completed"]
    r.send(b"e SEARCH " + b"(" * 17 + b"ALL" + b")" * 17 + b"\r\n")
    assert r.until("e") == ["e BAD Lists nested too deeply"]
    r.send(b'f SEARCH SUBJECT "a\0b"\r\n')
    assert r.until("f") == ["f BAD NUL byte in quoted string"]
    r.send(b'g SELECT "IN\0BOX"\r\n')
    assert r.until("g") == ["g BAD NUL byte in quoted string"]
    # nor in a literal: NUL is for literal8 (RFC 9051 4.3), which only
    # APPEND takes
    r.send(b"h CREATE {3+}\r\na\0b\r\n")
    assert r.until("h") == ["h BAD NUL byte in literal (use literal8)"]
    r.send(b"n NOOP\r\n")
    assert r.until("n") == ["n OK NOOP completed"]


# ------------------------------------------------------------ mailbox names

ESCAPED = "Mailbox name must not hold %2F, %5C or %2E"


def folders_on_disk(s, user="alice"):
    return sorted(n for n in os.listdir(s.maildir(user)) if n.startswith("."))


def test_mailbox_names_refused(make_server):
    """Names with URL escapes of "/", "\\" or ".", invalid modified UTF-7,
    8-bit names without UTF8=ACCEPT and invalid UTF-8 with it: NO (BAD
    when the quoted string itself is invalid), and nothing on disk."""
    s = imap_server(make_server)
    r = login(s)
    before = folders_on_disk(s)
    cases = [
        (b'"%2Fetc"', "NO " + ESCAPED),
        (b'"..%2Fbob"', "NO " + ESCAPED),
        (b'"a%2f..%2f..%2fb"', "NO " + ESCAPED),
        (b'"%2E%2E"', "NO " + ESCAPED),
        (b'"x%5C..%5Cy"', "NO " + ESCAPED),
        (b'"Sent/%2e%2e"', "NO " + ESCAPED),
        (b'"../bob"', "NO Mailbox name component . or .. is not allowed"),
        (b'"/etc/passwd"', "NO Mailbox name must not start with /"),
        (b'"&AGE-"', "NO Invalid modified UTF-7: printable ASCII encoded"),
        (b'"&"', "NO Invalid modified UTF-7: unterminated &"),
        (b'"&Jjo!"', "NO Invalid modified UTF-7: bad base64"),
        (b'"&AOk-&AOk-"', "NO Invalid modified UTF-7: two encoded runs side by side"),
        (b'"Caf\xc3\xa9"', "NO Invalid modified UTF-7: 8-bit or control character"),
        (b'"\xc3"', "BAD Invalid UTF-8 in quoted string"),
    ]
    for verb in ("CREATE", "SELECT", "RENAME Drafts"):
        for i, (name, reply) in enumerate(cases):
            tag = f"t{i}"
            r.send(f"{tag} {verb} ".encode() + name + b"\r\n")
            got = r.until(tag)
            if verb != "CREATE" and reply.startswith("NO Invalid modified"):
                assert got[-1].startswith(f"{tag} NO "), (verb, name, got)
            else:
                assert got == [f"{tag} {reply}"], (verb, name, got)
    # UTF-8 names once enabled (RFC 6855): invalid UTF-8 in a literal,
    # which the parser does not look into, is refused by the name check
    r.send(b"u ENABLE UTF8=ACCEPT\r\n")
    assert r.until("u") == ["* ENABLED UTF8=ACCEPT", "u OK ENABLE completed"]
    r.send(b"v CREATE {4+}\r\nCaf\xc3\r\n")
    assert r.until("v") == ["v NO Invalid mailbox name: not UTF-8"]
    r.send(b'w CREATE "Caf\xc3\xa9/%2Fx"\r\n')
    assert r.until("w") == ["w NO " + ESCAPED]
    assert folders_on_disk(s) == before
    # what is allowed still is: a "%" that escapes nothing, a UTF-8 name
    r.send(b'x CREATE "100% Caf\xc3\xa9"\r\n')
    assert r.until("x") == ["x OK CREATE completed"]
    assert folders_on_disk(s) == sorted(before + [".100%25 Caf&AOk-"])


def tree(root):
    """{relative path: bytes} of every file under root."""
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = fh.read()
    return out


def test_canary_of_another_user_is_never_readable(make_server):
    """bob's Maildir holds a canary message and a canary file; alice tries
    every command that takes a mailbox name with names aimed at bob's
    tree. No response carries the canary, no such command succeeds, and
    bob's files are as they were."""
    # many refusals in one session: more than the default max_errors
    s = imap_server(make_server, {"imap": {"max_errors": "1000"}})
    deliver(s, BOB, b"From: x@imap-sender.example\r\nSubject: hi\r\n\r\nhi\r\n")
    s.wait_messages(1, "bob")
    token = base64.b32encode(os.urandom(10)).decode()
    bob = s.maildir("bob")
    with open(os.path.join(bob, "cur", "1.canary.host:2,S"), "wb") as f:
        f.write(f"Subject: {token}\r\n\r\n{token}\r\n".encode())
    with open(os.path.join(bob, "canary"), "w") as f:
        f.write(token + "\n")
    os.mkdir(os.path.join(bob, ".Secret"))
    for sub in ("cur", "new", "tmp"):
        os.mkdir(os.path.join(bob, ".Secret", sub))
    with open(os.path.join(bob, ".Secret", "cur", "2.canary.host:2,"), "wb") as f:
        f.write(f"Subject: {token}\r\n\r\n{token}\r\n".encode())
    before = tree(bob)
    names = ["../bob", "../bob/Secret", "../../example.test/bob", "..%2Fbob",
             "%2E%2E/bob", "/bob", "bob", "~bob", "../bob/.Secret",
             "INBOX/../../bob", "../bob/cur", "Secret", "..", "../canary"]
    r = login(s)
    append(r, "INBOX", b"Subject: mine\r\n\r\nmine\r\n")
    r.send(b"s SELECT INBOX\r\n")
    r.until("s")
    seen = []
    n = 0
    for name in names:
        q = f'"{name}"'
        for cmd in (f"SELECT {q}", f"EXAMINE {q}", f"STATUS {q} (MESSAGES)",
                    f"APPEND {q} {{4+}}\r\nx\r\n", f"COPY 1 {q}",
                    f"MOVE 1 {q}", f"RENAME {q} Stolen", f"DELETE {q}",
                    f"SUBSCRIBE {q}", f"GETQUOTAROOT {q}",
                    f'LIST {q} "*"', f'LIST "" "{name}/*"'):
            n += 1
            tag = f"c{n}"
            if cmd.startswith(("COPY", "MOVE")):
                # a failed SELECT closed the mailbox (RFC 9051 6.3.2)
                r.send(b"s SELECT INBOX\r\n")
                assert r.until("s")[-1].startswith("s OK")
            r.send(f"{tag} {cmd}\r\n".encode())
            out = r.until(tag)
            seen += out
            if cmd.startswith(("LIST", "SUBSCRIBE")):
                # LIST of a pattern that matches nothing is OK and empty;
                # SUBSCRIBE may name a mailbox that does not exist
                # (RFC 9051 6.3.7) but not one outside the tree
                assert all(not x.startswith("* ") for x in out), (cmd, out)
                continue
            assert not out[-1].startswith(f"{tag} OK"), (cmd, out)
    r.send(b"z LIST \"\" \"*\"\r\n")
    seen += r.until("z")
    assert token not in "\n".join(seen)
    r.send(b"y FETCH 1:* (BODY.PEEK[])\r\n")
    assert token not in "\n".join(r.until("y"))
    assert tree(bob) == before
    assert not any("Stolen" in n for n in os.listdir(s.maildir()))


# ------------------------------------------------------------ penalty

def test_login_penalty_is_shared_by_imap_pop3_and_submission(make_server):
    """One failure table per client for every protocol: each failed login
    earns the delay of the client's failure count across IMAP, POP3 and
    submission together (base 100 ms, doubled per failure), as the
    delay_ms each one logs shows. (What the delay does to a waiting login
    is timed in test_imap.py and test_submission.py; here only counts.)"""
    subs, pop3s = free_port(), free_port()
    s = imap_server(make_server, {"auth": {"failure_delay": "100ms",
                                           "failure_delay_max": "10s",
                                           "max_failures": "5"}},
                    extra={
                        "submissions": {"address": f"127.0.0.1:{subs}",
                                        "role": "submission", "tls": "implicit"},
                        "pop3s": {"address": f"127.0.0.1:{pop3s}",
                                  "role": "pop3s"}})
    imap = login_raw = Raw(s.imaps, client_context(s.pki))
    login_raw.line()
    imap.send(f'a LOGIN {ALICE} "wrong1"\r\n')
    assert imap.until("a") == ["a NO [AUTHENTICATIONFAILED] Authentication failed"]

    pop = Raw(pop3s, client_context(s.pki))
    assert pop.line().startswith("+OK")
    pop.send(f"USER {ALICE}\r\n")
    assert pop.line().startswith("+OK")
    pop.send("PASS wrong2\r\n")
    assert pop.line() == "-ERR [AUTH] Authentication failed"

    sub = Chat(subs)
    sub.sock = client_context(s.pki).wrap_socket(sub.sock, server_hostname=HOST)
    sub.greet()
    bad = base64.b64encode(f"\0{ALICE}\0wrong3".encode()).decode()
    sub.cmd(f"AUTH PLAIN {bad}", 535, "5.7.8")

    imap.send(f'b LOGIN {ALICE} "wrong4"\r\n')
    assert imap.until("b") == ["b NO [AUTHENTICATIONFAILED] Authentication failed"]
    log = s.log()
    fails = re.findall(r"event=auth result=fail (?:protocol=(\w+) )?mech=\S+ "
                       r"user=\S+ ip=127\.0\.0\.1 failures=\d+ delay_ms=(\d+)", log)
    assert fails == [("imap", "100"), ("pop3", "200"), ("", "400"),
                     ("imap", "800")], fails
    for w in ("wrong1", "wrong2", "wrong3", "wrong4"):
        assert w not in log


# ------------------------------------------------------------ concurrency

def test_idle_session_sees_another_sessions_expunge(make_server):
    """A session in IDLE is told of an EXPUNGE made by another session on
    the same folder (RFC 9051 7.5.1: EXPUNGE may be sent during IDLE), and
    of new mail; after DONE both sessions agree on what is left."""
    s = imap_server(make_server)
    a = login(s)
    for i in range(3):
        append(a, "INBOX", b"Subject: m%d\r\n\r\nbody %d\r\n" % (i, i))
    b = login(s)
    b.send(b"s SELECT INBOX\r\n")
    assert "* 3 EXISTS" in b.until("s")
    b.send(b"i IDLE\r\n")
    assert b.line() == "+ idling"
    a.send(b"s SELECT INBOX\r\nt STORE 2 +FLAGS.SILENT (\\Deleted)\r\n"
           b"x EXPUNGE\r\n")
    assert a.until("x")[-2:] == ["* 2 EXPUNGE", "x OK EXPUNGE completed"]
    assert b.line() == "* 2 EXPUNGE"
    deliver(s, ALICE, b"From: x@imap-sender.example\r\nSubject: new\r\n\r\nnew\r\n")
    assert b.line() == "* 3 EXISTS"
    b.send(b"DONE\r\n")
    assert b.until("i") == ["i OK IDLE terminated"]
    b.send(b"f FETCH 1:* (BODY.PEEK[HEADER.FIELDS (Subject)])\r\n")
    subjects = [x for x in b.until("f") if x.startswith("Subject:")]
    assert subjects == ["Subject: m0", "Subject: m2", "Subject: new"]


# ------------------------------------------------------------ POP3 idle

def test_pop3_idle_timeout_closes_without_update(make_server):
    """RFC 1939 3: the autologout timer ends the session without a
    response and without entering UPDATE: a DELE made before it is
    forgotten, and the maildrop lock goes with the session."""
    from test_pop3 import Raw as PopRaw
    pop3s = free_port()
    s = imap_server(make_server, {"pop3": {"timeout_idle": "1s"}},
                    extra={"pop3s": {"address": f"127.0.0.1:{pop3s}",
                                     "role": "pop3s"}})
    deliver(s, ALICE, b"From: x@imap-sender.example\r\nSubject: p\r\n\r\np\r\n")
    s.wait_messages(1)
    p = PopRaw(pop3s, client_context(s.pki))
    p.line()
    assert p.login().startswith("+OK Logged in, 1")
    assert p.cmd("DELE 1") == "+OK Message 1 deleted"
    assert p.closed(10)
    assert p.buf == b""
    s.wait_log(r"event=timeout state=")
    q = PopRaw(pop3s, client_context(s.pki))
    q.line()
    assert q.login().startswith("+OK Logged in, 1")
    assert q.cmd("QUIT").startswith("+OK")
    assert len(s.messages()) == 1
