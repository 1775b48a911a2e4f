"""Outbound delivery: MX routing through the test DNS server, TLS policy,
per-recipient results and bounces (RFC 3464), checked against real peers on
127.0.0.x: aiosmtpd for well-behaved servers, and a scripted fake MX that
misbehaves on purpose and records every byte it is sent."""
import asyncio
import email
import os
import re
import smtplib
import socket
import ssl
import threading
import time

import pytest
from aiosmtpd.controller import Controller

from conftest import DOMAIN, HOST, PASSWORD, client_context, dns_zones, free_port, make_cert

ALICE = f"alice@{DOMAIN}"


# ------------------------------------------------------------------ peers

class Recorder:
    """aiosmtpd handler: keeps what it receives; replies from a script."""

    def __init__(self, rcpt_replies=None):
        self.messages = []          # (mail_from, rcpts, content bytes, tls)
        self.rcpt_replies = rcpt_replies or {}  # address -> [replies], used in turn

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        script = self.rcpt_replies.get(address)
        if script:
            reply = script.pop(0) if len(script) > 1 else script[0]
            if not reply.startswith("250"):
                return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                              envelope.original_content or envelope.content,
                              session.ssl is not None))
        return "250 2.0.0 accepted"

    def wait(self, server, n=1, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline and len(self.messages) < n:
            time.sleep(0.05)
        assert len(self.messages) >= n, \
            f"peer got {len(self.messages)} messages; server log:\n" + server.log()
        return self.messages


def tls_context(cert):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert["crt"], cert["key"])
    return ctx


@pytest.fixture
def peer():
    """Factory: peer(ip, port, cert=None, rcpt_replies=None) -> Recorder."""
    controllers = []

    def start(ip, port, cert=None, rcpt_replies=None):
        rec = Recorder(rcpt_replies)
        kw = {"tls_context": tls_context(cert)} if cert else {}
        c = Controller(rec, hostname=ip, port=port, ready_timeout=10, **kw)
        c.start()
        controllers.append(c)
        return rec
    yield start
    for c in controllers:
        c.stop()


class FakeMX(threading.Thread):
    """A scripted SMTP server on one socket: records the raw bytes of every
    connection; options make it misbehave."""

    def __init__(self, ip, port, starttls_cert=None, inject=b"", hang_after_data=False,
                 ehlo_reply=None, data_delay=0.0):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((ip, port))
        self.sock.listen(8)
        self.cert = starttls_cert
        self.inject = inject
        self.hang = hang_after_data
        self.ehlo_reply = ehlo_reply   # bytes sent instead of the EHLO reply
        self.raw = []          # bytes received, per connection
        self.delivered = 0
        self.data_delay = data_delay   # seconds before the reply to the data
        self.lock = threading.Lock()
        self.active = 0        # connections open now
        self.counted = set()   # those counted in active
        self.peak = 0          # the most ever open at once
        self.start()

    def run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
            self.counted.add(conn)
        try:
            self.converse(conn)
        finally:
            self.leave(conn)

    def leave(self, conn):
        """The session is over for the client: from its QUIT (before our
        221, so that a next connection it makes is never counted with this
        one), or when the connection ends."""
        with self.lock:
            if conn in self.counted:
                self.counted.discard(conn)
                self.active -= 1

    def converse(self, conn):
        rec = bytearray()
        self.raw.append(rec)
        f = conn

        def send(b):
            f.sendall(b)

        def line():
            buf = b""
            while not buf.endswith(b"\n"):
                c = f.recv(1)
                if not c:
                    raise EOFError
                buf += c
            rec.extend(buf)
            return buf
        try:
            send(b"220 fake.mx ESMTP\r\n")
            while True:
                cmd = line().upper()
                if cmd.startswith(b"EHLO") and self.ehlo_reply is not None:
                    send(self.ehlo_reply)
                elif cmd.startswith(b"EHLO"):
                    caps = b"250-fake.mx\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
                    if self.cert and not isinstance(f, ssl.SSLSocket):
                        caps += b"250-STARTTLS\r\n"
                    send(caps + b"250 SIZE 1000000\r\n")
                elif cmd.startswith(b"STARTTLS"):
                    # the injected bytes ride in the same packet as the 220
                    send(b"220 go ahead\r\n" + self.inject)
                    ctx = tls_context(self.cert)
                    f = ctx.wrap_socket(conn, server_side=True)
                elif cmd.startswith(b"MAIL") or cmd.startswith(b"RCPT") or \
                        cmd.startswith(b"RSET"):
                    send(b"250 ok\r\n")
                elif cmd.startswith(b"DATA"):
                    send(b"354 go\r\n")
                    while True:
                        data = line()
                        if data == b".\r\n":
                            break
                    if self.hang:
                        time.sleep(30)
                        return
                    time.sleep(self.data_delay)
                    self.delivered += 1
                    send(b"250 2.0.0 queued\r\n")
                elif cmd.startswith(b"QUIT"):
                    self.leave(conn)
                    send(b"221 bye\r\n")
                    return
                else:
                    send(b"502 no\r\n")
        except (EOFError, OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    def wait_end_of_data(self, timeout=15):
        deadline = time.time() + timeout
        while not any(b"\r\n.\r\n" in r for r in self.raw) and time.time() < deadline:
            time.sleep(0.05)
        assert any(b"\r\n.\r\n" in r for r in self.raw), "no message reached the fake MX"

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)   # wakes accept()
        except OSError:
            pass
        self.sock.close()
        self.join(5)


# ------------------------------------------------------------------ helpers

def outbound_server(make_server, pki, port, extra=None, routes=None):
    """A server that delivers to port on the MX hosts the test DNS names,
    trusting the test CA, with quick retries; alice submits on s.sub."""
    sub = free_port()
    settings = {"outbound": {"port": str(port), "ca_file": pki["ca"],
                             "timeout_command": "5s", "timeout_connect": "2s"},
                "queue": {"retry_min": "1s", "retry_max": "1s"}}
    for k, v in (extra or {}).items():
        settings.setdefault(k, {}).update(v)
    for domain, values in (routes or {}).items():
        settings[f"route {domain}"] = values
    s = make_server(settings=settings, start=False, listeners={
        "smtp": {"address": f"127.0.0.1:{free_port()}"},
        "submission": {"address": f"127.0.0.1:{sub}", "role": "submission"},
    })
    s.sub = sub
    s.start()
    return s


def submit(s, rcpts, body=None, subject="outbound"):
    msg = body or (f"From: {ALICE}\r\nTo: {', '.join(rcpts)}\r\nSubject: {subject}\r\n"
                   "\r\nhello from postern\r\n").encode()
    with smtplib.SMTP("127.0.0.1", s.sub, timeout=10) as c:
        c.starttls(context=client_context(s.pki))
        c.login(ALICE, PASSWORD)
        c.sendmail(ALICE, rcpts, msg)


def zone(name, mx=(), a=None):
    """A test zone: MX (pref, host) records and host A records."""
    z = dns_zones()
    z.add_zone(name)
    for pref, host in mx:
        z.mx(name, pref, host)
    for host, ip in (a or {}).items():
        z.a(host, ip)
    return z


def ca_of(pki):
    return {"key": os.path.join(pki["dir"], "ca.key"), "crt": pki["ca"]}


def dsn_for(s, timeout=15):
    """The bounce in alice's mailbox, parsed."""
    path = s.wait_messages(1, "alice", timeout=timeout)[0]
    return email.message_from_bytes(s.read_message(path))


def report_fields(dsn):
    """The message/delivery-status part as text."""
    for part in dsn.walk():
        if part.get_content_type() == "message/delivery-status":
            return part.as_string()
    raise AssertionError("no message/delivery-status part")


# ------------------------------------------------------------------ tests

def test_delivers_to_mx_with_verified_tls(make_server, pki, peer):
    port = free_port()
    cert = make_cert(pki["dir"], ca_of(pki), "mx1.dest1.example", ["DNS:mx1.dest1.example"])
    zone("dest1.example", mx=[(10, "mx1.dest1.example")], a={"mx1.dest1.example": "127.0.0.2"})
    rec = peer("127.0.0.2", port, cert=cert)
    s = outbound_server(make_server, pki, port, routes={"dest1.example": {"tls": "verify"}})
    submit(s, ["friend@dest1.example"])
    mail_from, rcpts, content, tls = rec.wait(s)[0]
    assert (mail_from, rcpts, tls) == (ALICE, ["friend@dest1.example"], True)
    assert b"hello from postern" in content
    s.wait_log(r"event=attempt domain=dest1\.example mx=mx1\.dest1\.example tls=TLSv1\.[23] "
               r"cipher=\S+ verified=yes by=pkix result=session")
    s.wait_log(r"event=removed")
    assert s.queue_files() == []


def test_mx_preference_and_fallback_when_the_first_is_down(make_server, pki, peer):
    port = free_port()
    # mx-a (preferred) has nothing listening; mx-b takes the mail
    zone("dest2.example", mx=[(20, "mx-b.dest2.example"), (10, "mx-a.dest2.example")],
         a={"mx-a.dest2.example": "127.0.0.3", "mx-b.dest2.example": "127.0.0.4"})
    rec = peer("127.0.0.4", port)
    s = outbound_server(make_server, pki, port)
    submit(s, ["friend@dest2.example"])
    rec.wait(s)
    log = s.log()
    first = log.index("mx=mx-a.dest2.example")
    assert "result=failed" in log[first:first + 300]
    assert log.index("mx=mx-b.dest2.example") > first
    assert re.search(r"mx=mx-b\.dest2\.example tls=none .* result=session", log)


def test_null_mx_bounces_at_once(make_server, pki):
    z = zone("nullmx.example")
    z.mx("nullmx.example", 0, ".")
    s = outbound_server(make_server, pki, free_port())
    submit(s, ["someone@nullmx.example"])
    dsn = dsn_for(s)
    assert dsn.get_content_type() == "multipart/report"
    assert dsn["Auto-Submitted"] == "auto-replied"
    fields = str(report_fields(dsn))
    assert "Final-Recipient: rfc822; someone@nullmx.example" in fields
    assert "Status: 5.1.10" in fields
    assert "Action: failed" in fields
    s.wait_log(r"event=removed")
    assert s.queue_files() == []   # the original and the bounce are both done


def test_one_rejected_recipient_of_three_gets_one_bounce(make_server, pki, peer):
    port = free_port()
    zone("dest3.example", mx=[(10, "mx.dest3.example")], a={"mx.dest3.example": "127.0.0.5"})
    rec = peer("127.0.0.5", port,
               rcpt_replies={"bad@dest3.example": ["550 5.1.1 no such user here"]})
    s = outbound_server(make_server, pki, port)
    submit(s, ["one@dest3.example", "bad@dest3.example", "two@dest3.example"])
    msgs = rec.wait(s)
    assert sorted(msgs[0][1]) == ["one@dest3.example", "two@dest3.example"]
    dsn = dsn_for(s)
    fields = str(report_fields(dsn))
    assert fields.count("Final-Recipient:") == 1
    assert "Final-Recipient: rfc822; bad@dest3.example" in fields
    assert "Status: 5.1.1" in fields
    assert "Remote-MTA: dns; mx.dest3.example" in fields
    assert "550 5.1.1 no such user here" in fields
    time.sleep(0.5)
    assert len(s.messages("alice")) == 1 and len(rec.messages) == 1


def test_temporary_failure_is_retried_then_delivered(make_server, pki, peer):
    port = free_port()
    zone("dest4.example", mx=[(10, "mx.dest4.example")], a={"mx.dest4.example": "127.0.0.6"})
    rec = peer("127.0.0.6", port,
               rcpt_replies={"later@dest4.example": ["451 4.3.0 try again", "250 ok"]})
    s = outbound_server(make_server, pki, port)
    submit(s, ["later@dest4.example"])
    s.wait_log(r"event=deferred rcpt=<later@dest4\.example> mx=mx\.dest4\.example "
               r"reply=\"451 4\.3\.0 try again\"")
    assert rec.wait(s, timeout=20)[0][1] == ["later@dest4.example"]
    s.wait_log(r"event=removed")
    assert s.messages("alice") == []   # no bounce


def test_tls_required_route_never_sends_in_clear(make_server, pki):
    port = free_port()
    zone("dest5.example", mx=[(10, "mx.dest5.example")], a={"mx.dest5.example": "127.0.0.7"})
    fake = FakeMX("127.0.0.7", port)   # offers no STARTTLS
    try:
        s = outbound_server(make_server, pki, port,
                            routes={"dest5.example": {"tls": "encrypt"}})
        submit(s, ["secret@dest5.example"], subject="confidential")
        s.wait_log(r"TLS is required for mx\.dest5\.example, but it does not offer "
                   r"STARTTLS", count=2, timeout=20)   # tried, and retried
        sent = b"".join(fake.raw)
        assert b"EHLO" in sent
        assert b"MAIL" not in sent and b"RCPT" not in sent
        assert b"confidential" not in sent and b"hello from postern" not in sent
        assert fake.delivered == 0
        assert len(s.queue_files()) == 1 and s.messages("alice") == []
    finally:
        fake.close()


def write_queue_file(s, rcpt, message, qid="0000000000ABC000"):
    """Put a message into the spool as a crash would leave it (the queue
    file format of src/queue/qfile.h), for bytes SMTP would refuse."""
    nonce = "0123456789abcdef"
    head = (f"postern-queue 1\nid {qid}\nnonce {nonce}\narrived {int(time.time())}\n"
            f"from {ALICE}\nbody 8bitmime\nclient 127.0.0.1\nhelo test\n"
            f"rcpt {rcpt}\t\ndata\n").encode()
    path = os.path.join(s.data, "spool", "queue", qid)
    with open(path, "wb") as f:
        f.write(head + message + f"end {len(message)} {nonce}\n".encode())
    return qid


def test_line_ends_dot_stuffing_and_one_end_of_data(make_server, pki):
    """Inbound SMTP refuses bare LF and lone CR, but a message may hold them
    by other ways (a queue file from elsewhere): outbound they become CRLF,
    leading dots are doubled and exactly one end-of-data is sent."""
    port = free_port()
    zone("dest6.example", mx=[(10, "mx.dest6.example")], a={"mx.dest6.example": "127.0.0.8"})
    fake = FakeMX("127.0.0.8", port)
    try:
        s = outbound_server(make_server, pki, port)
        s.stop()
        message = (f"From: {ALICE}\nSubject: tricky\n\n"
                   "bare lf\n.\r\n"        # "\n.\r\n" must not end the data
                   "lone\rcr\n"
                   ".leading dot\n"
                   "last line\n").encode()
        write_queue_file(s, "x@dest6.example", message)
        s.start()
        deadline = time.time() + 15
        while fake.delivered == 0 and time.time() < deadline:
            time.sleep(0.05)
        assert fake.delivered == 1, s.log()
        raw = bytes(fake.raw[0])
        data = raw[raw.index(b"From: "):]
        body_out = data[:data.index(b"\r\n.\r\n") + 5]
        # one end only: after it at most the QUIT (the session may also still
        # be kept open for reuse)
        assert data[len(body_out):] in (b"", b"QUIT\r\n")
        assert re.search(rb"[^\r]\n", body_out) is None    # every LF has its CR
        assert re.search(rb"\r[^\n]", body_out) is None    # every CR has its LF
        assert b"\r\n..leading dot\r\n" in body_out        # dot-stuffed
        assert b"bare lf\r\n..\r\n" in body_out           # the bare-LF line, stuffed
        assert b"lone\r\ncr\r\n" in body_out
        assert body_out.endswith(b"\r\nlast line\r\n.\r\n")
    finally:
        fake.close()


def test_starttls_response_injection_is_discarded(make_server, pki):
    port = free_port()
    cert = make_cert(pki["dir"], ca_of(pki), "mx.dest7.example", ["DNS:mx.dest7.example"])
    zone("dest7.example", mx=[(10, "mx.dest7.example")], a={"mx.dest7.example": "127.0.0.9"})
    # a fake capability list and a fake reply sent before the handshake
    fake = FakeMX("127.0.0.9", port, starttls_cert=cert,
                  inject=b"250-fake.mx\r\n250 AUTH PLAIN\r\n")
    try:
        s = outbound_server(make_server, pki, port,
                            routes={"dest7.example": {"tls": "verify"}})
        submit(s, ["x@dest7.example"])
        s.wait_log(r"event=starttls-injection host=mx\.dest7\.example")
        s.wait_log(r"mx=mx\.dest7\.example tls=TLSv1\.[23] .* verified=yes by=pkix "
                   r"result=session")
        assert fake.delivered == 1
    finally:
        fake.close()


def test_relay_route_to_a_plaintext_internal_host(make_server, pki, peer):
    port = free_port()
    rec = peer("127.0.0.10", port)
    s = outbound_server(make_server, pki, free_port(), routes={
        "internal.example": {"next_hop": f"127.0.0.10:{port}", "tls": "none"}})
    submit(s, ["staff@internal.example"])
    mail_from, rcpts, _content, tls = rec.wait(s)[0]
    assert rcpts == ["staff@internal.example"] and tls is False
    assert ("internal.example", "MX") not in dns_zones().queries


def test_kill9_during_delivery_then_delivered_after_restart(make_server, pki, peer):
    port = free_port()
    zone("dest8.example", mx=[(10, "mx.dest8.example")], a={"mx.dest8.example": "127.0.0.11"})
    fake = FakeMX("127.0.0.11", port, hang_after_data=True)
    s = outbound_server(make_server, pki, port)
    try:
        submit(s, ["x@dest8.example"])
        fake.wait_end_of_data()
        s.kill9()   # the peer has the message but never said 250
    finally:
        fake.close()
    rec = peer("127.0.0.11", port)
    s.start()
    assert rec.wait(s, timeout=20)[0][1] == ["x@dest8.example"]
    s.wait_log(r"event=removed")


def test_sigterm_during_a_stalled_delivery_stops_at_once_and_keeps_the_message(
        make_server, pki, peer):
    port = free_port()
    zone("dest9.example", mx=[(10, "mx.dest9.example")], a={"mx.dest9.example": "127.0.0.12"})
    fake = FakeMX("127.0.0.12", port, hang_after_data=True)
    s = outbound_server(make_server, pki, port)
    try:
        submit(s, ["x@dest9.example"])
        fake.wait_end_of_data()
        t0 = time.time()
        s.stop()                 # the data timeout is 10 minutes
        assert time.time() - t0 < 5
        assert len(s.queue_files()) == 1   # no 250 came: it is still ours
    finally:
        fake.close()
    rec = peer("127.0.0.12", port)
    s.start()
    assert rec.wait(s, timeout=20)[0][1] == ["x@dest9.example"]


HOSTILE_REPLIES = {
    "mixed-codes": (b"250-fake.mx\r\n550-injected\r\n250 PIPELINING\r\n",
                    "malformed reply"),
    "10000-continuations": (b"".join(b"250-line %d\r\n" % i for i in range(10000))
                            + b"250 end\r\n", "over-long reply"),
    "64kb-line": (b"250 " + b"x" * 65536 + b"\r\n", "over-long reply"),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_REPLIES))
def test_hostile_replies_defer_without_harm(make_server, pki, kind):
    """CVE-2020-8794 class: a server's reply shape is never trusted."""
    reply, why = HOSTILE_REPLIES[kind]
    port = free_port()
    domain = f"hostile-{kind}.example"
    zone(domain, mx=[(10, f"mx.{domain}")], a={f"mx.{domain}": "127.0.0.13"})
    fake = FakeMX("127.0.0.13", port, ehlo_reply=reply)
    try:
        s = outbound_server(make_server, pki, port)
        submit(s, [f"x@{domain}"])
        s.wait_log(rf"mx=mx\.{re.escape(domain)} .*result=failed reply=\"{why}")
        sent = b"".join(fake.raw)
        assert b"MAIL" not in sent and fake.delivered == 0
        assert len(s.queue_files()) == 1 and s.messages("alice") == []
    finally:
        fake.close()
    s.stop()   # still healthy: exits 0 (and clean under the sanitizers)


def test_one_delay_notice_after_delay_warning(make_server, pki, peer):
    port = free_port()
    zone("dest9.example", mx=[(10, "mx.dest9.example")], a={"mx.dest9.example": "127.0.0.13"})
    rec = peer("127.0.0.13", port,
               rcpt_replies={"slow@dest9.example": ["452 4.2.2 mailbox full"]})
    s = outbound_server(make_server, pki, port, extra={"queue": {"delay_warning": "2s"}})
    submit(s, ["slow@dest9.example"])
    dsn = dsn_for(s, timeout=20)
    assert dsn["Subject"] == "Delayed Mail (still being retried)"
    assert dsn["Auto-Submitted"] == "auto-replied"
    fields = str(report_fields(dsn))
    assert "Final-Recipient: rfc822; slow@dest9.example" in fields
    assert "Action: delayed" in fields and "Status: 4.2.2" in fields
    assert "Will-Retry-Until: " in fields
    assert "452 4.2.2 mailbox full" in fields
    # retries go on, without a second notice
    n = s.log().count("event=retry-scheduled")
    s.wait_log(r"event=retry-scheduled", count=n + 2, timeout=20)
    assert len(s.messages("alice")) == 1
    assert s.log().count("event=delay-notice") == 1
    assert rec.messages == []
    status = open(os.path.join(s.data, "spool", "status", s.queue_files()[0])).read()
    assert "\nx\n" in "\n" + status


def test_connection_is_reused_for_the_next_message(make_server, pki):
    """Two messages in a row to one MX over verified TLS: the second rides
    the first one's session (RSET, no second handshake); after reuse_time
    the session is closed with QUIT."""
    port = free_port()
    cert = make_cert(pki["dir"], ca_of(pki), "mx.dest10.example", ["DNS:mx.dest10.example"])
    zone("dest10.example", mx=[(10, "mx.dest10.example")], a={"mx.dest10.example": "127.0.0.14"})
    fake = FakeMX("127.0.0.14", port, starttls_cert=cert)
    try:
        s = outbound_server(make_server, pki, port, extra={"outbound": {"reuse_time": "3s"}},
                            routes={"dest10.example": {"tls": "verify"}})
        submit(s, ["a@dest10.example"], subject="first")
        s.wait_log(r"event=removed")
        submit(s, ["b@dest10.example"], subject="second")
        s.wait_log(r"event=removed", count=2)
        assert fake.delivered == 2 and len(fake.raw) == 1     # one connection
        s.wait_log(r"mx=mx\.dest10\.example tls=TLSv1\.[23] cipher=\S+ verified=yes by=pkix "
                   r"result=session reply=\"250 2\.0\.0 queued\" reused=yes")
        assert fake.raw[0].count(b"RSET\r\n") == 1
        deadline = time.time() + 10
        while not fake.raw[0].endswith(b"QUIT\r\n") and time.time() < deadline:
            time.sleep(0.1)
        assert fake.raw[0].endswith(b"QUIT\r\n")              # closed after reuse_time
    finally:
        fake.close()


def test_sessions_per_destination_are_limited(make_server, pki):
    """Six messages at once to a slow MX, with max_per_destination = 2: at
    most two connections to it at a time, and all six delivered."""
    port = free_port()
    zone("dest11.example", mx=[(10, "mx.dest11.example")], a={"mx.dest11.example": "127.0.0.15"})
    fake = FakeMX("127.0.0.15", port, data_delay=0.4)
    try:
        s = outbound_server(make_server, pki, port,
                            extra={"outbound": {"max_per_destination": "2", "reuse_time": "0"}})
        s.stop()
        for i in range(6):
            write_queue_file(s, f"r{i}@dest11.example", f"Subject: {i}\n\nx\n".encode(),
                             qid=f"00000000000AB{i:03d}")
        s.start()
        s.wait_log(r"event=removed", count=6, timeout=30)
        assert fake.delivered == 6
        assert fake.peak == 2, fake.peak
    finally:
        fake.close()


def test_delivers_to_another_postern(make_server, pki):
    """The peer is a second postern: a real MX with STARTTLS, its own
    directory and Maildir delivery."""
    port = free_port()
    zone("dest12.example", mx=[(10, "mx.dest12.example")], a={"mx.dest12.example": "127.0.0.16"})
    receiver = make_server(start=False, listeners={"smtp": {"address": f"127.0.0.16:{port}"}})
    receiver.cli("domain", "add", "dest12.example")
    receiver.add_user("carol@dest12.example")
    receiver.start()
    s = outbound_server(make_server, pki, port)
    submit(s, ["carol@dest12.example"], subject="postern to postern")
    deadline = time.time() + 15
    md = os.path.join(receiver.data, "mail", "dest12.example", "carol", "new")
    while time.time() < deadline and not (os.path.isdir(md) and os.listdir(md)):
        time.sleep(0.05)
    [name] = os.listdir(md)
    data = open(os.path.join(md, name), "rb").read()
    assert b"Subject: postern to postern" in data
    assert b"Delivered-To: carol@dest12.example" in data
    # the receiver's Received line: our client spoke ESMTP inside TLS
    assert re.search(rb"^Received: from mx\.example\.test \(\[127\.0\.0\.1\]\)\n"
                     rb"\tby mx\.example\.test \(Postern\) with ESMTPS\n"
                     rb"\t\(version=TLSv1\.3 ", data, re.M), data[:600]
    s.wait_log(r"mx=mx\.dest12\.example tls=TLSv1\.3 cipher=\S+ verified=no by=none "
               r"result=session")
    receiver.wait_log(r"event=rcpt to=<carol@dest12\.example> result=accepted")
