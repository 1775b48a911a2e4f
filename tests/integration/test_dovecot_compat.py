"""Dovecot reads what Postern writes, and the reverse (issue 6: an operator
can point Dovecot at Postern's Maildirs). A real Dovecot (Debian's
dovecot-core, its doveadm tool, with only its auth service running) opens
the Maildir of a user Postern has delivered to and flagged over IMAP, and
must see the same folders, UIDs, flags and keywords; then doveadm changes
flags and moves a message, and Postern's IMAP must see those changes.
What is shared is listed in docs/dovecot.md."""
import os
import pwd
import re
import subprocess
import time

import pytest

from conftest import DOMAIN
from test_imap import ALICE, deliver, imap_server, implicit

SUBJECTS = ["first", "second", "third"]


def message(subject):
    return (f"From: <bob@imap-sender.example>\r\nTo: <{ALICE}>\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject}@imap-sender.example>\r\n\r\nbody of {subject}\r\n"
            ).encode()


@pytest.fixture
def dovecot(tmp_path):
    """A Dovecot with only its auth service (doveadm looks users up
    through it); the one user's home is the Maildir given to use()."""
    pw = pwd.getpwnam("postern")
    run = tmp_path / "run"
    run.mkdir()
    conf = tmp_path / "dovecot.conf"

    def use(maildir):
        conf.write_text(
            f"protocols =\nlisten = 127.0.0.1\nssl = no\nbase_dir = {run}\n"
            f"state_dir = {run}\nlog_path = {tmp_path}/dovecot.log\n"
            f"first_valid_uid = 1\nmail_location = maildir:{maildir}:LAYOUT=maildir++\n"
            "passdb {\n  driver = static\n  args = nopassword=y\n}\n"
            f"userdb {{\n  driver = static\n  args = uid={pw.pw_uid} gid={pw.pw_gid} "
            f"home={tmp_path}\n}}\n")
        proc = subprocess.Popen(["dovecot", "-F", "-c", str(conf)])
        deadline = time.time() + 10
        while not (run / "auth-userdb").exists():
            assert time.time() < deadline and proc.poll() is None, "dovecot did not start"
            time.sleep(0.05)
        procs.append(proc)

    def adm(*args):
        p = subprocess.run(["doveadm", "-c", str(conf), *args], capture_output=True,
                           text=True, timeout=30)
        assert p.returncode == 0, p.stdout + p.stderr
        return p.stdout

    procs = []
    use.adm = adm
    yield use
    for proc in procs:
        subprocess.run(["doveadm", "-c", str(conf), "stop"], capture_output=True)
        proc.wait(timeout=10)


def records(text):
    """doveadm -f tab output: a header line of field names, a row each."""
    lines = text.rstrip("\n").split("\n")
    names = lines[0].split("\t")
    return [dict(zip(names, line.split("\t"))) for line in lines[1:]]


def test_dovecot_and_postern_see_the_same_mailbox(make_server, dovecot):
    s = imap_server(make_server)
    for subject in SUBJECTS:
        deliver(s, ALICE, message(subject))
    m = implicit(s)
    m.select("INBOX")
    deadline = time.time() + 10
    while int(m.select("INBOX")[1][0]) < 3:
        assert time.time() < deadline
        time.sleep(0.05)
    typ, data = m.uid("SEARCH", None, "ALL")
    uids = [int(u) for u in data[0].split()]
    assert len(uids) == 3
    m.uid("STORE", str(uids[0]), "+FLAGS", r"(\Seen)")
    m.uid("STORE", str(uids[1]), "+FLAGS", r"(\Flagged $Important)")
    m.create("Work")
    m.uid("COPY", str(uids[2]), "Work")
    m.logout()

    maildir = os.path.join(s.data, "mail", DOMAIN, "alice")
    dovecot(maildir)
    got = records(dovecot.adm("-f", "tab", "fetch", "-u", "alice",
                              "mailbox uid flags hdr.subject", "mailbox", "*"))
    seen = {(r["mailbox"], r["hdr.subject"]): r for r in got}
    assert ("INBOX", "first") in seen, got
    inbox = {subj: seen[("INBOX", subj)] for subj in SUBJECTS}
    # the same UIDs as Postern gave, in the same order
    assert [int(inbox[subj]["uid"]) for subj in SUBJECTS] == uids
    assert "\\Seen" in inbox["first"]["flags"].split()
    assert {"\\Flagged", "$Important"} <= set(inbox["second"]["flags"].split())
    assert "\\Seen" not in inbox["third"]["flags"].split()
    assert ("Work", "third") in seen
    assert "Work" in dovecot.adm("mailbox", "list", "-u", "alice").split()

    # the reverse: Dovecot flags one and moves another; Postern sees it
    dovecot.adm("flags", "add", "-u", "alice", "\\Answered $Later", "mailbox", "INBOX",
                "uid", str(uids[2]))
    dovecot.adm("move", "-u", "alice", "Work", "mailbox", "INBOX", "uid", str(uids[0]))
    m = implicit(s)
    typ, data = m.select("INBOX")
    assert int(data[0]) == 2
    typ, data = m.uid("FETCH", f"{uids[1]}:{uids[2]}", "(UID FLAGS)")
    flags = {int(re.search(rb"UID (\d+)", d).group(1)): d for d in data if d}
    assert b"\\Answered" in flags[uids[2]] and b"$Later" in flags[uids[2]], data
    assert b"\\Flagged" in flags[uids[1]], data
    typ, data = m.select("Work")
    assert int(data[0]) == 2
    typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    subjects = sorted(re.search(rb"Subject: (\w+)", d[1]).group(1).decode()
                      for d in data if isinstance(d, tuple))
    assert subjects == ["first", "third"]
    m.logout()
