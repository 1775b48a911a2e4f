"""A test DNS server (dnslib) on 127.0.0.1 that serves the zones a test
writes. Names inside a zone it serves that have no record of the type asked
get NODATA or NXDOMAIN, as a real authoritative server would; names outside
every zone get SERVFAIL, so that nothing a test forgot ever reaches the
machine's resolver or the Internet."""
import threading

from dnslib import AAAA, MX, QTYPE, RCODE, RR, TXT, A, DNSLabel
from dnslib.server import BaseResolver, DNSLogger, DNSServer


class Zones(BaseResolver):
    def __init__(self):
        self.lock = threading.Lock()
        self.zones = set()
        self.records = {}   # (name, qtype) -> [rdata]
        self.queries = []   # (name, qtype) asked, for tests that check

    def add_zone(self, zone):
        with self.lock:
            self.zones.add(zone.lower().rstrip("."))

    def add(self, name, rtype, rdata):
        name = name.lower().rstrip(".")
        with self.lock:
            self.records.setdefault((name, rtype), []).append(rdata)

    def clear(self, name, rtype):
        with self.lock:
            self.records.pop((name.lower().rstrip("."), rtype), None)

    def in_zone(self, name):
        return any(name == z or name.endswith("." + z) for z in self.zones)

    def resolve(self, request, handler):
        reply = request.reply()
        q = request.q
        name = str(q.qname).lower().rstrip(".")
        qtype = QTYPE[q.qtype]
        with self.lock:
            self.queries.append((name, qtype))
            if not self.in_zone(name):
                reply.header.rcode = RCODE.SERVFAIL
                return reply
            found = self.records.get((name, qtype), [])
            exists = any(n == name for (n, _t) in self.records)
        for rdata in found:
            reply.add_answer(RR(q.qname, q.qtype, rdata=rdata, ttl=60))
        if not found and not exists:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply

    # helpers for the record types tests use
    def mx(self, domain, pref, host):
        self.add(domain, "MX", MX(DNSLabel(host), pref))

    def a(self, name, ip):
        self.add(name, "A", A(ip))

    def aaaa(self, name, ip):
        self.add(name, "AAAA", AAAA(ip))

    def txt(self, name, text):
        self.add(name, "TXT", TXT(text))


def start(port):
    zones = Zones()
    quiet = DNSLogger(logf=lambda _s: None)
    servers = [DNSServer(zones, port=port, address="127.0.0.1", tcp=tcp,
                         logger=quiet)
               for tcp in (False, True)]
    for s in servers:
        s.start_thread()
    return zones, servers
