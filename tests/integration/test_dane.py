"""DANE for outbound SMTP (RFC 7672): TLSA records from a DNSSEC-signed test
zone, validated by the server's libunbound against a trust anchor the test
writes. The signatures are made by the test DNS server (ECDSA P-256); a
corrupted one must be caught, a matching TLSA record must verify a
certificate no CA vouches for, and a mismatching one must stop delivery
before a byte of mail is sent."""
import hashlib
import os
import time

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from conftest import dns_zones, free_port, make_cert
from test_outbound import FakeMX, outbound_server, peer, submit  # noqa: F401


def spki_sha256(cert_path):
    with open(cert_path, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    spki = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).digest()


def cert_sha256(cert_path):
    with open(cert_path, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).digest()


def rogue(pki):
    """A CA the server does not trust: only DANE can vouch for its certificates."""
    d = pki["dir"]
    return {"key": os.path.join(d, "rogue.key"), "crt": os.path.join(d, "rogue.crt")}


def signed_zone(pki, domain, ip, tlsa=None, bogus_tlsa=False):
    """A signed zone: MX mx.DOMAIN at ip, with TLSA records (usage,
    selector, mtype, data) at _PORT._tcp.mx.DOMAIN once the port is known."""
    z = dns_zones()
    anchor = z.sign(domain)
    mx = f"mx.{domain}"
    z.mx(domain, 10, mx)
    z.a(mx, ip)
    path = os.path.join(pki["dir"], f"{domain}.anchor")
    with open(path, "w") as f:
        f.write(anchor)
    return z, mx, path


def dane_server(make_server, pki, port, anchor, routes=None):
    return outbound_server(make_server, pki, port, routes=routes,
                           extra={"dns": {"trust_anchor": anchor}})


def test_matching_dane_ee_record_verifies_a_certificate_no_ca_signed(make_server, pki, peer):  # noqa: F811
    port = free_port()
    z, mx, anchor = signed_zone(pki, "dane1.example", "127.0.0.40")
    cert = make_cert(pki["dir"], rogue(pki), "dane1-mx", ["DNS:unrelated.example"])
    z.tlsa(f"_{port}._tcp.{mx}", 3, 1, 1, spki_sha256(cert["crt"]))
    rec = peer("127.0.0.40", port, cert=cert)
    s = dane_server(make_server, pki, port, anchor)   # tls = dane by default
    submit(s, ["friend@dane1.example"])
    _from, rcpts, _content, tls = rec.wait(s)[0]
    assert rcpts == ["friend@dane1.example"] and tls
    s.wait_log(r"event=attempt domain=dane1\.example mx=mx\.dane1\.example tls=TLSv1\.[23] "
               r"cipher=\S+ verified=yes by=dane result=session")
    assert (f"_{port}._tcp.{mx}", "TLSA") in z.queries


def test_dane_ta_record_checks_the_chain_and_the_mx_name(make_server, pki, peer):  # noqa: F811
    port = free_port()
    z, mx, anchor = signed_zone(pki, "dane2.example", "127.0.0.41")
    cert = make_cert(pki["dir"], rogue(pki), "dane2-mx", [f"DNS:{mx}"])
    chain = os.path.join(pki["dir"], "dane2-chain.crt")
    with open(chain, "w") as f:      # DANE-TA: the server sends its trust anchor
        f.write(open(cert["crt"]).read() + open(rogue(pki)["crt"]).read())
    z.tlsa(f"_{port}._tcp.{mx}", 2, 0, 1, cert_sha256(rogue(pki)["crt"]))
    rec = peer("127.0.0.41", port, cert={"crt": chain, "key": cert["key"]})
    s = dane_server(make_server, pki, port, anchor, routes={"dane2.example": {"tls": "dane-only"}})
    submit(s, ["friend@dane2.example"])
    assert rec.wait(s)[0][3]
    s.wait_log(r"mx=mx\.dane2\.example tls=TLSv1\.[23] cipher=\S+ verified=yes by=dane "
               r"result=session")


def test_mismatching_tlsa_defers_and_sends_nothing(make_server, pki):
    port = free_port()
    z, mx, anchor = signed_zone(pki, "dane3.example", "127.0.0.42")
    cert = make_cert(pki["dir"], rogue(pki), "dane3-mx", [f"DNS:{mx}"])
    z.tlsa(f"_{port}._tcp.{mx}", 3, 1, 1, b"\x00" * 32)    # not its key
    fake = FakeMX("127.0.0.42", port, starttls_cert=cert)
    try:
        s = dane_server(make_server, pki, port, anchor)
        submit(s, ["secret@dane3.example"], subject="confidential")
        s.wait_log(r"the certificate of mx\.dane3\.example matches no TLSA record")
        s.wait_log(r"queue=\w+ event=retry-scheduled")
        sent = b"".join(fake.raw)
        assert b"STARTTLS" in sent
        assert b"MAIL FROM" not in sent and fake.delivered == 0
        assert b"confidential" not in sent
    finally:
        fake.close()


def test_bogus_tlsa_answer_means_that_host_is_not_used(make_server, pki):
    port = free_port()
    z, mx, anchor = signed_zone(pki, "dane4.example", "127.0.0.43")
    z.tlsa(f"_{port}._tcp.{mx}", 3, 1, 1, b"\x11" * 32)
    z.make_bogus(f"_{port}._tcp.{mx}", "TLSA")   # as a forged answer would be
    fake = FakeMX("127.0.0.43", port)
    try:
        s = dane_server(make_server, pki, port, anchor)
        submit(s, ["someone@dane4.example"])
        s.wait_log(r"domain=dane4\.example mx=mx\.dane4\.example tls=none cipher=none "
                   r"verified=no by=none result=skipped reply=\"4\.7\.5 the TLSA lookup failed")
        s.wait_log(r"event=retry-scheduled")
        time.sleep(0.3)
        assert fake.raw == []          # not even a connection
    finally:
        fake.close()


def test_no_tlsa_records_dane_falls_back_dane_only_waits(make_server, pki, peer):  # noqa: F811
    port = free_port()
    _z, _mx, anchor5 = signed_zone(pki, "dane5.example", "127.0.0.44")
    _z, _mx, anchor6 = signed_zone(pki, "dane6.example", "127.0.0.45")
    both = os.path.join(pki["dir"], "dane56.anchor")
    with open(both, "w") as f:
        f.write(open(anchor5).read() + open(anchor6).read())
    rec5 = peer("127.0.0.44", port)
    fake6 = FakeMX("127.0.0.45", port)
    try:
        s = dane_server(make_server, pki, port, both,
                        routes={"dane6.example": {"tls": "dane-only"}})
        # validated absence of TLSA records: dane is opportunistic TLS
        submit(s, ["a@dane5.example"])
        assert rec5.wait(s)[0][1] == ["a@dane5.example"]
        s.wait_log(r"mx=mx\.dane5\.example tls=none .* result=session")
        # dane-only: that host is not used at all
        submit(s, ["b@dane6.example"])
        s.wait_log(r"mx=mx\.dane6\.example .* result=skipped reply=\"4\.7\.5 no "
                   r"DNSSEC-validated TLSA records")
        time.sleep(0.3)
        assert fake6.raw == []
    finally:
        fake6.close()


def test_without_a_trust_anchor_nothing_counts_as_secure(make_server, pki, peer):  # noqa: F811
    """The same signed zone, but the server has no trust anchor: TLSA
    records are never trusted, so dane-only waits and dane is plain may."""
    port = free_port()
    z, mx, _anchor = signed_zone(pki, "dane7.example", "127.0.0.46")
    cert = make_cert(pki["dir"], rogue(pki), "dane7-mx", [f"DNS:{mx}"])
    z.tlsa(f"_{port}._tcp.{mx}", 3, 1, 1, spki_sha256(cert["crt"]))
    peer("127.0.0.46", port, cert=cert)
    s = outbound_server(make_server, pki, port, routes={"dane7.example": {"tls": "dane-only"}})
    submit(s, ["c@dane7.example"])
    s.wait_log(r"mx=mx\.dane7\.example .* result=skipped reply=\"4\.7\.5 the MX records "
               r"are not DNSSEC-validated")


def test_a_forged_address_answer_does_not_switch_dane_off(make_server, pki):
    """The A answer validates, the AAAA one is forged (bogus): the host is
    not taken as insecure (which would mean no DANE at all) but skipped."""
    port = free_port()
    z, mx, anchor = signed_zone(pki, "dane8.example", "127.0.0.47")
    z.aaaa(mx, "::1")
    z.make_bogus(mx, "AAAA")
    z.tlsa(f"_{port}._tcp.{mx}", 3, 1, 1, b"\x22" * 32)
    fake = FakeMX("127.0.0.47", port)
    try:
        s = dane_server(make_server, pki, port, anchor)
        submit(s, ["v@dane8.example"])
        s.wait_log(r"mx=mx\.dane8\.example .* result=skipped reply=\"4\.7\.5 the TLSA "
                   r"lookup failed")
        time.sleep(0.3)
        assert fake.raw == []
    finally:
        fake.close()
