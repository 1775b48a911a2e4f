"""Only local recipients are accepted: unknown users are refused at RCPT,
foreign domains and every old relay trick get 554 5.7.1 (no open relay)."""
import pytest

from conftest import DOMAIN


@pytest.mark.parametrize("rcpt,code,status", [
    (f"nobody@{DOMAIN}", 550, "5.1.1"),
    ("alice@other.example", 554, "5.7.1"),
    ("alice@sub.example.test", 554, "5.7.1"),
    (f"alice%other.example@{DOMAIN}", 554, "5.7.1"),          # percent hack
    (f"other.example!alice@{DOMAIN}", 554, "5.7.1"),          # bang path
    (f"\"alice@other.example\"@{DOMAIN}", 554, "5.7.1"),      # quoted local part
    (f"@{DOMAIN}:alice@other.example", 554, "5.7.1"),         # source route out
    (f"@{DOMAIN},@mx.{DOMAIN}:victim@other.example", 554, "5.7.1"),
    ("alice@[127.0.0.1]", 554, "5.7.1"),                      # address literal
    ("alice@[IPv6:::1]", 554, "5.7.1"),
    (f"\"john doe\"@{DOMAIN}", 550, "5.1.1"),
    ("postmaster", 550, "5.1.1"),      # no postmaster configured here
])
def test_refused_recipients(server, chat, rcpt, code, status):
    c = chat(server.port)
    c.greet()
    c.cmd("MAIL FROM:<spammer@other.example>", 250)
    c.cmd(f"RCPT TO:<{rcpt}>", code, status)
    # nothing accepted, so there is nothing to send
    c.cmd("DATA", 554, "5.5.1 No valid recipients")


def test_source_route_to_us_is_ignored(server, chat):
    """RFC 5321 C: the route is ignored, the mailbox decides."""
    before = len(server.messages())
    c = chat(server.port)
    c.greet()
    c.cmd("MAIL FROM:<a@other.example>", 250)
    c.cmd(f"RCPT TO:<@relay.other.example:alice@{DOMAIN}>", 250)
    c.cmd("DATA", 354)
    c.send(b"Subject: routed\r\n\r\nx\r\n.\r\n")
    c.expect(250)
    server.wait_messages(before + 1)


def test_postmaster_reaches_the_configured_address(make_server, chat):
    s = make_server(settings={"": {"postmaster": f"alice@{DOMAIN}"}})
    c = chat(s.port)
    c.greet()
    c.cmd("MAIL FROM:<a@other.example>", 250)
    c.cmd("RCPT TO:<postmaster>", 250)
    c.cmd("RCPT TO:<PostMaster>", 250)
    c.cmd(f"RCPT TO:<postmaster@{DOMAIN}>", 250)
    c.cmd("DATA", 354)
    c.send(b"Subject: to the postmaster\r\n\r\nx\r\n.\r\n")
    c.expect(250)
    assert len(s.wait_messages(1)) == 1


def test_catch_all_alias(make_server, chat):
    s = make_server()
    s.cli("alias", "add", f"@{DOMAIN}", f"bob@{DOMAIN}")
    c = chat(s.port)
    c.greet()
    c.cmd("MAIL FROM:<a@other.example>", 250)
    c.cmd(f"RCPT TO:<anything@{DOMAIN}>", 250)
    c.cmd(f"RCPT TO:<alice@{DOMAIN}>", 250)
    c.cmd("DATA", 354)
    c.send(b"Subject: catch-all\r\n\r\nx\r\n.\r\n")
    c.expect(250)
    s.wait_messages(1, "bob")
    s.wait_messages(1, "alice")
