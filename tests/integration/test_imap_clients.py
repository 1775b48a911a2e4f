"""Real IMAP clients in batch mode against a real server over TLS with the
test CA: mbsync (isync) syncing INBOX and a folder both ways, fetchmail
and getmail6 downloading over IMAPS into an MDA that writes files, neomutt
reading a folder (its interface on a pseudo-terminal made by script(1), driven by
one push of keys given on the command line, which neomutt runs in order
whatever the terminal's speed). What each client leaves on our side and
on its own is checked byte for byte."""
import glob
import imaplib
import os
import re
import shutil
import subprocess

import pytest

from conftest import DOMAIN, PASSWORD, Chat, client_context, free_port, send_message

ALICE = f"alice@{DOMAIN}"


def message(n, subject):
    return (f"From: Sender {n} <s{n}@imap-sender.example>\r\nTo: <{ALICE}>\r\n"
            f"Subject: {subject}\r\nDate: Mon, 02 Jan 2023 10:0{n}:00 +0000\r\n"
            f"Message-ID: <client-{n}@example.test>\r\n\r\n"
            f"Body of message {n}.\r\n").encode()


@pytest.fixture
def srv(make_server):
    imap, imaps, smtp = free_port(), free_port(), free_port()
    s = make_server(settings={"auth": {"failure_delay": "0",
                                       "failure_delay_max": "0"}},
                    listeners={
                        "smtp": {"address": f"127.0.0.1:{smtp}"},
                        "imap": {"address": f"127.0.0.1:{imap}", "role": "imap"},
                        "imaps": {"address": f"127.0.0.1:{imaps}", "role": "imaps"},
                    })
    s.smtp, s.imap, s.imaps = smtp, imap, imaps
    return s


def deliver(s, body):
    c = Chat(s.smtp)
    c.greet()
    send_message(c, "sender@other.example", [ALICE], body)
    c.cmd("QUIT", 221)
    c.close()


def login(s):
    m = imaplib.IMAP4_SSL("127.0.0.1", s.imaps, ssl_context=client_context(s.pki),
                          timeout=10)
    m.login(ALICE, PASSWORD)
    return m


def server_box(s, box):
    """{Message-ID: (flags, body)} of a server folder, read with imaplib."""
    m = login(s)
    typ, _ = m.select(box)
    assert typ == "OK"
    out = {}
    typ, data = m.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[])")
    assert typ == "OK"
    for item in data:
        if not isinstance(item, tuple):
            continue
        flags = re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).decode().split()
        mid = re.search(rb"Message-ID: <([^>]+)>", item[1]).group(1).decode()
        out[mid] = (sorted(flags), item[1])
    m.logout()
    return out


# ------------------------------------------------------------------ mbsync

def mbsyncrc(s, home):
    return f"""IMAPAccount postern
Host localhost
Port {s.imaps}
User {ALICE}
Pass "{PASSWORD}"
SSLType IMAPS
CertificateFile {s.pki["ca"]}

IMAPStore far
Account postern

MaildirStore near
Path {home}/mail/
Inbox {home}/mail/INBOX
SubFolders Verbatim

Channel sync
Far :far:
Near :near:
Patterns INBOX Work
Create Both
Expunge Both
SyncState *
Sync All
"""


def run_mbsync(home):
    r = subprocess.run(["mbsync", "-V", "-Dn", "-c", f"{home}/.mbsyncrc", "-a"],
                       env={"HOME": home, "PATH": os.environ["PATH"]},
                       capture_output=True, timeout=60)
    out = r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")
    assert r.returncode == 0, out
    return out


def plain(body):
    """A message as both sides must agree on it: mbsync keeps LF line ends
    in a Maildir and marks what it stores there with X-TUID (a Maildir
    cannot tell it the new message's UID)."""
    body = body.replace(b"\r\n", b"\n")
    return re.sub(rb"(?m)^X-TUID: [^\n]*\n", b"", body)


def near_box(home, box):
    """{Message-ID: (maildir flag letters, body)} of an mbsync folder."""
    out = {}
    for path in glob.glob(f"{home}/mail/{box}/cur/*") + \
            glob.glob(f"{home}/mail/{box}/new/*"):
        with open(path, "rb") as f:
            body = f.read()
        mid = re.search(rb"Message-ID: <([^>]+)>", body).group(1).decode()
        info = path.rsplit(":2,", 1)[1] if ":2," in path else ""
        out[mid] = (info, body)
    return out


def set_near_flags(home, box, mid, letters):
    for path in glob.glob(f"{home}/mail/{box}/cur/*") + \
            glob.glob(f"{home}/mail/{box}/new/*"):
        with open(path, "rb") as f:
            if f"<{mid}>".encode() in f.read():
                base = os.path.basename(path).split(":2,")[0]
                os.rename(path, f"{home}/mail/{box}/cur/{base}:2,{letters}")
                return
    raise AssertionError(f"{mid} not in {box}")


def commands(out):
    """The IMAP commands mbsync sent (its -Dn trace: ">>> 5 UID FETCH ..."),
    as "UID FETCH"-style names."""
    names = []
    for line in out.splitlines():
        m = re.match(r">>> \d+ (UID \w+|\w+)", line)
        if m:
            names.append(m.group(1).upper())
    return names


def snapshot(root):
    return sorted(os.path.relpath(p, root) for p in
                  glob.glob(f"{root}/**/*", recursive=True)
                  if "/cur/" in p or "/new/" in p)


def test_mbsync_syncs_inbox_and_a_folder_both_ways(srv, tmp_path):
    home = str(tmp_path)
    deliver(srv, message(1, "first"))
    deliver(srv, message(2, "second"))
    srv.wait_messages(2)
    m = login(srv)
    assert m.create("Work")[0] == "OK"
    assert m.append("Work", r"(\Flagged)", None, message(3, "work item"))[0] == "OK"
    m.logout()
    with open(f"{home}/.mbsyncrc", "w") as f:
        f.write(mbsyncrc(srv, home))
    os.mkdir(f"{home}/mail")

    # 1. server -> near: every message, byte for byte, with its flags
    out = run_mbsync(home)
    assert "APPEND" not in commands(out), out
    far_in, far_work = server_box(srv, "INBOX"), server_box(srv, "Work")
    near_in, near_work = near_box(home, "INBOX"), near_box(home, "Work")
    assert set(near_in) == {"client-1@example.test", "client-2@example.test"}
    assert {k: plain(v[1]) for k, v in near_in.items()} == \
        {k: plain(v[1]) for k, v in far_in.items()}
    assert plain(near_work["client-3@example.test"][1]) == \
        plain(far_work["client-3@example.test"][1])
    assert near_work["client-3@example.test"][0] == "F"

    # 2. near -> server: a new message in Work, \Seen on one INBOX message,
    # one deleted (and expunged on both sides)
    new = message(4, "written offline")
    with open(f"{home}/mail/Work/new/1700000000.1.near", "wb") as f:
        f.write(new)
    set_near_flags(home, "INBOX", "client-1@example.test", "S")
    set_near_flags(home, "INBOX", "client-2@example.test", "ST")
    run_mbsync(home)
    far_in, far_work = server_box(srv, "INBOX"), server_box(srv, "Work")
    assert list(far_in) == ["client-1@example.test"]
    assert far_in["client-1@example.test"][0] == ["\\Seen"]
    assert set(far_work) == {"client-3@example.test", "client-4@example.test"}
    assert plain(far_work["client-4@example.test"][1]) == plain(new)
    assert list(near_box(home, "INBOX")) == ["client-1@example.test"]

    # 3. server -> near: a flag set elsewhere reaches the near side
    m = login(srv)
    m.select("Work")
    typ, data = m.search(None, "HEADER", "Message-ID", "client-4@example.test")
    assert typ == "OK"
    assert m.store(data[0].decode(), "+FLAGS", r"(\Answered)")[0] == "OK"
    m.logout()
    run_mbsync(home)
    assert near_box(home, "Work")["client-4@example.test"][0] == "R"

    # 4. a second run with nothing new changes nothing on either side
    before_near = snapshot(f"{home}/mail")
    before_far = snapshot(srv.maildir())
    out = run_mbsync(home)
    sent = commands(out)
    assert "SELECT" in sent, out
    for verb in ("APPEND", "UID STORE", "UID EXPUNGE", "EXPUNGE", "CREATE"):
        assert verb not in sent, out
    assert snapshot(f"{home}/mail") == before_near
    assert snapshot(srv.maildir()) == before_far


# ------------------------------------------------------------------ fetchmail

MDA = """#!/bin/sh
# one file per message, named by a counter kept beside them
dir="$1"
n=$(ls "$dir" | wc -l)
cat > "$dir/msg.$n"
"""


@pytest.mark.parametrize("tls", ["implicit", "starttls"])
def test_fetchmail_downloads_over_tls_and_deletes(srv, tmp_path, tls):
    bodies = [message(1, "one"), message(2, "two")]
    for b in bodies:
        deliver(srv, b)
    stored = [srv.read_message(p) for p in srv.wait_messages(2)]
    out = tmp_path / "out"
    out.mkdir()
    mda = tmp_path / "mda.sh"
    mda.write_text(MDA)
    mda.chmod(0o755)
    rc = tmp_path / "fetchmailrc"
    # "ssl": TLS from the first byte; sslproto without it: STARTTLS, which
    # sslcertck makes mandatory
    port, mode = ((srv.imaps, "ssl") if tls == "implicit"
                  else (srv.imap, "sslproto tls1.2+"))
    rc.write_text(
        f'poll localhost protocol IMAP port {port} auth password\n'
        f'  user "{ALICE}" password "{PASSWORD}" is root here\n'
        f'  {mode} sslcertck sslcertfile "{srv.pki["ca"]}"\n'
        f'  mda "{mda} {out}"\n')
    rc.chmod(0o600)
    home = str(tmp_path)
    r = subprocess.run(["fetchmail", "-f", str(rc), "-N", "--nosyslog",
                        "--invisible", "-v"],
                       env={"HOME": home, "PATH": os.environ["PATH"],
                            "FETCHMAILHOME": home},
                       capture_output=True, timeout=60)
    log = r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")
    assert r.returncode == 0, log
    # fetchmail hands the MDA LF line ends and, with --invisible, adds no
    # Received field: what arrives is what the server stored
    got = sorted(p.read_bytes() for p in out.iterdir())
    assert got == sorted(b.replace(b"\r\n", b"\n") for b in stored), log
    if tls == "starttls":
        assert "IMAP> A0001 STARTTLS" in log, log
    assert all(b"Body of message" in g for g in got)
    # fetched messages were deleted (fetchmail's default without --keep)
    assert server_box(srv, "INBOX") == {}
    # a second run finds nothing (fetchmail exits 1: no mail)
    r = subprocess.run(["fetchmail", "-f", str(rc), "-N", "--nosyslog"],
                       env={"HOME": home, "PATH": os.environ["PATH"],
                            "FETCHMAILHOME": home},
                       capture_output=True, timeout=60)
    assert r.returncode == 1, r.stdout + r.stderr
    assert len(list(out.iterdir())) == 2


# ------------------------------------------------------------------ getmail6

GETMAIL_MDA = """#!/bin/sh
# one file per message, named by a counter kept beside them
dir="$1"
n=$(ls "$dir" | wc -l)
cat > "$dir/msg.$n"
"""


def getmailrc(s, mda, out, ca, delete):
    # ca_certs: the certificate is verified, and its name
    # (ssl_cert_hostname); an external MDA, because getmail's own mbox and
    # Maildir writers refuse to run as root (as the tests may);
    # record_mailbox off: no X-getmail-retrieved-from-mailbox field, so
    # what arrives is comparable with what the server stored
    return ("[retriever]\ntype = SimpleIMAPSSLRetriever\n"
            f"server = 127.0.0.1\nport = {s.imaps}\n"
            f"username = {ALICE}\npassword = {PASSWORD}\n"
            f"ca_certs = {ca}\nssl_cert_hostname = localhost\n"
            "mailboxes = (\"INBOX\", \"Work\")\nrecord_mailbox = false\n"
            f"[destination]\ntype = MDA_external\npath = {mda}\n"
            f"arguments = (\"{out}\",)\n"
            "allow_root_commands = true\nunixfrom = false\n"
            f"[options]\ndelete = {'true' if delete else 'false'}\n"
            "read_all = false\nverbose = 2\n")


def run_getmail(s, tmp_path, out, ca=None, delete=False):
    mda = tmp_path / "mda.sh"
    mda.write_text(GETMAIL_MDA)
    mda.chmod(0o755)
    rc = tmp_path / "getmailrc"
    rc.write_text(getmailrc(s, mda, out, ca or s.pki["ca"], delete))
    return subprocess.run(["getmail", "--getmaildir", str(tmp_path),
                           "--rcfile", str(rc)],
                          capture_output=True, timeout=60)


def from_line_on(body):
    """A message from its From: field on, with LF line ends: getmail puts
    its own Delivered-To, Received and Return-Path fields on top."""
    body = b"\n" + body.replace(b"\r\n", b"\n")
    return body[body.index(b"\nFrom: ") + 1:]


def test_getmail_downloads_over_imaps(srv, tmp_path):
    deliver(srv, message(1, "one"))
    deliver(srv, message(2, "two"))
    srv.wait_messages(2)
    m = login(srv)
    assert m.create("Work")[0] == "OK"
    assert m.append("Work", None, None, message(3, "work"))[0] == "OK"
    m.logout()
    far = {**server_box(srv, "INBOX"), **server_box(srv, "Work")}
    assert len(far) == 3
    out = tmp_path / "out"
    out.mkdir()

    # a CA that did not sign the server's certificate: nothing is read
    r = run_getmail(srv, tmp_path, out, ca=srv.pki["client_ca"])
    log = (r.stdout + r.stderr).decode(errors="replace")
    assert r.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in log, log
    assert list(out.iterdir()) == []

    # the test CA: both folders, every message, byte for byte
    r = run_getmail(srv, tmp_path, out)
    log = (r.stdout + r.stderr).decode(errors="replace")
    assert r.returncode == 0, log
    got = sorted(from_line_on(p.read_bytes()) for p in out.iterdir())
    assert got == sorted(from_line_on(v[1]) for v in far.values()), log
    # delete = false, and getmail reads with BODY.PEEK: the server's
    # messages stay, unflagged
    assert server_box(srv, "INBOX") == {k: v for k, v in far.items()
                                        if k != "client-3@example.test"}
    assert all(v[0] == [] for v in server_box(srv, "Work").values())

    # read_all = false: getmail remembers UIDVALIDITY/UID per folder; a
    # second run retrieves only the new message. With delete = true it
    # deletes what it has seen, old and new, in both folders (STORE
    # \Deleted, then EXPUNGE on close)
    deliver(srv, message(4, "four"))
    srv.wait_messages(3)
    r = run_getmail(srv, tmp_path, out, delete=True)
    log = (r.stdout + r.stderr).decode(errors="replace")
    assert r.returncode == 0, log
    assert "1 messages (" in log and "retrieved, 3 skipped" in log, log
    assert len(list(out.iterdir())) == 4, log
    assert from_line_on((out / "msg.3").read_bytes()) == \
        from_line_on(message(4, "four")), log
    assert server_box(srv, "INBOX") == {} and server_box(srv, "Work") == {}
    assert srv.messages() == []


# ------------------------------------------------------------------ neomutt

NEOMUTTRC = """set imap_user="{user}"
set imap_pass="{password}"
set ssl_ca_certificates_file="{ca}"
set ssl_force_tls=yes
set folder="imaps://localhost:{port}/"
set spoolfile="+INBOX"
set mbox_type=mbox
set confirmcreate=no
set confirmappend=no
set quit=yes
set move=no
set delete=yes
set mark_old=no
set wait_key=no
set header_cache=""
set message_cachedir=""
"""


def run_neomutt(s, home, box, keys):
    rc = f"{home}/neomuttrc"
    with open(rc, "w") as f:
        f.write(NEOMUTTRC.format(user=ALICE, password=PASSWORD, ca=s.pki["ca"],
                                 port=s.imaps))
    argv = ["neomutt", "-n", "-F", rc, "-f",
            f"imaps://localhost:{s.imaps}/{box}", "-e", f'push "{keys}"']
    line = " ".join("'" + a.replace("'", "'\\''") + "'" for a in argv)
    r = subprocess.run(["script", "-qec", line, "/dev/null"],
                       env={"HOME": home, "PATH": os.environ["PATH"],
                            "TERM": "vt100"},
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    assert r.returncode == 0, r.stdout[-3000:]
    return r.stdout.decode(errors="replace")


def mbox_messages(path):
    """The messages of an mbox neomutt wrote, without the From_ line and the
    Content-Length and Lines fields it adds."""
    with open(path, "rb") as f:
        parts = re.split(rb"(?m)^From [^\n]*\n", f.read())[1:]
    out = []
    for p in parts:
        p = re.sub(rb"(?m)^(Content-Length|Lines): [^\n]*\n", b"", p)
        out.append(p[:-1] if p.endswith(b"\n\n") else p)
    return out


def test_neomutt_reads_a_folder_and_flags_a_message(srv, tmp_path):
    home = str(tmp_path)
    m = login(srv)
    assert m.create("Lists")[0] == "OK"
    for n in (1, 2, 3):
        assert m.append("Lists", None, None, message(n, f"list {n}"))[0] == "OK"
    m.logout()
    far = server_box(srv, "Lists")
    out = f"{home}/saved.mbox"
    # tag all, copy them to a local mbox, flag the first one, delete the
    # third, sync (STORE and EXPUNGE), quit
    run_neomutt(srv, home, "Lists",
                f"<tag-pattern>~A<enter><tag-prefix><copy-message>{out}<enter>"
                "<untag-pattern>~A<enter><first-entry><flag-message>"
                "<last-entry><delete-message><sync-mailbox><quit>")
    got = mbox_messages(out)
    assert [plain(g) for g in got] == [plain(far[f"client-{n}@example.test"][1])
                                       for n in (1, 2, 3)]
    after = server_box(srv, "Lists")
    assert set(after) == {"client-1@example.test", "client-2@example.test"}
    assert after["client-1@example.test"][0] == ["\\Flagged"]
    assert after["client-2@example.test"][0] == []
