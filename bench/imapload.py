#!/usr/bin/python3
"""imapload.py - the IMAP benchmark's client (bench/imap): one server, one
case, over implicit TLS on 127.0.0.1, with Python's imaplib.

usage: imapload.py CASE PORT USER PASS [ARG]
       imapload.py mkmaildir DIR N       (N messages of about 4 KB, seen)
CASE:
  login      ARG seconds of: connect, LOGIN, SELECT INBOX, LOGOUT (one session
             after another); prints sessions/s
  envelopes  one session: SELECT, FETCH 1:* (ENVELOPE FLAGS); prints msgs/s
  bodies     one session: SELECT, 100 times UID FETCH n BODY.PEEK[] over the
             folder; prints msgs/s and MB/s
  search     one session: SELECT, ARG times SEARCH HEADER Subject "message 77";
             prints searches/s (each scans the whole folder)
  append     one session: APPEND ARG messages of 4 KB to a folder made for it
             (deleted first, so every run starts it empty); prints msgs/s
  appendbig  one session: APPEND ARG messages of 4 KB to INBOX, the big
             folder; prints msgs/s
  sessions   ARG sessions at once, each logged in with INBOX selected and
             FLAGS fetched; then waits for a line on stdin before logging out
             (the driver measures the server's memory meanwhile)
Prints one line: CASE OPS SECS OPS_PER_S [EXTRA]. Any failure exits 1."""
import imaplib
import ssl
import sys
import time


def connect(port, user, pw):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    c = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ctx, timeout=120)
    c.login(user, pw)
    return c


def selected(port, user, pw):
    c = connect(port, user, pw)
    typ, data = c.select("INBOX")
    assert typ == "OK", data
    return c, int(data[0])


def login(port, user, pw, secs):
    n, t0 = 0, time.time()
    while time.time() - t0 < secs:
        c, _ = selected(port, user, pw)
        c.logout()
        n += 1
    return n, time.time() - t0, ""


def envelopes(port, user, pw, _):
    c, exists = selected(port, user, pw)
    t0 = time.time()
    typ, data = c.fetch(f"1:{exists}", "(ENVELOPE FLAGS)")
    secs = time.time() - t0
    assert typ == "OK" and len([d for d in data if d is not None]) >= exists
    c.logout()
    return exists, secs, ""


def bodies(port, user, pw, _):
    c, exists = selected(port, user, pw)
    typ, data = c.uid("SEARCH", None, "ALL")
    uids = data[0].split()
    step = max(1, len(uids) // 100)
    picked = uids[::step][:100]
    t0, octets = time.time(), 0
    for uid in picked:
        typ, data = c.uid("FETCH", uid, "(BODY.PEEK[])")
        assert typ == "OK" and data[0] is not None, data
        octets += len(data[0][1])
    secs = time.time() - t0
    c.logout()
    return len(picked), secs, f"{octets / secs / 1e6:.1f}MB/s"


def search(port, user, pw, times):
    c, _ = selected(port, user, pw)
    t0 = time.time()
    for _ in range(int(times)):
        typ, data = c.search(None, "HEADER", "Subject", '"message 77"')
        assert typ == "OK" and data[0], data
    secs = time.time() - t0
    c.logout()
    return int(times), secs, ""


def append_to(c, box, count):
    body = ("x" * 76 + "\r\n") * 50
    t0 = time.time()
    for i in range(int(count)):
        msg = (f"From: <a@client.test>\r\nTo: <user@local.test>\r\nSubject: append {i}\r\n"
               f"Message-ID: <a{i}@client.test>\r\n\r\n{body}").encode()
        typ, data = c.append(box, None, None, msg)
        assert typ == "OK", data
    return time.time() - t0


def append(port, user, pw, count):
    """To a folder made for it (each run starts it empty)."""
    c = connect(port, user, pw)
    c.delete("Bench")
    assert c.create("Bench")[0] == "OK"
    secs = append_to(c, "Bench", count)
    c.logout()
    return int(count), secs, ""


def appendbig(port, user, pw, count):
    """To INBOX, which holds the N messages (and grows by count a run)."""
    c = connect(port, user, pw)
    secs = append_to(c, "INBOX", count)
    c.logout()
    return int(count), secs, ""


def sessions(port, user, pw, count):
    open_, t0 = [], time.time()
    for _ in range(int(count)):
        c, exists = selected(port, user, pw)
        c.fetch("1:*", "(FLAGS)")
        open_.append(c)
    secs = time.time() - t0
    print("ready", flush=True)
    sys.stdin.readline()
    for c in open_:
        c.logout()
    return int(count), secs, ""


CASES = {"login": login, "envelopes": envelopes, "bodies": bodies,
         "search": search, "append": append, "appendbig": appendbig,
         "sessions": sessions}


def mkmaildir(d, n):
    """The folder both servers read: the same files, Dovecot-style names
    with S= (size) and W= (size with CRLF), already seen."""
    import os
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    body = "".join(f"line {k} of a message body, long enough to look like text\n"
                   for k in range(60))
    for i in range(n):
        msg = (f"From: Sender {i % 97} <s{i % 97}@client.test>\nTo: <user@local.test>\n"
               f"Subject: message {i}\nMessage-ID: <{i}@client.test>\n"
               f"Date: Mon, 23 Nov 2026 10:{i % 60:02d}:00 +0000\n\n{body}").encode()
        lines = msg.count(b"\n")
        name = f"{1764000000 + i}.M{i}P1.bench,S={len(msg)},W={len(msg) + lines}:2,S"
        with open(os.path.join(d, "cur", name), "wb") as f:
            f.write(msg)


def main():
    if sys.argv[1] == "mkmaildir":
        mkmaildir(sys.argv[2], int(sys.argv[3]))
        return
    case, port, user, pw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    arg = sys.argv[5] if len(sys.argv) > 5 else "0"
    ops, secs, extra = CASES[case](port, user, pw, float(arg) if case == "login" else arg)
    print(f"{case} {ops} {secs:.3f} {ops / secs:.1f} {extra}".rstrip())


if __name__ == "__main__":
    main()
