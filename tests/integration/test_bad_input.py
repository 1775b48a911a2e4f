"""Bad input gets a clear reply and loses nothing: every case of the issue,
each checked for the exact reply, for what landed (nothing), and for the
session still being in step afterwards."""
import os
import socket
import time

import pytest

from conftest import DOMAIN, send_message

RCPT = f"alice@{DOMAIN}"


def in_step(c):
    """The session still answers the next command with its own reply."""
    c.cmd("NOOP", 250, "2.0.0")


def test_command_line_limit(server, chat):
    c = chat(server.port)
    c.greet()
    ok = "NOOP " + "x" * (512 - len("NOOP ") - 2)    # 512 with CRLF
    c.cmd(ok, 250)
    c.cmd(ok + "y", 500, "5.5.2 Line too long")      # 513
    in_step(c)
    c.send("NOOP " + "z" * 100000 + "\r\n")          # far too long
    c.expect(500, "5.5.2")
    in_step(c)


def test_text_line_limit(server, chat):
    c = chat(server.port)
    c.greet()
    before = len(server.messages())
    line = b"x" * 998 + b"\r\n"                        # 1000: allowed
    send_message(c, "a@other.example", [RCPT], b"Subject: ok\r\n\r\n" + line)
    send_message(c, "a@other.example", [RCPT],
                 b"Subject: long\r\n\r\n" + b"x" + line, code=500)  # 1001
    in_step(c)
    server.wait_messages(before + 1)
    time.sleep(0.3)
    assert len(server.messages()) == before + 1
    assert server.tmp_files() == []


def test_size_limit(make_server, chat):
    s = make_server(settings={"smtp": {"max_message_size": "10K"}})
    c = chat(s.port)
    c.greet()
    c.cmd("MAIL FROM:<a@other.example> SIZE=10241", 552, "5.3.4")
    c.cmd("MAIL FROM:<a@other.example> SIZE=10240", 250)
    c.cmd(f"RCPT TO:<{RCPT}>", 250)
    c.cmd("DATA", 354)
    c.send(b"Subject: big\r\n\r\n" + (b"y" * 98 + b"\r\n") * 200 + b".\r\n")
    c.expect(552, "5.3.4")
    in_step(c)
    time.sleep(0.3)
    assert s.queue_files() == [] and s.tmp_files() == [] and s.messages() == []


def test_recipient_limit(make_server, chat):
    s = make_server(settings={"smtp": {"max_recipients": "3"}})
    c = chat(s.port)
    c.greet()
    c.cmd("MAIL FROM:<a@other.example>", 250)
    for _ in range(3):
        c.cmd(f"RCPT TO:<{RCPT}>", 250)
    c.cmd(f"RCPT TO:<bob@{DOMAIN}>", 452, "4.5.3")
    c.cmd("DATA", 354)
    c.send(b"Subject: three\r\n\r\nx\r\n.\r\n")
    c.expect(250)
    s.wait_messages(1)
    assert s.messages("bob") == []


@pytest.mark.parametrize("script", [
    [("MAIL FROM:<a@other.example>", 503, "HELO or EHLO first")],
    [("EHLO x", 250, None), ("RCPT TO:<%s>" % RCPT, 503, "Need MAIL")],
    [("EHLO x", 250, None), ("DATA", 503, "Need MAIL and RCPT")],
    [("EHLO x", 250, None), ("MAIL FROM:<a@b.example>", 250, None),
     ("MAIL FROM:<a@b.example>", 503, "Nested MAIL")],
    [("EHLO x", 250, None), ("MAIL FROM:<a@b.example>", 250, None),
     ("STARTTLS", 503, "inside a transaction")],
])
def test_commands_out_of_order(server, chat, script):
    c = chat(server.port)
    c.expect(220)
    for line, code, text in script:
        c.cmd(line, code, text)
    in_step(c)


@pytest.mark.parametrize("body,what", [
    (b"Subject: x\r\n\r\nbare\nLF\r\n", "bare LF"),
    (b"Subject: x\r\n\r\nbare\rCR\r\n", "bare CR"),
    # SMTP smuggling (CVE-2023-51764 class): a fake end of data and a second
    # message hidden behind it must stay inside the first message
    (b"Subject: x\r\n\r\nhi\n.\nMAIL FROM:<evil@other.example>\nRCPT TO:<%s>\n"
     b"DATA\nSubject: smuggled\n\nowned\n.\n\r\n" % RCPT.encode(), "\\n.\\n"),
    (b"Subject: x\r\n\r\nhi\n.\r\nMAIL FROM:<evil@other.example>\r\n", "\\n.\\r\\n"),
    (b"Subject: x\r\n\r\nhi\r\n.\nMAIL FROM:<evil@other.example>\r\n", "\\r\\n.\\n"),
    (b"Subject: x\r\n\r\nhi\r.\r\nMAIL FROM:<evil@other.example>\r\n", "\\r.\\r\\n"),
])
def test_bare_line_ends_are_refused_and_never_end_data(server, chat, body, what):
    before = len(server.messages())
    c = chat(server.port)
    c.greet()
    send_message(c, "a@other.example", [RCPT], body, code=554)
    in_step(c)   # exactly one reply to the whole DATA: nothing was smuggled
    c.cmd("QUIT", 221)
    time.sleep(0.3)
    assert len(server.messages()) == before, what


def test_nul_bytes(server, chat):
    c = chat(server.port)
    c.greet()
    c.send(b"NOOP \x00\r\n")
    c.expect(500, "5.5.2")
    send_message(c, "a@other.example", [RCPT], b"Subject: x\r\n\r\na\x00b\r\n",
                 code=554)
    in_step(c)


@pytest.mark.parametrize("line,code,status", [
    ("MAIL FROM:<;sleep 66;>", 501, "5.1.7"),                 # CVE-2020-7247
    ("MAIL FROM:<`id`@other.example>", 250, None),            # valid atext
    ("MAIL FROM:<a@other.example> BODY=8BITMIME\rRCPT", 500, "5.5.2"),
    ("MAIL FROM:<a@$(id).example>", 501, "5.1.7"),
    ("MAIL FROM:<a@other.example> X-EVIL=|sh", 555, "5.5.4"),
    ("MAIL FROM:<a@other.example> SIZE=1;reboot", 501, "5.5.4"),
    ("MAIL FROM:<a\"b@other.example>", 501, "5.1.7"),
    ("MAIL FROM:a@other.example", 501, "5.1.7"),
    ("MAIL FROM:<a@other.example> BODY=BINARYMIME", 501, "5.5.4"),
])
def test_hostile_addresses_and_parameters(server, chat, line, code, status):
    c = chat(server.port)
    c.greet()
    c.cmd(line, code, status)
    in_step(c)


def test_eight_bit_address_needs_smtputf8(server, chat):
    c = chat(server.port)
    c.greet()
    c.send("MAIL FROM:<m\u00fcller@other.example>\r\n".encode())
    c.expect(553, "5.6.7")
    c.send(b"MAIL FROM:<\xff\xfe@other.example> SMTPUTF8\r\n")   # not UTF-8
    c.expect(501, "5.1.7")
    c.cmd("MAIL FROM:<a@other.example>", 250)
    c.send(f"RCPT TO:<\u00e4@{DOMAIN}>\r\n".encode())
    c.expect(553, "5.6.7")


def test_too_many_errors(make_server, chat):
    s = make_server(settings={"smtp": {"max_errors": "5"}})
    c = chat(s.port)
    c.greet()
    for _ in range(4):
        c.cmd("BOGUS", 500)
    c.send("BOGUS\r\n")
    c.expect(500)
    c.expect(421, "4.7.0 Too many errors")
    assert c.closed()


def test_idle_client_times_out(make_server, chat):
    s = make_server(settings={"smtp": {"timeout_command": "1s"}})
    c = chat(s.port)
    c.greet()
    t0 = time.time()
    c.expect(421, "4.4.2")
    assert 0.8 < time.time() - t0 < 3
    assert c.closed()


def test_dribbling_client_does_not_extend_the_deadline(make_server, chat):
    s = make_server(settings={"smtp": {"timeout_command": "1500ms"}})
    c = chat(s.port)
    c.greet()
    t0 = time.time()
    for ch in "NOOP":        # one byte every 0.5 s: never a whole command
        c.send(ch)
        time.sleep(0.5)
    c.expect(421, "4.4.2")
    assert time.time() - t0 < 2.5


def test_data_timeout(make_server, chat):
    s = make_server(settings={"smtp": {"timeout_data": "1s"}})
    c = chat(s.port)
    c.greet()
    c.cmd("MAIL FROM:<a@other.example>", 250)
    c.cmd(f"RCPT TO:<{RCPT}>", 250)
    c.cmd("DATA", 354)
    c.send(b"Subject: half\r\n\r\nhalf a mess")
    c.expect(421, "4.4.2")
    assert c.closed()
    time.sleep(0.2)
    assert s.tmp_files() == [] and s.queue_files() == [] and s.messages() == []


def test_connections_per_ip_are_capped(make_server, chat):
    s = make_server(settings={"smtp": {"max_connections_per_ip": "3"}})
    held = [chat(s.port) for _ in range(3)]
    for c in held:
        c.expect(220)
    c = chat(s.port)
    c.expect(421, "4.7.0 Too many connections from your address")
    assert c.closed()
    other = chat(s.port, source="127.0.0.2")   # another address is fine
    other.expect(220)
    held[0].cmd("QUIT", 221)
    assert held[0].closed()
    time.sleep(0.2)
    again = chat(s.port)
    again.expect(220)


def test_thousand_dribbling_connections_do_not_stop_a_normal_client(make_server, chat):
    s = make_server(settings={"smtp": {"max_connections_per_ip": "2000",
                                        "max_connections": "3000"}})
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2200:
        pytest.skip(f"this machine allows only {hard} open files per process")
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    slow = []
    try:
        for _ in range(1000):
            sock = socket.create_connection(("127.0.0.1", s.port))
            sock.sendall(b"EH")       # and then nothing more
            slow.append(sock)
        c = chat(s.port, source="127.0.0.2")
        t0 = time.time()
        c.greet()
        send_message(c, "a@other.example", [RCPT], b"Subject: through\r\n\r\nx\r\n")
        c.cmd("QUIT", 221)
        assert time.time() - t0 < 2
        s.wait_messages(1)
    finally:
        for sock in slow:
            sock.close()


def test_mail_loop(make_server, chat):
    s = make_server(settings={"smtp": {"max_hops": "5"}})
    c = chat(s.port)
    c.greet()
    hops = b"".join(b"Received: from h%d.example by h%d.example; "
                    b"Mon, 23 Nov 2026 10:00:00 +0000\r\n" % (i, i + 1) for i in range(5))
    send_message(c, "a@other.example", [RCPT], hops + b"Subject: 5 hops\r\n\r\nx\r\n")
    send_message(c, "a@other.example", [RCPT],
                 hops + b"received:  from h9.example\r\n\tby h10.example; x\r\n"
                 b"Subject: 6 hops\r\n\r\nx\r\n", code=554)
    in_step(c)
    assert len(s.wait_messages(1)) == 1


def test_http_request_closes_the_connection(server, chat):
    c = chat(server.port)
    c.expect(220)
    c.send(b"POST / HTTP/1.1\r\nHost: mx\r\nContent-Length: 20\r\n\r\nMAIL FROM:<a@b.c>\r\n")
    c.expect(421, "4.7.0")
    assert c.closed()
