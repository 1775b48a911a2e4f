"""Nothing acknowledged is lost, nothing half-received is delivered, and a
crash never makes a second copy: kill -9 at the awkward moments, damaged
queue files at start-up, failing deliveries, quotas, and the order of the
system calls behind a 250 as strace sees it."""
import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import DOMAIN, send_message

RCPT = f"alice@{DOMAIN}"
BODY = b"Subject: durable\r\n\r\nkeep me\r\n"


def block_delivery(s, user="alice"):
    os.chmod(os.path.join(s.maildir(user), "tmp"), 0o500)


def unblock_delivery(s, user="alice"):
    os.chmod(os.path.join(s.maildir(user), "tmp"), 0o700)


def queued_id(reply):
    return re.search(r"queued as ([0-9A-F]{16})", reply).group(1)


def test_kill_during_data_delivers_nothing(make_server, chat):
    s = make_server()
    c = chat(s.port)
    c.greet()
    c.cmd("MAIL FROM:<a@other.example>", 250)
    c.cmd(f"RCPT TO:<{RCPT}>", 250)
    c.cmd("DATA", 354)
    c.send(b"Subject: half\r\n\r\n" + b"x" * 400000)   # spilled to spool/tmp
    s.wait_log(r"event=rcpt")
    time.sleep(0.3)
    assert s.tmp_files() != []
    s.kill9()
    s.start()
    s.wait_log(r"event=discarded")
    time.sleep(0.5)
    assert s.messages() == [] and s.queue_files() == [] and s.tmp_files() == []


def test_kill_right_after_250_delivers_exactly_once(make_server, chat):
    s = make_server()
    block_delivery(s)
    c = chat(s.port)
    c.greet()
    qid = queued_id(send_message(c, "a@other.example", [RCPT], BODY))
    s.kill9()                      # right after the 250: still queued
    assert s.queue_files() == [qid]
    unblock_delivery(s)
    s.start()
    s.wait_log(rf"queue={qid} event=removed")
    msgs = s.wait_messages(1)
    assert len(msgs) == 1 and f".Q{qid}R0." in msgs[0]
    assert s.read_message(msgs[0]).endswith(b"\n\nkeep me\n")


@pytest.mark.parametrize("read_first", [False, True])
def test_recovery_after_a_crash_between_delivery_and_dequeue(make_server, chat,
                                                             read_first):
    """The mailbox has the message but the queue file survived the crash:
    the restart must not deliver a second copy, whether the message is still
    in new/ or a reader already moved it to cur/ with flags."""
    s = make_server()
    block_delivery(s)
    c = chat(s.port)
    c.greet()
    qid = queued_id(send_message(c, "a@other.example", [RCPT, f"bob@{DOMAIN}"], BODY))
    s.wait_log(rf"queue={qid} event=deferred")
    saved = os.path.join(s.dir, "saved-" + qid)
    shutil.copy(os.path.join(s.data, "spool", "queue", qid), saved)
    unblock_delivery(s)
    s.wait_log(rf"queue={qid} event=removed")
    [path] = s.messages()
    if read_first:
        os.rename(path, path.replace("/new/", "/cur/") + ":2,S")
    s.stop()
    back = os.path.join(s.data, "spool", "queue", qid)
    shutil.copy(saved, back)
    st = os.stat(s.data)
    os.chown(back, st.st_uid, st.st_gid)   # as the server user left it
    s.start()
    s.wait_log(rf"queue={qid} event=removed", count=2)
    assert len(s.messages()) == 1
    assert len(s.messages("bob")) == 1


def test_corrupt_queue_files_are_moved_aside(make_server, chat):
    s = make_server()
    block_delivery(s)
    c = chat(s.port)
    c.greet()
    qid = queued_id(send_message(c, "a@other.example", [RCPT], BODY))
    s.stop()
    queue = os.path.join(s.data, "spool", "queue")
    with open(os.path.join(queue, qid), "rb") as f:
        good = f.read()
    damaged = {}
    for i, cut in enumerate([0, 10, len(good) // 2, len(good) - 1]):
        name = "%016X" % (0xABC000 + i)
        damaged[name] = good[:cut].replace(qid.encode(), name.encode())
    damaged["%016X" % 0xABCFFF] = good.replace(b"end ", b"END ")
    damaged["not-a-queue-file"] = b"garbage\n"
    for name, data in damaged.items():
        with open(os.path.join(queue, name), "wb") as f:
            f.write(data)
    unblock_delivery(s)
    s.start()
    s.wait_log(rf"queue={qid} event=removed")
    assert len(s.wait_messages(1)) == 1
    assert s.queue_files() == []
    corrupt = os.listdir(os.path.join(s.data, "spool", "corrupt"))
    assert sorted(n.rsplit(".", 1)[0] for n in corrupt) == sorted(damaged)
    assert len(re.findall(r"event=corrupt action=moved-to-corrupt", s.log())) == 6


def test_failed_delivery_is_deferred_and_retried(make_server, chat):
    s = make_server()
    block_delivery(s)
    c = chat(s.port)
    c.greet()
    qid = queued_id(send_message(c, "a@other.example", [RCPT], BODY))
    s.wait_log(rf"queue={qid} event=deferred rcpt=<{RCPT}> .*Permission denied")
    s.wait_log(rf"queue={qid} event=retry-scheduled attempt=1")
    time.sleep(0.5)
    assert s.messages() == [] and s.queue_files() == [qid]
    unblock_delivery(s)
    s.wait_log(rf"queue={qid} event=delivered .* attempt=[2-9]", timeout=10)
    assert len(s.wait_messages(1)) == 1
    assert "bounce" not in s.log()


def test_quota(make_server, chat):
    s = make_server(provision=False, start=False)
    s.cli("domain", "add", DOMAIN)
    s.add_user(RCPT, quota="2K")
    s.start()
    c = chat(s.port)
    c.greet()
    c.cmd("MAIL FROM:<a@other.example> SIZE=5000", 250)
    c.cmd(f"RCPT TO:<{RCPT}>", 452, "4.2.2")
    c.cmd("RSET", 250)
    qid = queued_id(send_message(c, "a@other.example", [RCPT],
                                 b"Subject: q\r\n\r\n" + (b"y" * 98 + b"\r\n") * 15))
    s.wait_log(rf"queue={qid} event=removed")
    qid2 = queued_id(send_message(c, "a@other.example", [RCPT],
                                  b"Subject: q2\r\n\r\n" + (b"z" * 98 + b"\r\n") * 15))
    s.wait_log(rf"queue={qid2} event=deferred .*over quota")
    c.cmd("MAIL FROM:<a@other.example> SIZE=1000", 250)
    c.cmd(f"RCPT TO:<{RCPT}>", 452, "4.2.2")   # would not fit: refused at RCPT
    with open(os.path.join(s.maildir(), "maildirsize")) as f:
        lines = f.read().split("\n")
    assert lines[0] == "2048S"
    assert len(s.messages()) == 1 and s.queue_files() == [qid2]


@pytest.mark.skipif(not shutil.which("strace"), reason="strace missing")
def test_250_comes_after_fsync_rename_and_directory_fsync(make_server, chat):
    """Seen from outside with strace: the queue file is fdatasync'd, renamed
    into queue/, and queue/ is fsync'd before the 250 is written."""
    s = make_server()
    trace = os.path.join(s.dir, "strace.out")
    tracer = subprocess.Popen(
        ["strace", "-f", "-p", str(s.proc.pid), "-s", "200", "-o", trace,
         "-e", "trace=openat,fdatasync,fsync,rename,renameat2,sendto,write"],
        stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 10   # wait until every thread is attached
        while time.time() < deadline:
            if tracer.poll() is not None:
                pytest.skip("strace cannot attach here: " + tracer.stderr.read())
            with open(f"/proc/{s.proc.pid}/status") as f:
                threads = int(re.search(r"Threads:\s+(\d+)", f.read()).group(1))
            tracers = 0
            for tid in os.listdir(f"/proc/{s.proc.pid}/task"):
                with open(f"/proc/{s.proc.pid}/task/{tid}/status") as f:
                    tracers += re.search(r"TracerPid:\s+(\d+)", f.read()).group(1) != "0"
            if tracers == threads:
                break
            time.sleep(0.05)
        c = chat(s.port)
        c.greet()
        qid = queued_id(send_message(c, "a@other.example", [RCPT], BODY))
        s.wait_log(rf"queue={qid} event=removed")
    finally:
        tracer.send_signal(2)   # strace detaches on SIGINT
        tracer.wait(timeout=10)
    with open(trace) as f:
        calls = f.read().splitlines()

    def index(pattern, start=0):
        for i in range(start, len(calls)):
            if re.search(pattern, calls[i]):
                return i, calls[i]
        raise AssertionError(f"{pattern!r} not traced after line {start}")
    i_open, line = index(rf'openat\(.*spool/tmp/{qid}".*O_CREAT.* = (\d+)')
    fd = re.search(r"= (\d+)$", line).group(1)
    i_sync, _ = index(rf"fdatasync\({fd}\)\s+= 0", i_open)
    i_ren, _ = index(rf'renameat2\(.*spool/tmp/{qid}".*spool/queue/{qid}".*= 0', i_sync)
    # the queue directory was opened at start-up, before strace came: its
    # descriptor is the one fsync'd after the rename and before the 250
    i_250, _ = index(rf"(sendto|write)\(\d+, \"250 2.0.0 Ok: queued as {qid}", i_open)
    queue_dir = os.path.join(s.data, "spool", "queue")
    dsyncs = []
    for i in range(i_ren, i_250):
        m = re.search(r"\bfsync\((\d+)\)\s+= 0", calls[i])
        if m and os.readlink(f"/proc/{s.proc.pid}/fd/{m.group(1)}") == queue_dir:
            dsyncs.append(i)
    assert dsyncs, "no fsync of spool/queue between the rename and the 250"
    i_dsync = dsyncs[0]
    assert i_open < i_sync < i_ren < i_dsync < i_250


def test_mailbox_removed_and_made_again(make_server, chat):
    """Removing a Maildir's directories while the server runs: the next
    delivery makes them again and syncs the new new/, not the old one."""
    s = make_server()
    c = chat(s.port)
    c.greet()
    send_message(c, "a@other.example", [RCPT], BODY)
    s.wait_messages(1)
    for sub in ("new", "cur", "tmp"):
        shutil.rmtree(os.path.join(s.maildir(), sub))
    send_message(c, "a@other.example", [RCPT], BODY)
    assert len(s.wait_messages(1)) == 1
