"""End to end: alice submits to one Postern (example.test, DKIM keys made
with `postern dkim keygen`, the records `postern dns` prints published on
the test DNS server as they are), it delivers over SMTP to a second Postern
(b.example), and there the message arrives with Authentication-Results
saying dkim=pass (both signatures), spf=pass and dmarc=pass."""
import glob
import os
import re
import time

from conftest import DOMAIN, HOST, PASSWORD, dns_zones, free_port
from test_dkim import authres_of, publish
from test_outbound import outbound_server, submit

ALICE = f"alice@{DOMAIN}"


def test_submitted_mail_passes_at_another_postern(make_server, pki):
    port = free_port()
    b = make_server(provision=False, start=False, listeners={
        "smtp": {"address": f"127.0.0.1:{port}", "tls": "starttls"}})
    b.settings[""]["hostname"] = "mx.b.example"
    b.write_config()
    b.cli("domain", "add", "b.example")
    b.add_user("bob@b.example")
    b.start()

    a = outbound_server(make_server, pki, port)
    a.cli("dkim", "keygen", DOMAIN)          # the running server is told
    a.wait_log(r"event=keys-loaded keys=2")
    records = publish(a)                     # every TXT record, as printed
    assert '"v=spf1 mx -all"' in records
    z = dns_zones()
    for name, mx in ((DOMAIN, HOST), ("b.example", "mx.b.example")):
        z.add_zone(name)
        z.clear(name, "MX")
        z.mx(name, 10, mx)
        z.clear(mx, "A")
        z.a(mx, "127.0.0.1")   # the SPF "mx" of example.test is this host

    submit(a, ["bob@b.example"], subject="across")
    new = os.path.join(b.data, "mail", "b.example", "bob", "new")
    deadline = time.time() + 20
    while not glob.glob(os.path.join(new, "*")):
        assert time.time() < deadline, a.log() + b.log()
        time.sleep(0.05)
    [path] = glob.glob(os.path.join(new, "*"))
    data = b.read_message(path)
    ar = authres_of(data)
    assert ar.startswith("mx.b.example; "), ar
    results = dict()
    for part in ar.split("; ")[1:]:
        method, rest = part.split("=", 1)
        results.setdefault(method, []).append(rest)
    assert len(results["dkim"]) == 2, ar
    for r in results["dkim"]:
        assert r.startswith(f"pass header.d={DOMAIN} header.i=@{DOMAIN} "), ar
    assert f"pass smtp.mailfrom={ALICE}" in results["spf"], ar
    assert results["dmarc"] == [f"pass (p=quarantine dis=none) header.from={DOMAIN}"], ar
    assert re.search(rb"^Subject: across$", data, re.M)
