"""IMAP extensions on the wire, byte for byte: CONDSTORE and QRESYNC
(RFC 7162), QUOTA (RFC 9208), SORT and THREAD (RFC 5256); and the header
cache under SEARCH, SORT and THREAD (the same answers with and without it,
before and after it holds a folder, as messages come and go)."""
import os
import re

import pytest

from conftest import DOMAIN, PASSWORD, client_context, free_port
from test_imap import Raw, deliver

USERS = ["cs1", "cs2", "cs3", "cs4", "q1", "q2", "q3", "st1", "st2", "hc1", "hc2", "hc3"]


@pytest.fixture(scope="module")
def srv(workdir, pki):
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
    for u in USERS:
        s.add_user(f"{u}@{DOMAIN}", quota="20K" if u in ("q1", "q3") else None)
    s.start()
    yield s
    s.stop()


class Session(Raw):
    """A logged-in raw session; cmd() sends one command and returns its
    untagged lines and the tagged reply."""

    def __init__(self, srv, user):
        super().__init__(srv.imaps, client_context(srv.pki))
        self.n = 0
        self.line()
        self.cmd(f'LOGIN {user}@{DOMAIN} "{PASSWORD}"', ok=True)

    def cmd(self, text, ok=None):
        self.n += 1
        tag = f"t{self.n}"
        self.send(f"{tag} {text}\r\n")
        lines = self.until(tag)
        tagged = lines[-1][len(tag) + 1:]
        if ok:
            assert tagged.startswith("OK"), lines
        return lines[:-1], tagged


def msg(n, subject="s", extra=""):
    return (f"From: Sender {n} <s{n}@imap-sender.example>\r\nTo: <x@{DOMAIN}>\r\n"
            f"Subject: {subject}\r\nDate: Mon, 02 Jan 2023 10:00:0{n} +0000\r\n"
            f"Message-ID: <ext-{n}@example.test>\r\n{extra}\r\nbody {n}\r\n").encode()


def fill(srv, user, n):
    for i in range(1, n + 1):
        deliver(srv, f"{user}@{DOMAIN}", msg(i))
    srv.wait_messages(n, user)


def modseqs(lines):
    """{seq: modseq} from FETCH lines."""
    out = {}
    for line in lines:
        m = re.match(r"\* (\d+) FETCH \(.*MODSEQ \((\d+)\)", line)
        if m:
            out[int(m.group(1))] = int(m.group(2))
    return out


def highest(lines):
    for line in lines:
        m = re.match(r"\* OK \[HIGHESTMODSEQ (\d+)\]", line)
        if m:
            return int(m.group(1))
    raise AssertionError(lines)


def uidvalidity(lines):
    for line in lines:
        m = re.match(r"\* OK \[UIDVALIDITY (\d+)\]", line)
        if m:
            return int(m.group(1))
    raise AssertionError(lines)


# ------------------------------------------------------------------ CONDSTORE

def test_condstore_enable_select_and_fetch_changedsince(srv):
    fill(srv, "cs1", 3)
    r = Session(srv, "cs1")
    caps, _ = r.cmd("CAPABILITY", ok=True)
    assert " CONDSTORE QRESYNC" in caps[0]
    assert r.cmd("ENABLE CONDSTORE") == (["* ENABLED CONDSTORE"], "OK ENABLE completed")
    lines, tagged = r.cmd("SELECT INBOX (CONDSTORE)")
    assert tagged == "OK [READ-WRITE] SELECT completed"
    h = highest(lines)
    lines, _ = r.cmd("FETCH 1:* (UID MODSEQ)", ok=True)
    ms = modseqs(lines)
    assert sorted(ms) == [1, 2, 3] and max(ms.values()) <= h
    # a flag change gives a new modseq, in the STORE's FETCH response
    lines, _ = r.cmd("STORE 2 +FLAGS (\\Seen)", ok=True)
    assert lines == [f"* 2 FETCH (FLAGS (\\Seen) MODSEQ ({h + 1}))"]
    # CHANGEDSINCE: only what changed after it, with MODSEQ unasked
    lines, tagged = r.cmd(f"FETCH 1:* (FLAGS) (CHANGEDSINCE {h})")
    assert (lines, tagged) == ([f"* 2 FETCH (FLAGS (\\Seen) MODSEQ ({h + 1}))"],
                               "OK FETCH completed")
    lines, _ = r.cmd(f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {h + 1})", ok=True)
    assert lines == []
    # VANISHED without ENABLE QRESYNC, and junk modifiers
    assert r.cmd(f"UID FETCH 1:* FLAGS (CHANGEDSINCE {h} VANISHED)")[1].startswith("BAD")
    assert r.cmd("FETCH 1:* FLAGS (CHANGEDSINCE x)")[1].startswith("BAD")
    assert r.cmd("FETCH 1:* FLAGS (BOGUS 1)")[1].startswith("BAD")
    st, _ = r.cmd("STATUS INBOX (HIGHESTMODSEQ)", ok=True)
    assert st == [f"* STATUS INBOX (HIGHESTMODSEQ {h + 1})"]


def test_store_unchangedsince_reports_modified(srv):
    fill(srv, "cs2", 3)
    r = Session(srv, "cs2")
    lines, _ = r.cmd("SELECT INBOX", ok=True)
    h = highest(lines)
    lines, _ = r.cmd("FETCH 1:* (UID MODSEQ)", ok=True)
    ms = modseqs(lines)
    uid = {int(m.group(1)): int(m.group(2)) for m in
           (re.match(r"\* (\d+) FETCH \(UID (\d+)", x) for x in lines) if m}
    r.cmd("STORE 2 +FLAGS.SILENT (\\Seen)", ok=True)
    # message 2 changed after ms[3]: it is left alone and named MODIFIED;
    # .SILENT still gives the others' new modseqs (RFC 7162 3.1.3)
    lines, tagged = r.cmd(f"STORE 1:3 (UNCHANGEDSINCE {max(ms.values())}) "
                          "+FLAGS.SILENT (\\Flagged)")
    assert tagged == "OK [MODIFIED 2] STORE completed"
    assert lines == [f"* 1 FETCH (MODSEQ ({h + 2}))",
                     f"* 3 FETCH (MODSEQ ({h + 3}))"]
    lines, _ = r.cmd("FETCH 1:3 FLAGS", ok=True)
    assert lines == ["* 1 FETCH (FLAGS (\\Flagged))", "* 2 FETCH (FLAGS (\\Seen))",
                     "* 3 FETCH (FLAGS (\\Flagged))"]
    # UNCHANGEDSINCE 0 always fails; UID STORE names UIDs
    lines, tagged = r.cmd("UID STORE 1:* (UNCHANGEDSINCE 0) FLAGS ()")
    assert lines == [] and tagged == \
        f"OK [MODIFIED {uid[1]}:{uid[3]}] UID STORE completed"
    assert r.cmd("STORE 1 (UNCHANGEDSINCE) +FLAGS (\\Seen)")[1].startswith("BAD")
    # SEARCH MODSEQ: at or above, with the hits' highest modseq
    lines, _ = r.cmd(f"SEARCH MODSEQ {h + 2}", ok=True)
    assert lines == [f"* SEARCH 1 3 (MODSEQ {h + 3})"]
    lines, _ = r.cmd(f'SEARCH MODSEQ "/flags/\\\\flagged" all {h + 3}', ok=True)
    assert lines == [f"* SEARCH 3 (MODSEQ {h + 3})"]
    lines, _ = r.cmd(f"SEARCH RETURN (COUNT) MODSEQ {h + 2}", ok=True)
    assert lines == [f'* ESEARCH (TAG "t{r.n}") COUNT 2 MODSEQ {h + 3}']
    lines, _ = r.cmd(f"SEARCH MODSEQ {h + 100}", ok=True)
    assert lines == ["* SEARCH"]


# ------------------------------------------------------------------ QRESYNC

def test_qresync_select_vanished_and_fetch(srv):
    fill(srv, "cs3", 4)
    a = Session(srv, "cs3")
    assert a.cmd("SELECT INBOX (QRESYNC (1 1))")[1] == "BAD ENABLE QRESYNC first"
    assert a.cmd("ENABLE QRESYNC") == (["* ENABLED QRESYNC"], "OK ENABLE completed")
    lines, _ = a.cmd("SELECT INBOX", ok=True)
    uv, h = uidvalidity(lines), highest(lines)
    lines, _ = a.cmd("UID FETCH 1:* UID", ok=True)
    uids = [int(re.search(r"UID (\d+)", x).group(1)) for x in lines]
    assert len(uids) == 4
    # another session: expunge the first, flag the third
    b = Session(srv, "cs3")
    b.cmd("SELECT INBOX", ok=True)
    b.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)", ok=True)
    b.cmd("EXPUNGE", ok=True)
    b.cmd("STORE 2 +FLAGS.SILENT (\\Flagged)", ok=True)
    # the QRESYNC session hears VANISHED, not EXPUNGE, and MODSEQ
    lines, _ = a.cmd("NOOP", ok=True)
    assert lines[0] == f"* VANISHED {uids[0]}"
    assert re.fullmatch(rf"\* 2 FETCH \(UID {uids[2]} FLAGS \(\\Flagged\) "
                        r"MODSEQ \(\d+\)\)", lines[1]), lines
    # a fresh session resynchronises in its SELECT
    c = Session(srv, "cs3")
    c.cmd("ENABLE QRESYNC", ok=True)
    lines, tagged = c.cmd(f"SELECT INBOX (QRESYNC ({uv} {h}))")
    assert tagged == "OK [READ-WRITE] SELECT completed"
    assert f"* VANISHED (EARLIER) {uids[0]}" in lines
    fetches = [x for x in lines if " FETCH " in x]
    assert len(fetches) == 1 and fetches[0].startswith(f"* 2 FETCH (UID {uids[2]} ")
    # known-uids limits the VANISHED set; nothing known vanished: no line
    lines, _ = c.cmd(f"EXAMINE INBOX (QRESYNC ({uv} {h} {uids[1]}:{uids[3]}))",
                     ok=True)
    assert not [x for x in lines if "VANISHED" in x]
    # another UIDVALIDITY: a plain SELECT
    lines, _ = c.cmd(f"SELECT INBOX (QRESYNC ({uv + 1} {h}))", ok=True)
    assert not [x for x in lines if "VANISHED" in x or " FETCH " in x]
    # UID FETCH ... (CHANGEDSINCE VANISHED)
    lines, _ = c.cmd(f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {h} VANISHED)", ok=True)
    assert lines[0] == f"* VANISHED (EARLIER) {uids[0]}"
    assert len(lines) == 2 and "FLAGS (\\Flagged) MODSEQ" in lines[1]
    # nothing changed after the highest modseq: no VANISHED
    lines, _ = c.cmd("STATUS INBOX (HIGHESTMODSEQ)", ok=True)
    now = int(re.search(r"HIGHESTMODSEQ (\d+)", lines[0]).group(1))
    lines, _ = c.cmd(f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {now} VANISHED)", ok=True)
    assert lines == []
    # bad QRESYNC parameters
    for bad in ["(QRESYNC)", "(QRESYNC (0 1))", "(QRESYNC (1 0))", "(QRESYNC (1 1 x))",
                "(QRESYNC (1 1 1:5 (1)))", "(FOO)", "()"]:
        assert c.cmd(f"SELECT INBOX {bad}")[1].startswith("BAD"), bad


# ------------------------------------------------------------------ QUOTA

def test_quota_roots_usage_and_overquota(srv):
    r = Session(srv, "q1")
    caps, _ = r.cmd("CAPABILITY", ok=True)
    assert " QUOTA QUOTA=RES-STORAGE" in caps[0] and "QUOTASET" not in caps[0]
    # 20K: 20480 bytes, 20 units of 1024 octets; nothing used yet
    assert r.cmd("GETQUOTAROOT INBOX") == (
        ['* QUOTAROOT INBOX ""', '* QUOTA "" (STORAGE 0 20)'],
        "OK GETQUOTAROOT completed")
    assert r.cmd("GETQUOTAROOT Sent")[0][0] == '* QUOTAROOT Sent ""'
    assert r.cmd("GETQUOTAROOT Nowhere")[1] == "NO [NONEXISTENT] Mailbox does not exist"
    body = b"Subject: q\r\n\r\n" + b"x" * 3000 + b"\r\n"
    r.send(b"a1 APPEND INBOX {%d+}\r\n" % len(body) + body + b"\r\n")
    assert r.until("a1")[-1].startswith("a1 OK [APPENDUID")
    # 3017 bytes: 3 units, rounded up
    assert r.cmd('GETQUOTA ""') == (['* QUOTA "" (STORAGE 3 20)'], "OK GETQUOTA completed")
    assert r.cmd('GETQUOTA "other"')[1] == "NO [NONEXISTENT] No such quota root"
    assert r.cmd('SETQUOTA "" (STORAGE 100)')[1] == \
        "NO [NOPERM] Quotas are set by the administrator"
    assert r.cmd("GETQUOTA")[1].startswith("BAD")
    # over the limit: APPEND and COPY are refused with OVERQUOTA
    big = b"Subject: big\r\n\r\n" + b"y" * 18000 + b"\r\n"
    r.send(b"a2 APPEND INBOX {%d+}\r\n" % len(big) + big + b"\r\n")
    line = r.until("a2")[-1]
    assert line.startswith("a2 NO [OVERQUOTA]"), line
    r.cmd("SELECT INBOX", ok=True)
    copies = 0
    while True:
        _, tagged = r.cmd("COPY 1 Archive")
        if not tagged.startswith("OK"):
            break
        copies += 1
    assert tagged.startswith("NO [OVERQUOTA]") and copies == 5, (copies, tagged)
    lines, _ = r.cmd("GETQUOTAROOT Archive", ok=True)
    assert lines[1] == '* QUOTA "" (STORAGE 18 20)'
    lines, _ = r.cmd("STATUS Archive (MESSAGES SIZE)", ok=True)
    assert lines == [f"* STATUS Archive (MESSAGES 5 SIZE {5 * len(body)})"]


def test_quota_without_a_limit(srv):
    r = Session(srv, "q2")
    assert r.cmd("GETQUOTAROOT INBOX") == (["* QUOTAROOT INBOX"],
                                           "OK GETQUOTAROOT completed")
    assert r.cmd('GETQUOTA ""')[1] == "NO [NONEXISTENT] No such quota root"


def test_rename_inbox_over_half_the_quota(srv):
    """RENAME INBOX moves the messages (hard links, then an expunge): the
    usage does not change, so a user whose INBOX holds more than half the
    quota may rename it too, and the usage is the same afterwards."""
    r = Session(srv, "q3")
    body = b"Subject: most\r\n\r\n" + b"z" * 12000 + b"\r\n"
    r.send(b"a1 APPEND INBOX {%d+}\r\n" % len(body) + body + b"\r\n")
    assert r.until("a1")[-1].startswith("a1 OK [APPENDUID")
    assert r.cmd('GETQUOTA ""') == (['* QUOTA "" (STORAGE 12 20)'], "OK GETQUOTA completed")
    assert r.cmd("RENAME INBOX Moved") == ([], "OK RENAME completed")
    assert r.cmd("STATUS INBOX (MESSAGES)")[0] == ["* STATUS INBOX (MESSAGES 0)"]
    assert r.cmd("STATUS Moved (MESSAGES SIZE)")[0] == \
        [f"* STATUS Moved (MESSAGES 1 SIZE {len(body)})"]
    assert r.cmd('GETQUOTA ""') == (['* QUOTA "" (STORAGE 12 20)'], "OK GETQUOTA completed")
    r.cmd("SELECT Moved", ok=True)
    lines, _ = r.cmd("FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])", ok=True)
    assert lines[0].endswith("{17}") and lines[1] == "Subject: most", lines


# ------------------------------------------------------------------ SORT, THREAD

THREAD_SET = [
    # subject, message-id, references, date (minute), from, size pad
    ("Plans", "<p1@x>", "", 1, "zed", 0),
    ("Re: Plans", "<p2@x>", "<p1@x>", 2, "amy", 300),
    ("Lunch", "<l1@x>", "", 3, "bob", 100),
    ("Re: Plans", "<p3@x>", "<p1@x> <p2@x>", 4, "cat", 50),
    ("Re: Lunch", "<l2@x>", "", 0, "dan", 10),
]


def test_sort_and_thread(srv):
    user = "st1"
    for subj, mid, refs, minute, frm, pad in THREAD_SET:
        body = (f"From: {frm}@imap-sender.example\r\nTo: {user}@{DOMAIN}\r\n"
                f"Subject: {subj}\r\nDate: Mon, 02 Jan 2023 10:{minute:02d}:00 +0000\r\n"
                f"Message-ID: {mid}\r\n" + (f"References: {refs}\r\n" if refs else "") +
                "\r\n" + "x" * pad + "\r\n").encode()
        deliver(srv, f"{user}@{DOMAIN}", body)
        srv.wait_messages(THREAD_SET.index((subj, mid, refs, minute, frm, pad)) + 1, user)
    r = Session(srv, user)
    caps, _ = r.cmd("CAPABILITY", ok=True)
    assert " SORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES" in caps[0]
    r.cmd("SELECT INBOX", ok=True)
    lines, _ = r.cmd("UID FETCH 1:* UID", ok=True)
    uid = [int(re.search(r"UID (\d+)", x).group(1)) for x in lines]
    assert r.cmd("SORT (DATE) UTF-8 ALL") == (["* SORT 5 1 2 3 4"], "OK SORT completed")
    assert r.cmd("SORT (REVERSE DATE) UTF-8 ALL")[0] == ["* SORT 4 3 2 1 5"]
    assert r.cmd("SORT (FROM) US-ASCII ALL")[0] == ["* SORT 2 3 4 5 1"]
    # base subjects LUNCH, LUNCH, PLANS x3; then by arrival (sequence)
    assert r.cmd("SORT (SUBJECT) UTF-8 ALL")[0] == ["* SORT 3 5 1 2 4"]
    assert r.cmd("SORT (SUBJECT REVERSE DATE) UTF-8 ALL")[0] == ["* SORT 3 5 4 2 1"]
    assert r.cmd("SORT (SIZE) UTF-8 SUBJECT plans")[0] == ["* SORT 1 4 2"]
    assert r.cmd("SORT (ARRIVAL) UTF-8 NOT FROM zed")[0] == ["* SORT 2 3 4 5"]
    assert r.cmd("UID SORT (DATE) UTF-8 1:2")[0] == [f"* SORT {uid[0]} {uid[1]}"]
    # REFERENCES: p1 <- p2 <- p3; l2 is a reply by subject to l1
    assert r.cmd("THREAD REFERENCES UTF-8 ALL") == (["* THREAD (1 2 4)(3 5)"],
                                                    "OK THREAD completed")
    # ORDEREDSUBJECT: LUNCH (5 at 10:00 first, then 3), PLANS (1, 2, 4);
    # threads by their first message's date
    assert r.cmd("THREAD ORDEREDSUBJECT UTF-8 ALL")[0] == ["* THREAD (5 3)(1 (2)(4))"]
    assert r.cmd("UID THREAD REFERENCES UTF-8 SUBJECT lunch")[0] == \
        [f"* THREAD ({uid[2]} {uid[4]})"]
    assert r.cmd("THREAD REFERENCES UTF-8 SUBJECT nothing")[0] == ["* THREAD"]
    # refused: unknown key, algorithm, charset; missing parts
    assert r.cmd("SORT (NAME) UTF-8 ALL")[1] == "BAD Unknown sort key"
    assert r.cmd("SORT DATE UTF-8 ALL")[1].startswith("BAD")
    assert r.cmd("SORT (DATE) KOI8-R ALL")[1] == \
        "NO [BADCHARSET (UTF-8 US-ASCII)] Unknown charset"
    assert r.cmd("THREAD BOGUS UTF-8 ALL")[1] == "BAD Unknown threading algorithm"
    assert r.cmd("THREAD REFERENCES UTF-8")[1].startswith("BAD")
    assert r.cmd("SORT (DATE) UTF-8 BOGUSKEY")[1].startswith("BAD")


# ------------------------------------------------------------------ header cache

# Exact bytes, written straight into the Maildir (delivery would normalise
# them): LF and CRLF headers, a folded field, a message that is all header,
# one whose header is longer than the cache keeps (64 KiB), one that starts
# with an empty line, one with LF CR LF before its body, and header words
# that only the body has.
PAD = "".join(f"X-Pad-{i}: {'p' * 70}\n" for i in range(900))  # ~75 KB
HC_MESSAGES = [
    "From: Ann <ann@a.example>\nTo: x@y.example\nCc: Carol <carol@c.example>\n"
    "Subject: quarterly report\nDate: Tue, 03 Jan 2023 10:00:00 +0000\n\n"
    "Subject: secret\nBcc: in-body@b.example\n",
    "From: Bo <bo@b.example>\r\nSubject: a long\r\n folded subject line\r\n"
    "Date: Wed, 01 Feb 2023 10:00:00 +0000\r\n\r\nreport in the body\r\n",
    "Subject: only header\nX-Tag: lonely",
    PAD + "From: Huge <huge@h.example>\nSubject: huge header report\n\nbody\n",
    "\nSubject: after an empty first line\n",
    "From: Dee <dee@d.example>\nBcc: hidden@b.example\nSubject: Quarterly REPORT\n"
    "Date: Sun, 31 Dec 2023 23:00:00 +0000\n\r\nbody\n",
    "To: x@y.example\nSubject: plain\n\n" + "z" * 5000 + "\n",
]
HC_QUERIES = [
    "SUBJECT report", 'SUBJECT "folded subject"', "SUBJECT header",
    "HEADER X-Tag lonely", 'HEADER X-Pad-899 ""', "FROM ann", "TO x@y.example",
    "CC carol", "BCC hidden", "SUBJECT secret", 'HEADER Subject ""',
    "SUBJECT empty", "SENTSINCE 1-Jan-2023", "SENTBEFORE 1-Feb-2023",
    "SENTON 31-Dec-2023", "NOT SUBJECT report", "OR FROM ann SUBJECT huge",
    "LARGER 1000 SUBJECT plain", "SMALLER 100 HEADER Subject \"\"",
    "UID 2:* SUBJECT quarterly", "SEEN SUBJECT report",
]
HC_EXPECTED = {"SUBJECT report": "1 4 6", "SUBJECT secret": "",
               "BCC hidden": "6", 'SUBJECT "folded subject"': "2",
               "SUBJECT empty": "5", "HEADER X-Tag lonely": "3",
               'HEADER X-Pad-899 ""': "4", "SENTSINCE 1-Jan-2023": "1 2 6"}


def put(srv, user, n, text):
    """Message n (its file name sorts by n), as these bytes."""
    name = f"{1700000000 + n}.M{n}P1.hdrcache.test"
    with open(os.path.join(srv.maildir(user), "new", name), "wb") as f:
        f.write(text.encode())


def search_log(srv, count):
    """The fields of the count-th event=search log line (1-based)."""
    srv.wait_log("event=search ", count=count)
    line = [x for x in srv.log().splitlines() if "event=search " in x][count - 1]
    return dict(kv.split("=", 1) for kv in line.split() if "=" in kv)


def searched(r, q):
    lines, tagged = r.cmd(f"SEARCH {q}")
    assert tagged == "OK SEARCH completed" and len(lines) == 1, (q, lines)
    return lines[0][len("* SEARCH"):].strip()


@pytest.fixture(scope="module")
def srv_nocache(workdir, pki):
    from conftest import Server
    s = Server(workdir, pki, {"imap": {"header_cache_size": "0"}})
    s.imaps = free_port()
    s.listeners = {"imaps": {"address": f"127.0.0.1:{s.imaps}", "role": "imaps"}}
    s.write_config()
    s.cli("domain", "add", DOMAIN)
    s.add_user(f"hc1@{DOMAIN}")
    s.start()
    yield s
    s.stop()


def test_header_cache_same_answers(srv, srv_nocache):
    results = {}
    for name, server in (("on", srv), ("off", srv_nocache)):
        r = Session(server, "hc1")     # login makes the Maildir
        for n, text in enumerate(HC_MESSAGES, 1):
            put(server, "hc1", n, text)
        r.cmd("SELECT INBOX", ok=True)
        r.cmd("STORE 1 +FLAGS (\\Seen)", ok=True)
        before = len([x for x in server.log().splitlines() if "event=search " in x])
        cold = [searched(r, q) for q in HC_QUERIES]
        warm = [searched(r, q) for q in HC_QUERIES]
        # a BODY key makes the search read whole messages, never the cache
        whole = [searched(r, q + ' NOT BODY "never-in-any-body"') for q in HC_QUERIES]
        assert cold == warm == whole, name
        results[name] = dict(zip(HC_QUERIES, cold))
        first, second = search_log(server, before + 1), search_log(server, before + 2)
        if name == "on":
            # the first search fills the cache; after that only the header
            # longer than 64 KiB is read again
            assert (first["hdr_cached"], first["hdr_read"]) == ("0", "7")
            assert (second["hdr_cached"], second["hdr_read"]) == ("6", "1")
            # another session of the process finds them too
            r2 = Session(server, "hc1")
            r2.cmd("EXAMINE INBOX", ok=True)
            assert searched(r2, "SUBJECT report") == "1 4 6"
            last = search_log(server, before + 3 * len(HC_QUERIES) + 1)
            assert (last["hdr_cached"], last["hdr_read"]) == ("6", "1")
        else:
            assert (second["hdr_cached"], second["hdr_read"]) == ("0", "7")
    assert results["on"] == results["off"]
    for q, want in HC_EXPECTED.items():
        assert results["on"][q] == want, q
    assert results["on"]["SEEN SUBJECT report"] == "1"


def test_header_cache_new_message_and_expunge(srv):
    r = Session(srv, "hc2")
    for n, text in enumerate(HC_MESSAGES, 1):
        put(srv, "hc2", n, text)
    r.cmd("SELECT INBOX", ok=True)
    # FETCH reads whole messages and hands their header blocks on: the
    # first search reads only the header too long to keep
    before = len([x for x in srv.log().splitlines() if "event=search " in x])
    lines, _ = r.cmd("FETCH 1:* (ENVELOPE)", ok=True)
    assert len(lines) == 7 and '"Quarterly REPORT"' in lines[5]
    assert searched(r, "SUBJECT report") == "1 4 6"
    first = search_log(srv, before + 1)
    assert (first["hdr_cached"], first["hdr_read"]) == ("6", "1")
    assert r.cmd("SORT (SUBJECT) UTF-8 SUBJECT report")[0] == ["* SORT 4 1 6"]
    # a new message: the next search reads it and finds it
    put(srv, "hc2", 8, "Subject: report number two\n\nnew\n")
    assert "* 8 EXISTS" in r.cmd("NOOP", ok=True)[0]
    assert searched(r, "SUBJECT report") == "1 4 6 8"
    assert searched(r, "SUBJECT two") == "8"
    # an expunge: sequence numbers move, the expunged UID is gone
    lines, _ = r.cmd("UID SEARCH SUBJECT report", ok=True)
    uids = lines[0].split()[2:]
    r.cmd("STORE 1 +FLAGS (\\Deleted)", ok=True)
    assert r.cmd("EXPUNGE", ok=True)[0] == ["* 1 EXPUNGE"]
    assert searched(r, "SUBJECT report") == "3 5 7"
    assert r.cmd("UID SEARCH SUBJECT report", ok=True)[0] == \
        ["* SEARCH " + " ".join(uids[1:])]
    assert r.cmd("SORT (SUBJECT) UTF-8 SUBJECT report")[0] == ["* SORT 3 5 7"]
    # one thread per base subject, ordered by sent date: 5 (2023) first;
    # 3 and 7 have no Date, so their arrival (now) counts
    assert r.cmd("THREAD ORDEREDSUBJECT UTF-8 SUBJECT report")[0] == \
        ["* THREAD (5)(3)(7)"]


def fetch_log(srv, count):
    """The fields of the count-th event=fetch-headers log line (1-based)."""
    srv.wait_log("event=fetch-headers ", count=count)
    line = [x for x in srv.log().splitlines() if "event=fetch-headers " in x][count - 1]
    return dict(kv.split("=", 1) for kv in line.split() if "=" in kv)


def test_header_items_from_the_cache_match_the_whole_message(srv):
    """ENVELOPE, RFC822.HEADER and BODY.PEEK[HEADER...] read only the header
    block, from the header cache once it holds it: the answers are the
    same bytes as when the message is read whole (RFC822.SIZE of a file
    without ,W= in its name forces the whole read)."""
    r = Session(srv, "hc1")
    r.cmd('CREATE "FetchHC"', ok=True)
    new = os.path.join(srv.maildir("hc1"), ".FetchHC", "new")
    for n, text in enumerate(HC_MESSAGES, 1):
        with open(os.path.join(new, f"{1700000000 + n}.M{n}P1.fetchhc.test"), "wb") as f:
            f.write(text.encode())
    r.cmd('SELECT "FetchHC"', ok=True)
    items = ("ENVELOPE RFC822.HEADER BODY.PEEK[HEADER] "
             "BODY.PEEK[HEADER.FIELDS (Subject From X-Tag)] "
             "BODY.PEEK[HEADER.FIELDS.NOT (Subject X-Pad-1)]<2.40>")
    before = len([x for x in srv.log().splitlines() if "event=fetch-headers " in x])
    cold, tagged = r.cmd(f"FETCH 1:* ({items})")
    assert tagged == "OK FETCH completed"
    warm = r.cmd(f"FETCH 1:* ({items})", ok=True)[0]
    whole = r.cmd(f"FETCH 1:* (RFC822.SIZE {items})", ok=True)[0]
    whole = [re.sub(r"^(\* \d+ FETCH \()RFC822\.SIZE \d+ ", r"\1", x) for x in whole]
    assert cold == warm == whole
    assert any('"quarterly report"' in x for x in cold)
    # the first FETCH read the files (and filled the cache); the second
    # found all but the header longer than the cache keeps
    first, second = fetch_log(srv, before + 1), fetch_log(srv, before + 2)
    assert (first["hdr_cached"], first["hdr_read"]) == ("0", "7")
    assert (second["hdr_cached"], second["hdr_read"]) == ("6", "1")
    r.cmd("LOGOUT")


def test_header_cache_empty_message(srv):
    """A message of no bytes (APPEND of an empty literal, or a file left
    empty in the Maildir) has an empty header block: SEARCH, SORT and
    THREAD on header keys answer, and the reader does not wait for bytes
    the file will never have (it used to spin on the pool for ever)."""
    r = Session(srv, "hc3")
    r.send(b"a1 APPEND INBOX {0+}\r\n\r\n")
    assert r.until("a1")[-1].startswith("a1 OK [APPENDUID")
    put(srv, "hc3", 2, "Subject: not empty\n\nbody\n")
    put(srv, "hc3", 3, "")
    r.cmd("SELECT INBOX", ok=True)
    for _ in range(2):  # cold, then from the cache
        assert searched(r, "SUBJECT empty") == "2"
        assert searched(r, 'HEADER Subject ""') == "2"
        assert searched(r, "NOT SUBJECT empty") == "1 3"
    assert r.cmd("SORT (SUBJECT) UTF-8 ALL")[0] == ["* SORT 1 3 2"]
    assert r.cmd("THREAD REFERENCES UTF-8 ALL") == \
        (["* THREAD (1)(2)(3)"], "OK THREAD completed")
    # FETCH of header items reads the header block the same way
    assert r.cmd("FETCH 3 (BODY.PEEK[HEADER])") == \
        (["* 3 FETCH (BODY[HEADER] {0}", ")"], "OK FETCH completed")
