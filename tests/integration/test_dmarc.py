"""DMARC (RFC 7489) on receipt: the From domain's record found on the test
DNS server (at the domain, or at its organisational domain by the Public
Suffix List), aligned DKIM (signed by dkimpy) or SPF, the verdict in
Authentication-Results, p=reject refused with 550 5.7.1 unless enforcement
is off or the client is a known forwarder, and the attack cases: two From
fields, a From with two addresses, mixed case, co.uk-style suffixes, an l=
signature with content appended."""
import pytest

from conftest import DOMAIN, HOST, dns_zones
from test_dkim import OTHER, THEIRS, authres_of, dkimpy_sign, mx_send, theirs  # noqa: F401

ALICE = f"alice@{DOMAIN}"


def txt(name, text):
    z = dns_zones()
    z.add_zone(name.split(".", 1)[1] if name.startswith("_dmarc.") else name)
    z.clear(name, "TXT")
    z.txt(name, text)


@pytest.fixture(scope="module")
def zones():
    """Records for the cases: bank.example rejects, example.co.uk (a
    domain under a public suffix) rejects, with SPF for its mail host."""
    z = dns_zones()
    for zone in ("bank.example", "example.co.uk", "other.co.uk"):
        z.add_zone(zone)
    txt(f"_dmarc.{OTHER}", "v=DMARC1; p=reject; rua=mailto:d@dkimpy.example")
    txt("_dmarc.bank.example", "v=DMARC1; p=reject")
    txt("_dmarc.example.co.uk", "v=DMARC1; p=reject; sp=reject")
    txt("_dmarc.other.co.uk", "v=DMARC1; p=reject")
    txt("mail.example.co.uk", "v=spf1 ip4:127.0.0.0/8 -all")
    return z


def delivered(server, before):
    return server.read_message(server.wait_messages(before + 1)[-1])


def test_aligned_dkim_passes(server, theirs, zones):
    rsa_pem, _ = theirs
    msg = dkimpy_sign(THEIRS, rsa_pem, "r", "rsa-sha256")
    before = len(server.messages())
    assert mx_send(server, msg, sender="bounce@elsewhere.example")[0] == 250
    ar = authres_of(delivered(server, before))
    assert ar.endswith(f"; dmarc=pass (p=reject dis=none) header.from={OTHER}"), ar


def test_unaligned_fails_and_reject_is_refused(server, zones):
    msg = (f"From: CEO <ceo@bank.example>\r\nTo: {ALICE}\r\nSubject: wire\r\n\r\n"
           "Please pay.\r\n").encode()
    code, text = mx_send(server, msg, sender="x@mail.example.co.uk")
    assert code == 550 and "DMARC policy of bank.example" in text, (code, text)
    assert "event=dmarc result=fail domain=bank.example policy=reject" in server.log()
    # the From domain in mixed case is the same domain
    code, _ = mx_send(server, msg.replace(b"bank.example", b"Bank.EXAMPLE"),
                      sender="x@mail.example.co.uk")
    assert code == 550


def test_public_suffix_alignment(server, zones):
    """SPF passes for mail.example.co.uk: it aligns (relaxed) with
    news.example.co.uk, not with other.co.uk (co.uk is a public suffix, so
    they are different organisations)."""
    before = len(server.messages())
    msg = f"From: news@news.example.co.uk\r\nTo: {ALICE}\r\n\r\nhi\r\n".encode()
    assert mx_send(server, msg, sender="bounce@mail.example.co.uk")[0] == 250
    ar = authres_of(delivered(server, before))
    assert "spf=pass smtp.mailfrom=bounce@mail.example.co.uk" in ar
    assert ar.endswith("dmarc=pass (p=reject dis=none) header.from=news.example.co.uk"), ar
    msg = f"From: x@other.co.uk\r\nTo: {ALICE}\r\n\r\nhi\r\n".encode()
    code, text = mx_send(server, msg, sender="bounce@mail.example.co.uk")
    assert code == 550 and "other.co.uk" in text


@pytest.mark.parametrize("from_fields,why", [
    ("From: a@bank.example\r\nFrom: b@bank.example\r\n", "more than one From field"),
    ("From: ceo@bank.example, x@attacker.example\r\n",
     "the From field does not hold exactly one address"),
])
def test_from_must_be_one_address(server, make_server, zones, from_fields, why):
    """No single author domain: a fail no record can soften (two From
    fields or two addresses show the reader one domain and have another
    checked), refused; recorded as such where enforcement is off."""
    msg = (from_fields + f"To: {ALICE}\r\nSubject: s\r\n\r\nhi\r\n").encode()
    code, text = mx_send(server, msg, sender="x@mail.example.co.uk")
    assert code == 550 and why in text, (code, text)
    s = make_server(settings={"dmarc": {"enforce": "no"}})
    assert mx_send(s, msg, sender="x@mail.example.co.uk")[0] == 250
    ar = authres_of(delivered(s, 0))
    assert ar.endswith(f"; dmarc=fail ({why}; dis=none)"), ar


def test_no_from_is_recorded_not_refused(server, zones):
    before = len(server.messages())
    msg = f"To: {ALICE}\r\nSubject: s\r\n\r\nhi\r\n".encode()
    assert mx_send(server, msg, sender="x@mail.example.co.uk")[0] == 250
    ar = authres_of(delivered(server, before))
    assert ar.endswith("; dmarc=fail (no From field; dis=none)"), ar


def test_l_signature_with_appended_content_does_not_pass(server, theirs, zones):
    rsa_pem, _ = theirs
    msg = dkimpy_sign(THEIRS, rsa_pem, "r", "rsa-sha256", length=True)
    msg += b"Appended: pay to account 6666\r\n"
    code, text = mx_send(server, msg, sender="bounce@elsewhere.example")
    assert code == 550 and OTHER in text, (code, text)


def test_enforce_off_and_forwarders(make_server, zones):
    msg = (f"From: ceo@bank.example\r\nTo: {ALICE}\r\n\r\nPlease pay.\r\n").encode()
    for settings in ({"dmarc": {"enforce": "no"}},
                     {"dmarc": {"forwarders": "192.0.2.0/24 127.0.0.0/8"}}):
        s = make_server(settings=settings)
        assert mx_send(s, msg, sender="x@mail.example.co.uk")[0] == 250
        ar = authres_of(delivered(s, 0))
        assert ar.endswith("dmarc=fail (p=reject dis=none) header.from=bank.example"), ar
    p = make_server(start=False).cli("config", "check", check=False)
    assert p.returncode == 0
    bad = make_server(settings={"dmarc": {"forwarders": "192.0.2.0/33"}}, start=False,
                      provision=False)
    p = bad.cli("config", "check", check=False)
    assert p.returncode == 1 and "'192.0.2.0/33' is not an address or network" in p.stderr


def test_quarantine_goes_to_junk(server, zones):
    """p=quarantine: delivered, but into the recipient's Junk folder (a
    Maildir++ folder Dovecot sees as Junk), not the inbox."""
    import glob
    import os
    txt("_dmarc.quar.example", "v=DMARC1; p=quarantine")
    msg = (f"From: promo@quar.example\r\nTo: {ALICE}\r\nSubject: deal\r\n\r\n"
           "Cheap.\r\n").encode()
    inbox = len(server.messages())
    junk = os.path.join(server.maildir(), ".Junk")
    before = len(glob.glob(os.path.join(junk, "new", "*")))
    assert mx_send(server, msg, sender="x@mail.example.co.uk")[0] == 250
    import time
    deadline = time.time() + 10
    while len(glob.glob(os.path.join(junk, "new", "*"))) == before:
        assert time.time() < deadline, server.log()
        time.sleep(0.05)
    assert len(server.messages()) == inbox
    assert os.path.exists(os.path.join(junk, "maildirfolder"))
    [path] = sorted(glob.glob(os.path.join(junk, "new", "*")))[before:]
    ar = authres_of(server.read_message(path))
    assert ar.endswith("dmarc=fail (p=quarantine dis=quarantine) header.from=quar.example"), ar


def junk_of(server, user, domain):
    import glob
    import os
    return sorted(glob.glob(os.path.join(server.data, "mail", domain, user, ".Junk",
                                         "new", "*")))


def inbox_of(server, user, domain):
    import glob
    import os
    return sorted(glob.glob(os.path.join(server.data, "mail", domain, user, "new", "*")))


def wait_for(cond, server, timeout=10):
    import time
    deadline = time.time() + timeout
    while not cond():
        assert time.time() < deadline, server.log()
        time.sleep(0.05)


def two_domains(make_server):
    """example.test (alice) and second.example (dave) on one server."""
    s = make_server()
    s.cli("domain", "add", "second.example")
    s.add_user("dave@second.example")
    return s


def mx_send_many(s, msg, rcpts, sender="x@mail.example.co.uk"):
    import smtplib
    from conftest import client_context
    with smtplib.SMTP("127.0.0.1", s.port, timeout=30) as c:
        c.starttls(context=client_context(s.pki))
        try:
            c.sendmail(sender, rcpts, msg)
        except smtplib.SMTPDataError as e:
            return e.smtp_code, e.smtp_error.decode()
    return 250, ""


BANK = (f"From: CEO <ceo@bank.example>\r\nTo: {ALICE}\r\nSubject: wire\r\n\r\n"
        "Please pay.\r\n").encode()


def test_domain_settings_from_the_cli(make_server):
    s = make_server(start=False)
    assert s.cli("domain", "set", DOMAIN, "dmarc", "quarantine").stdout == \
        f"{DOMAIN}: dmarc = quarantine\n"
    s.cli("domain", "set", DOMAIN, "dmarc-forwarders", "192.0.2.0/24 2001:db8::/32")
    assert s.cli("domain", "list").stdout == (
        f"{DOMAIN}\t2 users\tdmarc=quarantine dmarc-forwarders=192.0.2.0/24 2001:db8::/32\n")
    for args, why in ((("dmarc", "bounce"), "dmarc is reject, quarantine, none or default"),
                      (("dmarc-forwarders", "192.0.2.0/33"),
                       "'192.0.2.0/33' is not an address or network"),
                      (("colour", "blue"), "unknown setting colour")):
        p = s.cli("domain", "set", DOMAIN, *args, check=False)
        assert p.returncode != 0 and why in p.stderr, p.stderr
    p = s.cli("domain", "set", "nowhere.example", "dmarc", "none", check=False)
    assert p.returncode == 1 and "not a local domain" in p.stderr
    s.cli("domain", "set", DOMAIN, "dmarc", "default")
    s.cli("domain", "set", DOMAIN, "dmarc-forwarders", "")
    assert s.cli("domain", "list").stdout == f"{DOMAIN}\t2 users\n"


@pytest.mark.parametrize("action,where,dis", [
    ("none", "inbox", "none"),
    ("quarantine", "junk", "quarantine"),
])
def test_a_domain_that_does_not_refuse(make_server, zones, action, where, dis):
    """p=reject mail for a domain set to none is delivered; set to
    quarantine, it goes to Junk; the running server sees the change."""
    s = make_server()
    assert mx_send(s, BANK, sender="x@mail.example.co.uk")[0] == 550
    s.cli("domain", "set", DOMAIN, "dmarc", action)
    assert mx_send(s, BANK, sender="x@mail.example.co.uk")[0] == 250
    place = inbox_of if where == "inbox" else junk_of
    wait_for(lambda: place(s, "alice", DOMAIN), s)
    ar = authres_of(s.read_message(place(s, "alice", DOMAIN)[0]))
    assert ar.endswith(f"dmarc=fail (p=reject dis={dis}) header.from=bank.example"), ar
    s.wait_log(rf"event=dmarc result=fail domain=bank\.example policy=reject applied={dis}")


def test_mixed_recipients_refuse_no_one_and_junk_the_strict(make_server, zones):
    """One message, two receiving domains: second.example takes DMARC
    failures (none), example.test follows the policy. The message cannot
    be refused for one and not the other: dave gets it in his inbox, and
    alice's copy, which her domain would have refused, goes to her Junk."""
    s = two_domains(make_server)
    s.cli("domain", "set", "second.example", "dmarc", "none")
    msg = BANK.replace(f"To: {ALICE}".encode(), b"To: alice, dave")
    assert mx_send_many(s, msg, [ALICE, "dave@second.example"])[0] == 250
    wait_for(lambda: inbox_of(s, "dave", "second.example") and junk_of(s, "alice", DOMAIN), s)
    assert inbox_of(s, "alice", DOMAIN) == []
    assert junk_of(s, "dave", "second.example") == []
    # every recipient's domain refusing: refused
    s.cli("domain", "set", "second.example", "dmarc", "reject")
    code, text = mx_send_many(s, msg, [ALICE, "dave@second.example"])
    assert code == 550 and "DMARC policy of bank.example" in text, (code, text)


def test_a_domains_own_forwarders(make_server, zones):
    s = make_server()
    s.cli("domain", "set", DOMAIN, "dmarc-forwarders", "198.51.100.0/24")
    assert mx_send(s, BANK, sender="x@mail.example.co.uk")[0] == 550
    s.cli("domain", "set", DOMAIN, "dmarc-forwarders", "198.51.100.0/24 127.0.0.0/8")
    assert mx_send(s, BANK, sender="x@mail.example.co.uk")[0] == 250
    wait_for(lambda: inbox_of(s, "alice", DOMAIN), s)


def test_trusted_arc_sealer_spares_a_forwarded_failure(make_server, zones):
    """A mailing list (lists.example) re-sent bank.example mail: DMARC
    fails here, but the ARC chain it sealed (with dkimpy) passes. Trusted,
    the message is delivered and Authentication-Results says why; not
    trusted, it is refused as before."""
    import dkim
    from test_dkim import dkimpy_keys
    rsa_pem, rsa_rec, _, _ = dkimpy_keys()
    z = dns_zones()
    z.add_zone("lists.example")
    z.clear("arc._domainkey.lists.example", "TXT")
    z.txt("arc._domainkey.lists.example", rsa_rec)
    msg = (b"Authentication-Results: lists.example; dkim=pass header.d=bank.example;"
           b" dmarc=pass\r\n" + BANK)
    sealed = b"".join(dkim.arc_sign(msg, b"arc", b"lists.example", rsa_pem,
                                    b"lists.example")) + msg
    plain = make_server()
    assert mx_send(plain, sealed, sender="x@mail.example.co.uk")[0] == 550
    s = make_server(settings={"dmarc": {"trusted_arc_sealers": "other.example lists.example"}})
    assert mx_send(s, sealed, sender="x@mail.example.co.uk")[0] == 250
    wait_for(lambda: inbox_of(s, "alice", DOMAIN), s)
    ar = authres_of(s.read_message(inbox_of(s, "alice", DOMAIN)[0]))
    assert "arc=pass (i=1 d=lists.example)" in ar, ar
    assert ar.endswith("dmarc=fail (p=reject dis=none; trusted ARC sealer) "
                       "header.from=bank.example"), ar
    s.wait_log(r"applied=none override=trusted-arc-sealer")
