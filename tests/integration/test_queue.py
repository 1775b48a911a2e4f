"""postern queue list|show|flush|hold|release|delete: against a running
server (told through its control socket) and with the server stopped; the
peers are real (aiosmtpd) and their retries are an hour away, so only the
commands make anything happen."""
import os
import re
import socket
import stat
import subprocess
import time

from conftest import BIN, free_port
from test_outbound import ALICE, outbound_server, peer, submit, write_queue_file, zone  # noqa: F401

SLOW_RETRY = {"queue": {"retry_min": "1h", "retry_max": "1h"}}


def deferred_message(make_server, pki, peer, domain, ip):  # noqa: F811
    """A server holding one message to later@domain that its MX deferred
    once (451); the next attempt would be accepted."""
    port = free_port()
    zone(domain, mx=[(10, f"mx.{domain}")], a={f"mx.{domain}": ip})
    rec = peer(ip, port, rcpt_replies={f"later@{domain}": ["451 4.3.0 try again", "250 ok"]})
    s = outbound_server(make_server, pki, port, extra=SLOW_RETRY)
    submit(s, [f"later@{domain}"], subject="queued for a while")
    s.wait_log(r"event=retry-scheduled attempt=1 retry_in=3\d\d\d")
    [qid] = s.queue_files()
    return s, rec, qid


def queue(s, *args, check=True):
    return s.cli("queue", *args, check=check)


def test_list_show_and_flush(make_server, pki, peer):  # noqa: F811
    s, rec, qid = deferred_message(make_server, pki, peer, "destq1.example", "127.0.0.20")
    out = queue(s, "list").stdout
    assert re.search(rf"^{qid}  queued  \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC  \d+ B  "
                     rf"from <{re.escape(ALICE)}>$", out, re.M), out
    assert re.search(r"^    1 attempt, next \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$", out, re.M), out
    assert "    <later@destq1.example>  waiting: 451 4.3.0 try again\n" in out
    assert out.endswith("-- 1 message (0 held), " + out.rsplit(", ", 1)[1])

    shown = queue(s, "show", qid).stdout
    assert f"id        {qid}\nstate     queued\n" in shown
    assert f"from      <{ALICE}>\nclient    127.0.0.1 (helo " in shown
    assert "rcpt      <later@destq1.example>  waiting: 451 4.3.0 try again\n" in shown
    assert "\nSubject: queued for a while\n" in shown and shown.endswith("hello from postern\n")

    assert rec.messages == []
    out = queue(s, "flush").stdout
    assert out == "queue: 1 tried now, 0 already under way\n"
    assert rec.wait(s)[0][1] == ["later@destq1.example"]
    s.wait_log(rf"queue={qid} event=removed")
    assert queue(s, "list").stdout == "the queue is empty\n"
    assert "event=flush by=admin messages=1" in s.log()


def test_hold_and_release(make_server, pki, peer):  # noqa: F811
    s, rec, qid = deferred_message(make_server, pki, peer, "destq2.example", "127.0.0.21")
    assert queue(s, "hold", qid).stdout == f"{qid}: held\n"
    s.wait_log(rf"queue={qid} event=held by=admin")
    assert s.queue_files() == []
    assert os.listdir(os.path.join(s.data, "spool", "hold")) == [qid]
    assert f"{qid}  held  " in queue(s, "list").stdout
    # a held message is not tried, not even when asked
    assert queue(s, "flush").stdout == "queue: 0 tried now, 0 already under way\n"
    p = queue(s, "flush", qid, check=False)
    assert p.returncode == 1 and p.stdout == f"{qid}: error: it is held: release it\n"
    p = queue(s, "hold", qid, check=False)
    assert p.returncode == 1 and "it is already held" in p.stderr
    time.sleep(0.5)
    assert rec.messages == []

    out = queue(s, "release", qid).stdout
    assert out == f"{qid}: released; the server says: ok trying now\n"
    assert rec.wait(s)[0][1] == ["later@destq2.example"]
    s.wait_log(rf"queue={qid} event=removed")
    p = queue(s, "release", qid, check=False)
    assert p.returncode == 1 and "no such message" in p.stderr


def test_delete_sends_nothing_and_bounces_nothing(make_server, pki, peer):  # noqa: F811
    s, rec, qid = deferred_message(make_server, pki, peer, "destq3.example", "127.0.0.22")
    status = os.path.join(s.data, "spool", "status", qid)
    assert os.path.exists(status)     # the deferral was noted
    assert queue(s, "delete", qid).stdout == f"{qid}: deleted\n"
    s.wait_log(rf"queue={qid} event=deleted by=admin")
    assert s.queue_files() == [] and not os.path.exists(status)
    assert queue(s, "flush").stdout == "queue: 0 tried now, 0 already under way\n"
    time.sleep(0.5)
    assert rec.messages == [] and s.messages("alice") == []
    p = queue(s, "show", qid, check=False)
    assert p.returncode == 1 and "no such message" in p.stderr


def test_commands_with_the_server_stopped(make_server, pki, peer):  # noqa: F811
    port = free_port()
    zone("destq4.example", mx=[(10, "mx.destq4.example")], a={"mx.destq4.example": "127.0.0.23"})
    rec = peer("127.0.0.23", port)
    s = outbound_server(make_server, pki, port, extra=SLOW_RETRY)
    s.stop()
    qid = write_queue_file(s, "x@destq4.example", b"Subject: offline\n\nbody\n")
    p = queue(s, "flush", check=False)
    assert p.returncode == 1 and "the server is not running" in p.stderr
    assert queue(s, "hold", qid).stdout == f"{qid}: held (the server is not running)\n"
    # started again, the server leaves the held message alone
    s.start()
    time.sleep(0.5)
    assert rec.messages == [] and s.queue_files() == []
    assert f"{qid}  held  " in queue(s, "list").stdout
    queue(s, "release", qid)
    assert rec.wait(s)[0][1] == ["x@destq4.example"]


def test_attempts_survive_a_restart(make_server, pki, peer):  # noqa: F811
    port = free_port()
    zone("destq5.example", mx=[(10, "mx.destq5.example")], a={"mx.destq5.example": "127.0.0.24"})
    peer("127.0.0.24", port, rcpt_replies={"later@destq5.example": ["451 4.3.0 not yet"]})
    s = outbound_server(make_server, pki, port, extra=SLOW_RETRY)
    submit(s, ["later@destq5.example"])
    s.wait_log(r"event=retry-scheduled attempt=1 ")
    s.restart()   # tried again at start-up: the backoff goes on from there
    s.wait_log(r"event=retry-scheduled attempt=2 ")
    assert "    2 attempts, next " in queue(s, "list").stdout


def control(s, data, timeout=5):
    c = socket.socket(socket.AF_UNIX)
    c.settimeout(timeout)
    c.connect(os.path.join(s.data, "control"))
    out = b""
    try:
        c.sendall(data)
        while not out.endswith(b"\n"):
            got = c.recv(4096)
            if not got:
                break
            out += got
    except (BrokenPipeError, ConnectionResetError):   # closed unanswered
        pass
    c.close()
    return out


def test_control_socket_refuses_bad_requests(make_server):
    s = make_server()
    path = os.path.join(s.data, "control")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert control(s, b"x" * 600) == b"error request line too long\n"
    assert control(s, b"frobnicate 0000000000ABC000\n") == b"error unknown command\n"
    assert control(s, b"flush ../../../etc/passwd\n") == \
        b"error expected a command and a queue id\n"
    assert control(s, b"deleted\n") == b"error expected a command and a queue id\n"
    assert control(s, b"flush 0000000000ABC000\n") == b"error no such message\n"
    assert control(s, b"flu\x00sh\n") == b"error NUL in the request\n"
    # idle clients beyond the limit are turned away; the rest keep working
    idle = []
    for _ in range(8):
        c = socket.socket(socket.AF_UNIX)
        c.connect(path)
        idle.append(c)
    time.sleep(0.3)
    assert control(s, b"flush\n") == b""     # closed unanswered
    for c in idle:
        c.close()
    time.sleep(0.3)
    assert control(s, b"flush\r\n") == b"ok 0 tried now, 0 already under way\n"


def test_a_second_server_on_the_same_data_directory_refuses_to_start(make_server):
    s = make_server()
    with open(s.conf) as f:
        conf = re.sub(r"address = 127\.0\.0\.1:\d+", lambda m: f"address = 127.0.0.1:{free_port()}",
                      f.read())
    other = os.path.join(s.dir, "second.conf")
    with open(other, "w") as f:
        f.write(conf)
    p = subprocess.run([BIN, "-c", other, "serve"], capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert "another server is running on this data directory" in p.stdout + p.stderr
    assert control(s, b"flush\n") == b"ok 0 tried now, 0 already under way\n"   # still ours
