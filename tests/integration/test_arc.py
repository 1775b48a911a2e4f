"""ARC (RFC 8617): the public ARC test suite (tests/data/arc, see its
README), every case, through src/mailauth/arc.c and arcseal.c driven by
build/tests/arc_stub. The suite's key records are given to the stub as the
suite defines them.

Validation: each case's chain status must be the suite's cv. The few cases
the suite leaves blank (the newest seal says cv=fail) must be "fail", as
RFC 8617 5.2 step 2 says.

Signing: the suite gives the time, the key, the fields to sign and the
Authentication-Results to carry; the stub's ARC-Seal and
ARC-Message-Signature must be the suite's, tag for tag and signature for
signature (RSA PKCS#1 v1.5 is deterministic), and the new set must then
validate. dkimpy (python3-dkim), an independent implementation, must
validate the sealed message too."""
import os
import re
import subprocess

import pytest
import yaml

from test_dkim import theirs  # noqa: F401  (a fixture)

HERE = os.path.dirname(__file__)
DATA = os.path.join(HERE, "..", "data", "arc")
STUB = os.path.join(os.path.dirname(os.environ.get("POSTERN_BIN", "build/postern")),
                    "tests", "arc_stub")


def load(name):
    with open(os.path.join(DATA, name)) as f:
        return list(yaml.safe_load_all(f))


def cases(name):
    out = []
    for scenario in load(name):
        for test, case in scenario["tests"].items():
            out.append(pytest.param(scenario, case, id=test))
    return out


def key_lines(scenario):
    """The suite's TXT records, one line each (folds joined)."""
    return "".join("%s\t%s\n" % (name, re.sub(r"\s+", "", value).replace(";", "; "))
                   for name, value in scenario["txt-records"].items())


def run_stub(tmp_path, scenario, message, *args):
    msg = tmp_path / "msg"
    msg.write_bytes(message.encode())
    keys = tmp_path / "keys"
    keys.write_text(key_lines(scenario))
    return subprocess.run([STUB, args[0], str(msg), str(keys), *args[1:]],
                          capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("scenario,case", cases("arc-draft-validation-tests.yml"))
def test_validation(tmp_path, scenario, case):
    got = run_stub(tmp_path, scenario, case["message"], "verify")
    assert got.returncode == 0, got.stderr
    cv, reason = got.stdout.rstrip("\n").split("\t")
    want = (case["cv"] or "fail").lower()
    assert cv == want, reason


def test_a_key_lookup_that_fails_for_now_is_temporary(tmp_path):
    """A chain that cannot be checked for want of a key now fails, marked
    temporary (the server then does not seal it as cv=fail)."""
    scenario, case = suite_case("cv_pass_i2_1")
    scenario = dict(scenario, **{"txt-records": {
        name: "TEMPFAIL" for name in scenario["txt-records"]}})
    got = run_stub(tmp_path, scenario, case["message"], "verify")
    assert got.stdout.rstrip("\n").split("\t") == [
        "fail", "ARC-Message-Signature i=2: a key lookup failed", "temporary"], got.stdout


def test_a_failed_chain_with_a_field_added_is_not_sealed(tmp_path):
    """RFC 8617 5.1.2: the newest seal says cv=fail; a duplicate field
    added to the chain must not make it look merely broken and sealable."""
    scenario, case = suite_case("cv_fail_i1_as_cv_fail")
    message = "ARC-Authentication-Results: i=1; added.example; none\n" + case["message"]
    pem = tmp_path / "key.pem"
    pem.write_text(load("arc-draft-sign-tests.yml")[1]["privatekey"])
    (tmp_path / "authres").write_text("mx.example.net; arc=fail")
    got = run_stub(tmp_path, scenario, message, "sign", str(pem), "example.org", "dummy",
                   "12345", "from:to", "fail", str(tmp_path / "authres"))
    assert got.returncode == 0 and got.stdout == "", got.stdout


def test_a_chain_naming_too_many_keys_fails_without_lookups(tmp_path):
    """Eleven sets, each sealed with its own selector: more keys than
    ARC_KEYS_MAX (10) is a failure before any lookup."""
    scenario = load("arc-draft-sign-tests.yml")[1]
    pem = tmp_path / "key.pem"
    pem.write_text(scenario["privatekey"])
    (tmp_path / "authres").write_text("mx.example.net; arc=pass")
    rec = re.sub(r"\s+", "", scenario["txt-records"]["dummy._domainkey.example.org"])
    keys = {f"s{i}._domainkey.example.org": rec for i in range(12)}
    message = load("arc-draft-validation-tests.yml")[0]["tests"]["cv_base1"]["message"]
    for i in range(11):
        s2 = dict(scenario, **{"txt-records": keys})
        got = run_stub(tmp_path, s2, message, "sign", str(pem), "example.org", f"s{i}",
                       "12345", "from:to", "none" if i == 0 else "pass",
                       str(tmp_path / "authres"))
        assert got.returncode == 0 and got.stdout, got.stderr
        message = got.stdout + message
        check = run_stub(tmp_path, s2, message, "verify").stdout
        if i < 9:
            assert check.startswith("pass\t"), (i, check)
    assert check.rstrip("\n").split("\t") == [
        "fail", "ARC-Seal i=1: the chain names too many keys"], check


def tags(value):
    """A field value's tags, blanks removed from b= and bh=."""
    out = {}
    for part in value.split(";"):
        if "=" in part:
            k, v = part.split("=", 1)
            v = " ".join(v.split())
            out[k.strip()] = v.replace(" ", "") if k.strip() in ("b", "bh") else v
    return out


def fields(text):
    """name -> unfolded value, for the stub's output."""
    out = {}
    for m in re.finditer(r"^([A-Za-z-]+):(.*(?:\n[ \t].*)*)", text, re.M):
        out[m.group(1)] = m.group(2)
    return out


def authres_value(message, srv_id):
    """The Authentication-Results fields with our id, merged into one value
    (as the suite's signer does)."""
    header = message.split("\n\n", 1)[0]
    values = [m.group(1) for m in re.finditer(
        r"^Authentication-Results:(.*(?:\n[ \t].*)*)", header, re.M | re.I)]
    results = []
    for v in values:
        v = " ".join(v.split())
        ident, _, rest = v.partition(";")
        if ident.strip() == srv_id and rest.strip():
            results.append(rest.strip().rstrip(";"))
    return "%s; %s" % (srv_id, "; ".join(results))


def cv_of(authres):
    m = re.search(r"\barc=(\w+)", authres)
    return m.group(1) if m else "none"


@pytest.mark.parametrize("scenario,case", cases("arc-draft-sign-tests.yml"))
def test_signing(tmp_path, scenario, case):
    pem = tmp_path / "key.pem"
    pem.write_text(scenario["privatekey"])
    authres = authres_value(case["message"], case["srv-id"])
    (tmp_path / "authres").write_text(authres)
    got = run_stub(tmp_path, scenario, case["message"], "sign", str(pem),
                   scenario["domain"], scenario["sel"], str(case["t"]),
                   case["sig-headers"], cv_of(authres), str(tmp_path / "authres"))
    assert got.returncode == 0, got.stderr
    if not case["AS"]:
        assert got.stdout == "", "sealed a chain whose newest seal says cv=fail"
        return
    out = fields(got.stdout)
    assert tags(out["ARC-Message-Signature"]) == tags(case["AMS"])
    assert tags(out["ARC-Seal"]) == tags(case["AS"])
    assert " ".join(out["ARC-Authentication-Results"].split()) == \
        " ".join(case["AAR"].split())
    sealed = got.stdout + case["message"]
    check = run_stub(tmp_path, scenario, sealed, "verify")
    want = "fail" if "cv=fail" in got.stdout else "pass"
    assert check.stdout.split("\t")[0] == want, check.stdout
    assert dkimpy_cv(scenario, sealed) == want


def dkimpy_cv(scenario, message):
    """dkimpy's chain status for message, keys from the suite."""
    import dkim
    records = {name.encode() + b".": re.sub(r"\s+", "", value).replace(";", "; ").encode()
               for name, value in scenario["txt-records"].items()}

    def dnsfunc(name, timeout=5):
        return records.get(name if name.endswith(b".") else name + b".")
    cv, _, _ = dkim.arc_verify(message.replace("\n", "\r\n").encode(), dnsfunc=dnsfunc)
    # dkimpy gives no status (None) for a chain whose newest seal says
    # cv=fail: it stops there, as RFC 8617 5.2 step 2 does
    return "fail" if cv is None else cv.decode().lower()


def suite_case(name):
    for scenario in load("arc-draft-validation-tests.yml"):
        if name in scenario["tests"]:
            return scenario, scenario["tests"][name]
    raise KeyError(name)


@pytest.mark.parametrize("name,want", [
    ("cv_pass_i2_1", "arc=pass (i=2 d=example.org)"),
    ("cv_pass_i5_1", "arc=pass (i=5 d=example.org)"),
    ("cv_fail_i2_as1_invalid", "arc=fail (ARC-Seal i=1: b= is missing or not base64)"),
    ("as_fields_b_ams1", "arc=fail (ARC-Seal i=1: the seal did not verify)"),
    ("ams_fields_bh_mod_body", "arc=fail (ARC-Message-Signature i=1: the body hash did not verify)"),
    ("public_key_na", "arc=fail (ARC-Seal i=1: no key record)"),
    ("cv_fail_i1_as_cv_fail", "arc=fail (the newest ARC-Seal says cv=fail)"),
])
def test_postern_check_reads_the_chain_over_dns(name, want):
    """`postern check` asks the test DNS server for the suite's key and
    prints the chain's status."""
    from conftest import BIN, dns_zones
    z = dns_zones()
    z.add_zone("example.org")
    scenario, case = suite_case(name)
    for key, value in scenario["txt-records"].items():
        z.clear(key, "TXT")
        z.txt(key, re.sub(r"\s+", "", value).replace(";", "; "))
    p = subprocess.run([BIN, "check", "--dns", f"127.0.0.1@{z.port}"],
                       input=case["message"].replace("\n", "\r\n").encode(),
                       capture_output=True, timeout=60)
    lines = p.stdout.decode().splitlines()
    assert want in lines, p.stdout.decode() + p.stderr.decode()


def test_postern_check_without_a_chain_prints_no_arc_line():
    from conftest import BIN, dns_zones
    z = dns_zones()
    scenario, case = suite_case("cv_base1")
    p = subprocess.run([BIN, "check", "--dns", f"127.0.0.1@{z.port}"],
                       input=case["message"].encode(), capture_output=True, timeout=60)
    assert not any(line.startswith("arc=") for line in p.stdout.decode().splitlines())
    assert p.stdout.decode().startswith("dkim=none"), p.stdout.decode()


# --- sealing what an alias forwards, end to end ------------------------------

def dns_txt(name, timeout=5):
    """TXT answer for dkimpy, from the test DNS server (joined strings)."""
    from dnslib import DNSRecord
    from conftest import dns_zones
    name = name.decode().rstrip(".")
    reply = DNSRecord.parse(DNSRecord.question(name, "TXT").send(
        "127.0.0.1", dns_zones().port, timeout=5))
    texts = [b"".join(rr.rdata.data) for rr in reply.rr if rr.rtype == 16]
    return texts[0] if texts else None


def final_hop(make_server):
    """c.example: a Postern that receives for carol (the forward's target)."""
    from conftest import dns_zones, free_port
    port = free_port()
    c = make_server(provision=False, start=False, listeners={
        "smtp": {"address": f"127.0.0.1:{port}", "tls": "starttls"}})
    c.settings[""]["hostname"] = "mx.c.example"
    c.write_config()
    c.cli("domain", "add", "c.example")
    c.add_user("carol@c.example")
    c.start()
    z = dns_zones()
    z.add_zone("c.example")
    z.clear("c.example", "MX")
    z.mx("c.example", 10, "mx.c.example")
    z.clear("mx.c.example", "A")
    z.a("mx.c.example", "127.0.0.1")
    return c, port


def forwarder(make_server, pki, port):
    """example.test with DKIM keys published and fwd@ forwarding to
    carol@c.example, delivering to port."""
    from conftest import DOMAIN
    from test_dkim import publish
    from test_outbound import outbound_server
    b = outbound_server(make_server, pki, port)
    b.port = int(b.listeners["smtp"]["address"].rsplit(":", 1)[1])
    b.cli("dkim", "keygen", DOMAIN)
    b.wait_log(r"event=keys-loaded keys=2")
    publish(b)
    out = b.cli("alias", "add", f"fwd@{DOMAIN}", "carol@c.example").stdout
    assert "forwarded elsewhere" in out
    return b


def arrived(server, user, domain, timeout=20):
    import glob
    import time
    new = os.path.join(server.data, "mail", domain, user, "new")
    deadline = time.time() + timeout
    while not glob.glob(os.path.join(new, "*")):
        assert time.time() < deadline, server.log()
        time.sleep(0.05)
    [path] = glob.glob(os.path.join(new, "*"))
    return server.read_message(path)


def test_forwarded_mail_is_sealed_and_passes_at_the_next_hop(make_server, pki, theirs):
    """Mail from dkimpy.example (signed by dkimpy) reaches fwd@example.test,
    an alias forwarding to carol@c.example. The forwarding Postern seals it
    (ARC, i=1, carrying its Authentication-Results) with example.test's DKIM
    key; the next Postern says arc=pass, and dkimpy validates the chain."""
    import dkim
    from conftest import DOMAIN, HOST
    from test_dkim import THEIRS, authres_of, dkimpy_sign, mx_send
    c, port = final_hop(make_server)
    b = forwarder(make_server, pki, port)
    rsa_pem, _ = theirs
    msg = dkimpy_sign(THEIRS, rsa_pem, "r", "rsa-sha256")
    assert mx_send(b, msg, rcpt=f"fwd@{DOMAIN}") == (250, "")
    data = arrived(c, "carol", "c.example")
    b.wait_log(r"event=arc-sealed instance=1 cv=none domain=example\.test")
    ar = authres_of(data)
    assert ar.startswith("mx.c.example; "), ar
    assert "dkim=pass header.d=dkimpy.example" in ar, ar
    assert f"arc=pass (i=1 d={DOMAIN})" in ar, ar
    # the set went on top of what the forwarder received, under the next
    # hop's own field
    assert data.index(b"Authentication-Results: mx.c.example") < \
        data.index(b"ARC-Seal: a=rsa-sha256;") < \
        data.index(b"ARC-Message-Signature: ") < \
        data.index(b"ARC-Authentication-Results: i=1; ") < \
        data.index(b"Authentication-Results: " + HOST.encode()), data
    assert re.search(rb"^ARC-Authentication-Results: i=1; " + HOST.encode() +
                     rb";\n\tdkim=pass header.d=dkimpy\.example", data, re.M), data
    cv, _, reason = dkim.arc_verify(data.replace(b"\n", b"\r\n"), dnsfunc=dns_txt)
    assert cv == b"pass", reason


def test_a_chain_that_already_failed_is_not_sealed_again(make_server, pki):
    """RFC 8617 5.1.2: a message whose newest seal says cv=fail is
    forwarded as it is, without a new set."""
    from conftest import DOMAIN
    from test_dkim import mx_send
    c, port = final_hop(make_server)
    b = forwarder(make_server, pki, port)
    scenario, case = suite_case("cv_fail_i1_as_cv_fail")
    msg = case["message"].replace("\n", "\r\n").encode()
    assert mx_send(b, msg, sender="jqd@d1.example.org", rcpt=f"fwd@{DOMAIN}") == (250, "")
    data = arrived(c, "carol", "c.example")
    b.wait_log(r"event=arc-seal result=skipped domain=example\.test "
               r"reason=\"the chain ends with cv=fail or is full\"")
    assert len(re.findall(rb"^ARC-Seal:", data, re.M)) == 1, data
    assert "arc=fail (the newest ARC-Seal says cv=fail)" in \
        (b"".join(data.split(b"\n\t"))).decode()
