"""DKIM signing at submission (RFC 6376, RFC 8463): keys from `postern dkim
keygen`, records from `postern dns` published on the test DNS server, and
the signatures Postern adds checked by independent verifiers: dkimpy (the
library behind dkimverify) and OpenDKIM's opendkim-testmsg. One changed
byte in a signed header or in the body fails both."""
import os
import re
import smtplib
import subprocess
import time

import dkim
import pytest
from dnslib import DNSRecord

from conftest import BIN, DOMAIN, HOST, PASSWORD, client_context, dns_zones, free_port
from test_submission import submission

ALICE = f"alice@{DOMAIN}"
BOB = f"bob@{DOMAIN}"
# opendkim-testmsg asks the name servers of /etc/resolv.conf (port 53
# only); it runs in a mount namespace where that file names this address,
# served from the same zones as the test DNS server
OPENDKIM_DNS = f"127.8.{os.getpid() % 250 + 1}.53"  # one per test run
_opendkim_dns = None


def publish(s, domain=DOMAIN):
    """Put the TXT records `postern dns` prints on the test DNS server."""
    zones = dns_zones()
    zones.add_zone(domain)
    out = s.cli("dns", domain).stdout
    records = {}
    for m in re.finditer(r"^(\S+)\.\tIN TXT\t(.*)$", out, re.M):
        text = "".join(re.findall(r'"([^"]*)"', m.group(2)))
        records.setdefault(m.group(1), []).append(text)
    for name, texts in records.items():
        zones.clear(name, "TXT")
        for t in texts:
            zones.txt(name, t)
    return out


def dns_txt(name, timeout=5):
    """dkimpy's DNS function: asks the test DNS server, nothing else."""
    name = name.decode() if isinstance(name, bytes) else name
    q = DNSRecord.question(name.rstrip("."), "TXT")
    reply = DNSRecord.parse(q.send("127.0.0.1", dns_zones().port, timeout=timeout))
    for rr in reply.rr:
        if rr.rtype == 16:
            return b"".join(rr.rdata.data)
    return None


def dkimpy_results(msg):
    """Each signature's verdict, in header order."""
    d = dkim.DKIM(msg)
    n = len([l for l in msg.split(b"\n") if l.lower().startswith(b"dkim-signature:")])
    out = []
    for i in range(n):
        try:
            out.append(d.verify(idx=i, dnsfunc=dns_txt))
        except dkim.ValidationError:
            out.append(False)
    return out


def opendkim_verify(msg, workdir):
    """0 when opendkim-testmsg finds the message's signature good."""
    global _opendkim_dns
    if _opendkim_dns is None:
        import testdns
        testdns.start(53, OPENDKIM_DNS, zones=dns_zones())
        _opendkim_dns = os.path.join(workdir, "resolv.opendkim")
        with open(_opendkim_dns, "w") as f:
            f.write(f"nameserver {OPENDKIM_DNS}\noptions attempts:1 timeout:2\n")
    p = subprocess.run(
        ["unshare", "-m", "sh", "-c",
         f"mount --bind {_opendkim_dns} /etc/resolv.conf && exec opendkim-testmsg"],
        input=msg, capture_output=True, timeout=60)
    return p.returncode, p.stderr.decode()


def only_signature(msg, algo):
    """The message with only its `algo` DKIM-Signature kept."""
    head, _, body = msg.partition(b"\r\n\r\n")
    fields = re.split(rb"\r\n(?![ \t])", head)
    kept = [f for f in fields if not f.lower().startswith(b"dkim-signature:")
            or f"a={algo}".encode() in f]
    return b"\r\n".join(kept) + b"\r\n\r\n" + body


def submit(s, msg, sender=ALICE, rcpts=(BOB,)):
    with smtplib.SMTP("127.0.0.1", s.sub, timeout=10) as c:
        c.starttls(context=client_context(s.pki))
        c.login(sender, PASSWORD)
        c.sendmail(sender, list(rcpts), msg)


def delivered(s, user="bob", n=1):
    s.wait_messages(n, user=user)
    with open(s.messages(user)[-1], "rb") as f:
        data = f.read()
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


MSG = (f"From: Alice <{ALICE}>\r\nTo: <{BOB}>\r\nSubject: signed  by Postern\r\n"
       f"\r\nHello Bob,\r\n\r\n  this  line has blanks \t\r\n.dot first\r\n"
       f"\r\n\r\n").encode()


@pytest.fixture
def signing(make_server, pki):
    s = submission(make_server, pki)
    out = s.cli("dkim", "keygen", DOMAIN).stdout
    assert "new rsa key" in out and "new ed25519 key" in out
    s.restart()   # the keys are loaded at start
    publish(s)
    return s


def test_signed_at_submission_verifies_with_dkimpy_and_opendkim(signing, workdir):
    s = signing
    submit(s, MSG)
    msg = delivered(s)
    head = msg.partition(b"\r\n\r\n")[0].decode()
    sigs = re.findall(r"^DKIM-Signature:.*?(?=\r\n\S)", head, re.M | re.S)
    assert len(sigs) == 2
    assert "a=rsa-sha256" in sigs[0] and "a=ed25519-sha256" in sigs[1]
    for sig in sigs:
        assert "c=relaxed/relaxed" in sig and f"d={DOMAIN}" in sig
        assert "l=" not in sig
        t = int(re.search(r"\bt=(\d+)", sig).group(1))
        x = int(re.search(r"\bx=(\d+)", sig).group(1))
        assert abs(t - time.time()) < 60 and x - t == 7 * 86400
        h = re.sub(r"\s", "", re.search(r"\bh=([^;]*)", sig).group(1)).split(":")
        # present once, oversigned once more; Date and Message-ID were
        # added by submission and are signed too
        for name in ("from", "to", "subject", "date", "message-id"):
            assert h.count(name) == 2, (name, h)
        for name in ("cc", "reply-to"):
            assert h.count(name) == 1, (name, h)
    assert dkimpy_results(msg) == [True, True]
    for algo in ("rsa-sha256", "ed25519-sha256"):
        one = only_signature(msg, algo)
        assert dkimpy_results(one) == [True]
        rc, err = opendkim_verify(one, workdir)
        assert rc == 0, (algo, err)
    assert re.search(r"event=dkim-signed domain=example\.test keys=2", s.log())


@pytest.mark.parametrize("change", [
    (b"Subject: signed  by Postern", b"Subject: signed  by Postera"),
    (b"this  line has", b"this  line had"),
    # an added From above the signed one: oversigning makes it count
    (b"From: Alice", b"From: Mallory <mallory@example.org>\r\nFrom: Alice"),
])
def test_one_changed_byte_fails_everywhere(signing, workdir, change):
    s = signing
    submit(s, MSG)
    msg = delivered(s)
    bad = msg.replace(change[0], change[1], 1)
    assert bad != msg
    assert dkimpy_results(bad) == [False, False]
    for algo in ("rsa-sha256", "ed25519-sha256"):
        rc, err = opendkim_verify(only_signature(bad, algo), workdir)
        # (OpenDKIM refuses a message with two From fields outright)
        assert rc != 0 and ("Bad signature" in err or "Syntax error" in err), err


def test_keys_cli_rotate_revoke_and_dns(make_server, pki):
    s = make_server(start=False)
    s.cli("dkim", "keygen", DOMAIN, "--algo", "ed25519", "--selector", "first")
    p = s.cli("dkim", "keygen", DOMAIN, "--algo", "ed25519", check=False)
    assert p.returncode == 1 and "dkim rotate" in p.stderr
    p = s.cli("dkim", "keygen", "nowhere.example", check=False)
    assert p.returncode == 1 and "not one of our domains" in p.stderr
    out = s.cli("dkim", "rotate", DOMAIN).stdout
    new = re.search(r"(ed-\d{8})\S* signs from", out).group(1)
    listing = s.cli("dkim", "list", DOMAIN).stdout
    assert re.search(rf"^{DOMAIN}\tfirst\ted25519\tactive\t", listing, re.M)
    assert re.search(rf"^{DOMAIN}\t{new}\S*\ted25519\tpending\t", listing, re.M)
    dns = s.cli("dns", DOMAIN).stdout
    # both published: the new one ahead of signing, the old one still
    assert f"first._domainkey.{DOMAIN}." in dns and f"{new}" in dns
    assert f"{DOMAIN}.\tIN MX\t10 {HOST}." in dns
    assert '"v=spf1 mx -all"' in dns and f"_dmarc.{DOMAIN}." in dns
    s.cli("dkim", "revoke", DOMAIN, "first")
    dns = s.cli("dns", DOMAIN).stdout
    assert re.search(rf'^first\._domainkey\.{re.escape(DOMAIN)}\.\tIN TXT\t"v=DKIM1; k=ed25519; p="$',
                     dns, re.M)
    p = s.cli("dkim", "delete", DOMAIN, new, check=False)
    assert p.returncode == 1 and "pending" in p.stderr
    s.cli("dkim", "delete", DOMAIN, "first")
    assert "first" not in s.cli("dkim", "list").stdout
    # the private keys live in the database, the server user's alone
    st = os.stat(os.path.join(s.data, "postern.db"))
    assert st.st_mode & 0o077 == 0


def test_key_added_while_running_is_used(make_server, pki):
    s = submission(make_server, pki)
    submit(s, MSG)
    assert b"DKIM-Signature" not in delivered(s)
    s.cli("dkim", "keygen", DOMAIN, "--algo", "rsa")   # tells the server
    publish(s)
    s.wait_log(r"event=keys-loaded keys=1")
    submit(s, MSG)
    msg = delivered(s, n=2)
    assert dkimpy_results(msg) == [True]


# --- postern check: verifying what others signed ------------------------

def dkimpy_keys():
    """An RSA key (PEM) and an Ed25519 key (dkimpy's base64 seed), with
    their DNS records."""
    import base64
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
    r = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_pem = r.private_bytes(serialization.Encoding.PEM,
                              serialization.PrivateFormat.TraditionalOpenSSL,
                              serialization.NoEncryption())
    spki = r.public_key().public_bytes(serialization.Encoding.DER,
                                       serialization.PublicFormat.SubjectPublicKeyInfo)
    e = ed25519.Ed25519PrivateKey.generate()
    seed = e.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                           serialization.NoEncryption())
    pub = e.public_key().public_bytes(serialization.Encoding.Raw,
                                      serialization.PublicFormat.Raw)
    return (rsa_pem, "v=DKIM1; k=rsa; p=" + base64.b64encode(spki).decode(),
            base64.b64encode(seed), "v=DKIM1; k=ed25519; p=" + base64.b64encode(pub).decode())


def check(msg, extra=()):
    p = subprocess.run([BIN, "check", "--dns", f"127.0.0.1@{dns_zones().port}", *extra],
                       input=msg, capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


OTHER = "dkimpy.example"
THEIRS = (f"From: Carol <carol@{OTHER}>\r\nTo: {ALICE}\r\nSubject: from dkimpy\r\n"
          f"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <c1@{OTHER}>\r\n\r\n"
          "Hi Alice,\r\n\r\n  signed by dkimpy  \r\n\r\n\r\n").encode()


@pytest.fixture(scope="module")
def theirs():
    rsa_pem, rsa_rec, ed_seed, ed_rec = dkimpy_keys()
    zones = dns_zones()
    zones.add_zone(OTHER)
    zones.clear(f"r._domainkey.{OTHER}", "TXT")
    zones.clear(f"e._domainkey.{OTHER}", "TXT")
    zones.txt(f"r._domainkey.{OTHER}", rsa_rec)
    zones.txt(f"e._domainkey.{OTHER}", ed_rec)
    return rsa_pem, ed_seed


def dkimpy_sign(msg, key, selector, algo, canon=(b"relaxed", b"relaxed"), length=False):
    sig = dkim.sign(msg, selector.encode(), OTHER.encode(), key,
                    canonicalize=canon, signature_algorithm=algo.encode(),
                    length=length, include_headers=[b"from", b"to", b"subject", b"date"])
    return sig + msg


@pytest.mark.parametrize("algo", ["rsa-sha256", "ed25519-sha256"])
@pytest.mark.parametrize("canon", [(b"relaxed", b"relaxed"), (b"simple", b"simple"),
                                   (b"relaxed", b"simple")])
def test_check_verifies_dkimpy_signatures(theirs, algo, canon):
    rsa_pem, ed_seed = theirs
    key, sel = (rsa_pem, "r") if algo == "rsa-sha256" else (ed_seed, "e")
    msg = dkimpy_sign(THEIRS, key, sel, algo, canon)
    rc, out, err = check(msg)
    assert rc == 0, out + err
    b = re.search(rb'b=([^;]{8})', msg.split(b'bh=')[1]).group(1).decode()
    assert out.splitlines()[0] == (f"dkim=pass header.d={OTHER} header.i=@{OTHER} "
                                   f"header.s={sel} header.a={algo} header.b={b}")
    assert out.splitlines()[1].startswith("dmarc=") and len(out.splitlines()) == 2
    for old, new in ((b"from dkimpy", b"from dkimpx"), (b"signed by", b"signed bx")):
        rc, out, _ = check(msg.replace(old, new))
        assert rc == 1 and out.startswith("dkim=fail ("), out
    if canon[1] == b"simple":   # an extra blank changes a simple body
        rc, out, _ = check(msg.replace(b"Hi Alice,", b"Hi  Alice,"))
        assert rc == 1 and "body hash did not verify" in out


def test_check_l_tag_and_appended_content(theirs):
    rsa_pem, _ = theirs
    msg = dkimpy_sign(THEIRS, rsa_pem, "r", "rsa-sha256", length=True)
    assert b"l=" in msg
    rc, out, _ = check(msg)
    assert rc == 0 and out.startswith("dkim=pass header.d=") and "unsigned" not in out
    rc, out, _ = check(msg + b"Click here: http://evil.example/\r\n")
    # still a pass for the signed part, but said to leave content unsigned
    assert rc == 0 and out.startswith("dkim=pass (l= leaves part of the body unsigned)"), out


def test_check_key_problems(theirs):
    rsa_pem, _ = theirs
    msg = dkimpy_sign(THEIRS, rsa_pem, "r", "rsa-sha256")
    rc, out, _ = check(msg.replace(b"s=r;", b"s=missing;"))
    assert rc == 1 and out.startswith("dkim=permerror (no key record)"), out
    zones = dns_zones()
    zones.clear(f"revoked._domainkey.{OTHER}", "TXT")
    zones.txt(f"revoked._domainkey.{OTHER}", "v=DKIM1; k=rsa; p=")
    rc, out, _ = check(msg.replace(b"s=r;", b"s=revoked;"))
    assert out.startswith("dkim=permerror (the key is revoked)"), out
    rc, out, _ = check(THEIRS)
    assert rc == 1 and out.startswith("dkim=none\ndmarc=")
    # the key's zone answers SERVFAIL: a temporary error, not a failure
    rc, out, _ = check(msg.replace(f"d={OTHER}".encode(), b"d=servfail.example")
                       .replace(f"i=@{OTHER}".encode(), b"i=@servfail.example"))
    assert rc == 1 and out.startswith("dkim=temperror (the key lookup failed) "
                                      "header.d=servfail.example"), out


def test_check_rfc8463_example():
    """The signed example of RFC 8463 Appendix A (both signatures), with
    the keys of A.2 published on the test DNS server."""
    zones = dns_zones()
    zones.add_zone("football.example.com")
    for name, rec in (("brisbane", "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="),
                      ("test", "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB")):
        zones.clear(f"{name}._domainkey.football.example.com", "TXT")
        zones.txt(f"{name}._domainkey.football.example.com", rec)
    path = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fuzz",
                        "corpus", "fuzz_dkim_verify", "rfc8463")
    with open(path, "rb") as f:
        msg = f.read().replace(b"\n", b"\r\n")
    rc, out, _ = check(msg)
    assert rc == 0
    lines = out.splitlines()
    assert lines[0].startswith("dkim=pass header.d=football.example.com "
                               "header.i=@football.example.com header.s=brisbane "
                               "header.a=ed25519-sha256")
    assert lines[1].startswith("dkim=pass header.d=football.example.com "
                               "header.i=@football.example.com header.s=test "
                               "header.a=rsa-sha256")
    # dkimpy agrees
    assert dkimpy_results(msg) == [True, True]


# --- on receipt: Authentication-Results ---------------------------------

def mx_send(s, msg, sender=f"carol@{OTHER}", rcpt=ALICE, code=250):
    """Over the MX port, as another server would (STARTTLS, no AUTH)."""
    with smtplib.SMTP("127.0.0.1", s.port, timeout=30) as c:
        c.starttls(context=client_context(s.pki))
        try:
            c.sendmail(sender, [rcpt], msg)
        except smtplib.SMTPDataError as e:
            return e.smtp_code, e.smtp_error.decode()
    return 250, ""


def authres_of(data):
    """Our Authentication-Results field (the first one), unfolded."""
    m = re.search(rb"^Authentication-Results: (.*?)\n(?!\t)", data, re.M | re.S)
    return m.group(1).replace(b"\n\t", b" ").decode() if m else None


def test_receipt_records_dkim_results(server, theirs):
    rsa_pem, ed_seed = theirs
    msg = dkimpy_sign(dkimpy_sign(THEIRS, rsa_pem, "r", "rsa-sha256"),
                      ed_seed, "e", "ed25519-sha256")
    before = len(server.messages())
    assert mx_send(server, msg)[0] == 250
    data = server.read_message(server.wait_messages(before + 1)[-1])
    ar = authres_of(data)
    assert ar.startswith(f"{HOST}; dkim=pass header.d={OTHER} header.i=@{OTHER} "
                         f"header.s=e header.a=ed25519-sha256 header.b="), ar
    assert f"; dkim=pass header.d={OTHER} header.i=@{OTHER} header.s=r " \
           f"header.a=rsa-sha256 header.b=" in ar
    # what was delivered still verifies (dkimpy, our field on top)
    body = data.partition(b"\n\n")[2]
    assert body == THEIRS.partition(b"\r\n\r\n")[2].replace(b"\r\n", b"\n")
    crlf = data.replace(b"\n", b"\r\n")
    assert dkimpy_results(crlf) == [True, True]
    # tampered in transit: fail, with the reason
    assert mx_send(server, msg.replace(b"signed by dkimpy", b"signed by dkimpx"))[0] == 250
    ar = authres_of(server.read_message(server.wait_messages(before + 2)[-1]))
    assert ar.count("dkim=fail (body hash did not verify)") == 2, ar
    assert re.search(r"event=dkim result=fail domain=dkimpy\.example selector=r "
                      r'reason="body hash did not verify"', server.log())


FORGED = [
    f"Authentication-Results: {HOST}; dkim=pass header.d=bank.example\r\n",
    f"authentication-results:   {HOST.upper()} ;\r\n\tdkim=pass\r\n\t header.d=bank.example\r\n",
    f"Authentication-Results: (a comment) {HOST} 1; spf=pass\r\n",
    f'AUTHENTICATION-RESULTS: "{HOST}"; dmarc=pass\r\n',
    f"Authentication-Results:\r\n {HOST};\r\n dkim=pass\r\n",
]


@pytest.mark.parametrize("copies", [1, 2, 5])
def test_forged_authres_with_our_id_removed(server, copies):
    kept = "Authentication-Results: other.example; dkim=fail\r\n"
    msg = (f"From: Carol <carol@{OTHER}>\r\n" + "".join(FORGED[:copies]) + kept +
           f"To: {ALICE}\r\nSubject: forged\r\n\r\nbody\r\n").encode()
    before = len(server.messages())
    assert mx_send(server, msg)[0] == 250
    data = server.read_message(server.wait_messages(before + 1)[-1])
    head = data.partition(b"\n\n")[0].decode()
    fields = re.findall(r"^authentication-results:.*(?:\n[ \t].*)*", head, re.M | re.I)
    # ours (on top) and the other server's; none of the forged ones
    assert len(fields) == 2 and fields[1] == kept.rstrip("\r\n"), fields
    assert fields[0].startswith(f"Authentication-Results: {HOST};\n\tdkim=none;\n\t"
                                f"spf=none (no SPF record) smtp.mailfrom=carol@{OTHER};"), fields
    assert "bank.example" not in head and "spf=pass" not in head
    assert f"event=authres-removed fields={copies}" in server.log()


def test_too_many_forged_authres_refused(server):
    msg = (f"From: carol@{OTHER}\r\n" + FORGED[0] * 65 +
           f"To: {ALICE}\r\n\r\nbody\r\n").encode()
    code, text = mx_send(server, msg)
    assert code == 554 and "Authentication-Results" in text


def test_submission_authres_and_non_field_line(signing, workdir):
    """Submitted mail says who logged in; a line that is not a header field
    starts the body for the signer and the verifier alike, so changing it
    breaks the signature."""
    s = signing
    msg = (f"From: Alice <{ALICE}>\r\nTo: {BOB}\r\nSubject: s\r\n"
           f"Pay invoice to account 1111\r\n\r\nregards\r\n").encode()
    submit(s, msg)
    data = delivered(s)
    assert authres_of(data.replace(b"\r\n", b"\n")) == f"{HOST}; auth=pass smtp.auth={ALICE}"
    rc, out, _ = check(data)
    assert rc == 0 and out.count("dkim=pass") == 2, out
    rc, out, _ = check(data.replace(b"1111", b"6666"))
    assert rc == 1 and out.count("dkim=fail (body hash did not verify)") == 2, out


def test_many_keys(make_server, pki):
    """More keys than any fixed table: the newest still signs and is
    published."""
    s = make_server(start=False)
    for i in range(70):
        s.cli("dkim", "keygen", DOMAIN, "--algo", "ed25519", "--selector", f"k{i}")
        s.cli("dkim", "revoke", DOMAIN, f"k{i}")
    s.cli("dkim", "keygen", DOMAIN, "--algo", "ed25519", "--selector", "last")
    assert re.search(rf"^{DOMAIN}\tlast\ted25519\tactive\t", s.cli("dkim", "list").stdout, re.M)
    assert f"last._domainkey.{DOMAIN}.\tIN TXT\t\"v=DKIM1; k=ed25519; p=" in \
        s.cli("dns", DOMAIN).stdout
    signed = s.cli("dkim", "sign", DOMAIN, input="From: a@example.test\n\nhi\n").stdout
    assert "s=last;" in signed
    p = s.cli("dkim", "rotate", DOMAIN)
    p = s.cli("dkim", "rotate", DOMAIN, check=False)
    assert p.returncode == 1 and "waiting to sign already" in p.stderr


def test_dns_prints_the_mta_sts_policy_and_its_record(make_server):
    """RFC 8461: the policy file to serve (for our MX) and the TXT record
    whose id changes exactly when the file does: checked here against the
    printed file, with Python's hashlib, and with [dns] mta_sts_mode."""
    import hashlib
    ids = {}
    for mode in ("testing", "enforce"):
        s = make_server(settings={"dns": {"mta_sts_mode": mode}}, start=False)
        out = s.cli("dns", DOMAIN).stdout
        assert (f"; MTA-STS (RFC 8461): serve this file as "
                f"https://mta-sts.{DOMAIN}/.well-known/mta-sts.txt") in out
        policy = "".join(line[4:] + "\n" for line in out.splitlines()
                         if line.startswith(";   "))
        assert policy == (f"version: STSv1\nmode: {mode}\nmx: {HOST}\n"
                          "max_age: 604800\n"), policy
        m = re.search(rf'^_mta-sts\.{re.escape(DOMAIN)}\.\tIN TXT\t"v=STSv1; id=(\w+)"$',
                      out, re.M)
        assert m and m.group(1) == hashlib.sha256(policy.encode()).hexdigest()[:20], out
        ids[mode] = m.group(1)
    assert ids["testing"] != ids["enforce"]


def test_dns_check_says_what_is_missing_or_differs(make_server):
    s = make_server(start=False)
    s.cli("dkim", "keygen", DOMAIN)
    publish(s)   # every TXT record, as printed
    z = dns_zones()
    z.clear(DOMAIN, "MX")
    z.mx(DOMAIN, 10, HOST)
    dns = f"127.0.0.1@{z.port}"
    p = s.cli("dns", "check", DOMAIN, "--dns", dns, check=False)
    lines = p.stdout.splitlines()
    assert p.returncode == 0 and len(lines) == 7, p.stdout + p.stderr
    assert all(line.startswith("ok ") for line in lines), p.stdout
    assert f"ok        {DOMAIN} MX" in lines
    # a different SPF record, no DMARC record, one DKIM key replaced
    z.clear(DOMAIN, "TXT")
    z.txt(DOMAIN, "v=spf1 -all")
    z.txt(DOMAIN, "google-site-verification=abc")
    z.clear(f"_dmarc.{DOMAIN}", "TXT")
    ed = re.search(r"^(ed-\S+)\._domainkey", s.cli("dns", DOMAIN).stdout, re.M).group(1)
    z.clear(f"{ed}._domainkey.{DOMAIN}", "TXT")
    z.txt(f"{ed}._domainkey.{DOMAIN}", "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")
    p = s.cli("dns", "check", DOMAIN, "--dns", dns, check=False)
    out = p.stdout
    assert p.returncode == 1, out
    assert (f'differs   {DOMAIN} TXT (SPF): published "v=spf1 -all", expected '
            f'"v=spf1 mx -all"') in out
    assert f"missing   _dmarc.{DOMAIN} TXT (DMARC): publish \"v=DMARC1; p=quarantine;" in out
    assert f"differs   {ed}._domainkey.{DOMAIN} TXT (DKIM ed25519 key, active)" in out
    assert re.search(rf"^ok +rsa-\S+\._domainkey\.{re.escape(DOMAIN)} TXT", out, re.M)
    # two SPF records (RFC 7208 4.5: permerror), a DMARC record in the
    # wrong case (RFC 7489 6.4: not a DMARC record)
    z.txt(DOMAIN, "v=spf1 mx -all")
    z.txt(f"_dmarc.{DOMAIN}", f"v=dmarc1; p=quarantine; rua=mailto:postmaster@{DOMAIN}")
    out = s.cli("dns", "check", DOMAIN, "--dns", dns, check=False).stdout
    assert f"duplicate {DOMAIN} TXT (SPF)" in out, out
    assert f"missing   _dmarc.{DOMAIN} TXT (DMARC)" in out, out
    publish(s)   # put things back for the other tests


def test_slow_dns_is_temperror_within_the_budget(make_server, pki, theirs):
    """A key whose zone answers too late: after [smtp] timeout_auth_dns the
    message goes on, delivered, with dkim=temperror; a stop while a message
    waits for DNS ends cleanly (the message goes on at once)."""
    rsa_pem, _ = theirs
    z = dns_zones()
    z.add_zone("slow.example")
    z.slow["s._domainkey.slow.example"] = 8
    msg = (f"From: a@slow.example\r\nTo: {ALICE}\r\nSubject: slow\r\n\r\nhi\r\n").encode()
    msg = dkim.sign(msg, b"s", b"slow.example", rsa_pem) + msg
    s = make_server(settings={"smtp": {"timeout_auth_dns": "1s"}})
    started = time.time()
    assert mx_send(s, msg, sender="a@slow.example")[0] == 250
    assert time.time() - started < 6
    data = s.read_message(s.wait_messages(1)[-1])
    ar = authres_of(data)
    assert "dkim=temperror (no answer for the key) header.d=slow.example" in ar, ar
    assert "event=auth-dns-late" in s.log()
    # a stop while a message waits for its DNS: a clean exit, at once
    s2 = make_server(settings={"smtp": {"timeout_auth_dns": "60s"}})
    c = smtplib.SMTP("127.0.0.1", s2.port, timeout=30)
    c.ehlo("client.example.org")
    c.mail("a@slow.example")
    c.rcpt(ALICE)
    c.putcmd("DATA")
    assert c.getreply()[0] == 354
    c.send(msg.replace(b"\r\n.", b"\r\n..") + b".\r\n")
    time.sleep(0.5)
    started = time.time()
    s2.stop()
    assert time.time() - started < 10
    c.close()
