"""TLS-RPT (RFC 8460): outbound TLS outcomes are recorded per recipient
domain and, on request (`postern queue tls-reports`; daily by itself),
mailed as a JSON report to the rua address of the domain's _smtp._tls TXT
record. Here the rua is a local mailbox, so the report can be read back and
checked with Python's email and json modules."""
import calendar
import email
import json
import os
import time

from conftest import DOMAIN, free_port, make_cert
from test_mta_sts import sts_domain
from test_outbound import FakeMX, ca_of, outbound_server, peer, submit, zone  # noqa: F401

RUA = f"alice@{DOMAIN}"


def reports(s, n, timeout=20):
    """The TLS reports in alice's mailbox, as (message, json) pairs."""
    deadline = time.time() + timeout
    while len(s.messages("alice")) < n and time.time() < deadline:
        time.sleep(0.1)
    out = []
    for path in s.messages("alice"):
        msg = email.message_from_bytes(s.read_message(path))
        for part in msg.walk():
            if part.get_content_type() == "application/tlsrpt+json":
                out.append((msg, json.loads(part.get_payload(decode=True))))
    assert len(out) == n, s.log()
    return out


def test_failures_and_successes_are_reported_to_the_rua(make_server, pki, peer):  # noqa: F811
    port = free_port()
    # rpt1: MTA-STS enforce, but the MX shows a certificate for another name
    z, _mx, web = sts_domain(pki, "rpt1.example", "127.0.0.90", "127.0.0.91")
    z.txt("_smtp._tls.rpt1.example", f"v=TLSRPTv1; rua=mailto:{RUA}")
    wrong = make_cert(pki["dir"], ca_of(pki), "rpt1-wrong", ["DNS:somewhere.else.example"])
    fake = FakeMX("127.0.0.90", port, starttls_cert=wrong)
    # rpt2: no policy, TLS that works
    zone("rpt2.example", mx=[(10, "mx.rpt2.example")], a={"mx.rpt2.example": "127.0.0.92"})
    z.txt("_smtp._tls.rpt2.example", f"v=TLSRPTv1;rua=mailto:{RUA},https://x.example/r")
    cert2 = make_cert(pki["dir"], ca_of(pki), "mx.rpt2.example", ["DNS:mx.rpt2.example"])
    rec2 = peer("127.0.0.92", port, cert=cert2)
    # rpt3: results, but no _smtp._tls record: no report
    zone("rpt3.example", mx=[(10, "mx.rpt3.example")], a={"mx.rpt3.example": "127.0.0.93"})
    cert3 = make_cert(pki["dir"], ca_of(pki), "mx.rpt3.example", ["DNS:mx.rpt3.example"])
    rec3 = peer("127.0.0.93", port, cert=cert3)
    try:
        s = outbound_server(make_server, pki, port,
                            extra={"queue": {"retry_min": "1h", "retry_max": "1h"}})
        submit(s, ["x@rpt1.example"])
        s.wait_log(r"certificate of mx\.rpt1\.example is not trusted")
        submit(s, ["y@rpt2.example"])
        rec2.wait(s)
        submit(s, ["z@rpt3.example"])
        rec3.wait(s)
        s.wait_log(r"event=removed", count=2)
        assert sorted(os.listdir(os.path.join(s.data, "tlsrpt"))) == \
            ["rpt1.example", "rpt2.example", "rpt3.example"]

        out = s.cli("queue", "tls-reports").stdout
        assert out == "3 domains asked\n"
        got = {r["policies"][0]["policy"]["policy-domain"]: (m, r) for m, r in reports(s, 2)}
        assert sorted(got) == ["rpt1.example", "rpt2.example"]

        msg, r1 = got["rpt1.example"]
        assert msg["TLS-Report-Domain"] == "rpt1.example"
        assert msg["TLS-Report-Submitter"] == "mx.example.test"
        assert msg["Subject"].startswith("Report Domain: rpt1.example Submitter: "
                                         "mx.example.test Report-ID: <")
        assert msg.get_content_type() == "multipart/report"
        assert msg.get_param("report-type") == "tlsrpt"
        assert r1["organization-name"] == "mx.example.test"
        # RFC 8460 5.1: sender!policy-domain!begin!end!id, in epoch seconds
        start = int(calendar.timegm(time.strptime(time.strftime("%Y-%m-%d", time.gmtime()),
                                                  "%Y-%m-%d")))
        [part] = [p for p in msg.walk() if p.get_content_type() == "application/tlsrpt+json"]
        assert part.get_filename().startswith(
            f"mx.example.test!rpt1.example!{start}!{start + 86399}!")
        day = time.strftime("%Y-%m-%d", time.gmtime())
        assert r1["date-range"] == {"start-datetime": f"{day}T00:00:00Z",
                                    "end-datetime": f"{day}T23:59:59Z"}
        [pol] = r1["policies"]
        assert pol["policy"]["policy-type"] == "sts"
        assert pol["summary"] == {"total-successful-session-count": 0,
                                  "total-failure-session-count": 1}
        assert pol["failure-details"] == [{
            "result-type": "certificate-host-mismatch",
            "receiving-mx-hostname": "mx.rpt1.example",
            "receiving-ip": "127.0.0.90", "failed-session-count": 1}]

        _msg, r2 = got["rpt2.example"]
        [pol] = r2["policies"]
        assert pol["policy"]["policy-type"] == "no-policy-found"
        assert pol["summary"] == {"total-successful-session-count": 1,
                                  "total-failure-session-count": 0}
        assert "failure-details" not in pol
        # everything was taken: reported or dropped
        assert os.listdir(os.path.join(s.data, "tlsrpt")) == []
    finally:
        fake.close()
        web.close()
