"""MTA-STS (RFC 8461): the TXT record from the test DNS server, the policy
from a real HTTPS server on 127.0.0.x:443 (Python's http.server with a
certificate of the test CA), and delivery to aiosmtpd or the scripted fake
MX. The server must enforce an `enforce` policy (verified certificate, MX
host listed), only report under `testing`, keep a cached policy when the
TXT record disappears, and trust a policy only from a verified server."""
import http.server
import os
import ssl
import threading
import time

from conftest import dns_zones, free_port, make_cert
from test_outbound import FakeMX, ca_of, outbound_server, peer, submit  # noqa: F401


class PolicyServer:
    """HTTPS on ip:443 serving /.well-known/mta-sts.txt."""

    def __init__(self, ip, cert, policy, content_type="text/plain"):
        self.requests = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests.append(self.path)
                if self.path != "/.well-known/mta-sts.txt":
                    self.send_error(404)
                    return
                body = outer.policy.encode()
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.policy = policy
        self.httpd = http.server.ThreadingHTTPServer((ip, 443), Handler)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert["crt"], cert["key"])
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def policy_text(mode, mx, max_age=86400):
    return (f"version: STSv1\r\nmode: {mode}\r\n" +
            "".join(f"mx: {m}\r\n" for m in mx) + f"max_age: {max_age}\r\n")


def sts_domain(pki, domain, mx_ip, web_ip, mode="enforce", mx_patterns=None, web_ca=None):
    """DNS for domain (MX mx.DOMAIN at mx_ip, the STS TXT record, the
    policy host at web_ip) and its policy server."""
    z = dns_zones()
    z.add_zone(domain)
    mx = f"mx.{domain}"
    z.mx(domain, 10, mx)
    z.a(mx, mx_ip)
    z.txt(f"_mta-sts.{domain}", "v=STSv1; id=20261123T1;")
    z.a(f"mta-sts.{domain}", web_ip)
    web_cert = make_cert(pki["dir"], web_ca or ca_of(pki), f"mta-sts.{domain}",
                         [f"DNS:mta-sts.{domain}"])
    web = PolicyServer(web_ip, web_cert, policy_text(mode, mx_patterns or [mx]))
    return z, mx, web


def test_enforce_delivers_with_a_verified_certificate(make_server, pki, peer):  # noqa: F811
    port = free_port()
    _z, mx, web = sts_domain(pki, "sts1.example", "127.0.0.60", "127.0.0.61")
    try:
        cert = make_cert(pki["dir"], ca_of(pki), mx, [f"DNS:{mx}"])
        rec = peer("127.0.0.60", port, cert=cert)
        s = outbound_server(make_server, pki, port)
        submit(s, ["friend@sts1.example"])
        assert rec.wait(s)[0][3]     # over TLS
        s.wait_log(r"event=mta-sts domain=sts1\.example mode=enforce note=\"fetched\"")
        s.wait_log(r"mx=mx\.sts1\.example tls=TLSv1\.[23] cipher=\S+ verified=yes by=mta-sts "
                   r"result=session")
        assert web.requests == ["/.well-known/mta-sts.txt"]
        cache = os.path.join(s.data, "mta-sts", "sts1.example")
        assert open(cache).read().startswith("id 20261123T1\nexpires ")
        # a second message uses the cached policy: no second fetch
        submit(s, ["friend@sts1.example"])
        rec.wait(s, n=2)
        s.wait_log(r"event=mta-sts domain=sts1\.example mode=enforce note=\"cached\"")
        assert len(web.requests) == 1
    finally:
        web.close()


def test_enforce_refuses_a_certificate_for_another_name(make_server, pki):
    port = free_port()
    _z, mx, web = sts_domain(pki, "sts2.example", "127.0.0.62", "127.0.0.63")
    wrong = make_cert(pki["dir"], ca_of(pki), "sts2-wrong", ["DNS:somewhere.else.example"])
    fake = FakeMX("127.0.0.62", port, starttls_cert=wrong)
    try:
        s = outbound_server(make_server, pki, port)
        submit(s, ["secret@sts2.example"], subject="confidential")
        s.wait_log(r"the certificate of mx\.sts2\.example is not trusted "
                   r"\(MTA-STS policy enforce\)")
        s.wait_log(r"event=retry-scheduled")
        sent = b"".join(fake.raw)
        assert b"STARTTLS" in sent and b"MAIL FROM" not in sent
        assert b"confidential" not in sent and fake.delivered == 0
    finally:
        fake.close()
        web.close()


def test_enforce_skips_an_mx_the_policy_does_not_list(make_server, pki):
    port = free_port()
    _z, _mx, web = sts_domain(pki, "sts3.example", "127.0.0.64", "127.0.0.65",
                              mx_patterns=["*.elsewhere.example"])
    fake = FakeMX("127.0.0.64", port)
    try:
        s = outbound_server(make_server, pki, port)
        submit(s, ["x@sts3.example"])
        s.wait_log(r"mx=mx\.sts3\.example .* result=skipped reply=\"4\.7\.5 the MX host is "
                   r"not in the domain's MTA-STS policy")
        time.sleep(0.3)
        assert fake.raw == []
    finally:
        fake.close()
        web.close()


def test_testing_mode_reports_and_delivers(make_server, pki):
    port = free_port()
    _z, _mx, web = sts_domain(pki, "sts4.example", "127.0.0.66", "127.0.0.67", mode="testing")
    wrong = make_cert(pki["dir"], ca_of(pki), "sts4-wrong", ["DNS:somewhere.else.example"])
    fake = FakeMX("127.0.0.66", port, starttls_cert=wrong)
    try:
        s = outbound_server(make_server, pki, port)
        submit(s, ["y@sts4.example"])
        fake.wait_end_of_data()
        s.wait_log(r"event=mta-sts domain=sts4\.example mode=testing")
        s.wait_log(r"event=mta-sts-testing domain=sts4\.example mx=mx\.sts4\.example "
                   r"would_fail=certificate")
        s.wait_log(r"event=removed")
    finally:
        fake.close()
        web.close()


def test_a_cached_policy_outlives_a_stripped_txt_record(make_server, pki, peer):  # noqa: F811
    port = free_port()
    z, mx, web = sts_domain(pki, "sts5.example", "127.0.0.68", "127.0.0.69")
    cert = make_cert(pki["dir"], ca_of(pki), mx, [f"DNS:{mx}"])
    rec = peer("127.0.0.68", port, cert=cert)
    s = outbound_server(make_server, pki, port)
    submit(s, ["z@sts5.example"])
    rec.wait(s)
    web.close()
    # an attacker removes the TXT record and takes over the MX's address
    z.clear("_mta-sts.sts5.example", "TXT")
    s.restart()     # a fresh resolver cache: the stripped record is seen
    wrong = make_cert(pki["dir"], ca_of(pki), "sts5-wrong", ["DNS:attacker.example"])
    fake = FakeMX("127.0.0.70", port, starttls_cert=wrong)
    z.clear(mx, "A")
    z.a(mx, "127.0.0.70")
    try:
        submit(s, ["z@sts5.example"], subject="after the attack")
        s.wait_log(r"event=mta-sts domain=sts5\.example mode=enforce note=\"no TXT record; "
                   r"the cached policy is used\"")
        s.wait_log(r"the certificate of mx\.sts5\.example is not trusted")
        assert b"MAIL FROM" not in b"".join(fake.raw)
    finally:
        fake.close()


def test_a_policy_from_an_unverified_server_is_not_used(make_server, pki, peer):  # noqa: F811
    port = free_port()
    rogue = {"key": os.path.join(pki["dir"], "rogue.key"),
             "crt": os.path.join(pki["dir"], "rogue.crt")}
    _z, _mx, web = sts_domain(pki, "sts6.example", "127.0.0.71", "127.0.0.72", web_ca=rogue)
    rec = peer("127.0.0.71", port)      # no TLS at all: only fine without a policy
    try:
        s = outbound_server(make_server, pki, port)
        submit(s, ["w@sts6.example"])
        rec.wait(s)
        s.wait_log(r"event=mta-sts domain=sts6\.example mode=none note=\"fetch failed: ")
        assert not os.path.exists(os.path.join(s.data, "mta-sts", "sts6.example"))
    finally:
        web.close()


def test_sigterm_ends_a_hanging_policy_fetch(make_server, pki):
    """A policy server that accepts and then says nothing must not hold a
    shutdown for the fetch's whole timeout."""
    import socket
    z = dns_zones()
    z.add_zone("sts7.example")
    z.mx("sts7.example", 10, "mx.sts7.example")
    z.a("mx.sts7.example", "127.0.0.74")
    z.txt("_mta-sts.sts7.example", "v=STSv1; id=1;")
    z.a("mta-sts.sts7.example", "127.0.0.73")
    silent = socket.socket()
    silent.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    silent.bind(("127.0.0.73", 443))
    silent.listen(4)
    try:
        s = outbound_server(make_server, pki, free_port(),
                            extra={"outbound": {"timeout_command": "60s",
                                                "timeout_connect": "60s"}})
        submit(s, ["x@sts7.example"])
        silent.settimeout(10)
        conn, _ = silent.accept()       # the fetch is under way, and hangs
        time.sleep(0.5)
        t0 = time.time()
        s.stop()
        assert time.time() - t0 < 5, s.log()
        conn.close()
    finally:
        silent.close()
