"""A test DNS server (dnslib) on 127.0.0.1 that serves the zones a test
writes. Names inside a zone it serves that have no record of the type asked
get NODATA or NXDOMAIN, as a real authoritative server would; names outside
every zone get SERVFAIL, so that nothing a test forgot ever reaches the
machine's resolver or the Internet.

A zone can be signed (DNSSEC, RFC 4033-4035, ECDSA P-256 / algorithm 13,
RFC 6605): answers then carry RRSIGs, and NODATA and NXDOMAIN answers carry
NSEC proofs, made on the fly from the records of the moment, so that the
server's libunbound can validate them against the trust anchor the test
writes (trust_anchor_line()). A record set can be marked bogus: its
signature is then corrupted, as an attacker's forgery would look."""
import struct
import threading
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from dnslib import AAAA, EDNS0, MX, QTYPE, RCODE, RD, RR, TLSA, TXT, A, DNSBuffer, DNSLabel
from dnslib.server import BaseResolver, DNSLogger, DNSServer

TTL = 60
ALG_ECDSAP256SHA256 = 13


def name_wire(name):
    """A name in canonical wire form (RFC 4034 6.2): lower case, no
    compression."""
    out = b""
    for label in name.lower().rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def canonical_key(name):
    """Sort key for RFC 4034 6.1 canonical name order."""
    return tuple(label.encode() for label in reversed(name.lower().rstrip(".").split(".")))


def rdata_wire(rdata):
    if isinstance(rdata, RD) and type(rdata) is RD:
        return rdata.data
    buf = DNSBuffer()
    rdata.pack(buf)     # a fresh buffer: no name compression
    return bytes(buf.data)


def type_bitmap(types):
    """NSEC type bit maps (RFC 4034 4.1.2)."""
    out = b""
    for window in sorted({t >> 8 for t in types}):
        bits = bytearray(32)
        for t in types:
            if t >> 8 == window:
                bits[(t & 0xff) >> 3] |= 0x80 >> (t & 7)
        length = max(i for i, b in enumerate(bits) if b) + 1
        out += bytes([window, length]) + bytes(bits[:length])
    return out


class SignedZone:
    """The key of one signed zone (one key signs all, flags 257)."""

    def __init__(self, apex):
        self.apex = apex
        self.key = ec.generate_private_key(ec.SECP256R1())
        nums = self.key.public_key().public_numbers()
        self.public = nums.x.to_bytes(32, "big") + nums.y.to_bytes(32, "big")
        self.dnskey = struct.pack("!HBB", 257, 3, ALG_ECDSAP256SHA256) + self.public
        ac = 0
        for i, b in enumerate(self.dnskey):     # RFC 4034 Appendix B
            ac += b if i & 1 else b << 8
        ac += (ac >> 16) & 0xFFFF
        self.key_tag = ac & 0xFFFF

    def rrsig(self, owner, rtype, rdatas, corrupt=False):
        """RRSIG rdata over the RRset (owner, rtype) of rdata bytes."""
        now = int(time.time())
        labels = len([x for x in owner.rstrip(".").split(".") if x and x != "*"])
        head = struct.pack("!HBBIIIH", rtype, ALG_ECDSAP256SHA256, labels, TTL,
                           now + 7 * 86400, now - 3600, self.key_tag) + name_wire(self.apex)
        signed = head
        for rd in sorted(rdatas):
            signed += name_wire(owner) + struct.pack("!HHIH", rtype, 1, TTL, len(rd)) + rd
        r, s_ = decode_dss_signature(self.key.sign(signed, ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, "big") + s_.to_bytes(32, "big")
        if corrupt:
            sig = bytes([sig[0] ^ 0xff]) + sig[1:]
        return head + sig


class Zones(BaseResolver):
    def __init__(self):
        self.lock = threading.Lock()
        self.zones = set()
        self.records = {}   # (name, qtype) -> [rdata]
        self.queries = []   # (name, qtype) asked, for tests that check
        self.signed = {}    # apex -> SignedZone
        self.bogus = set()  # (name, qtype) whose signature is corrupted
        self.slow = {}      # name -> seconds to wait before answering

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

    def sign(self, zone):
        """Sign zone from now on; returns its trust anchor line."""
        zone = zone.lower().rstrip(".")
        z = SignedZone(zone)
        with self.lock:      # a fresh zone: nothing left from an earlier run
            self.zones.add(zone)
            self.signed[zone] = z
            for key in [k for k in self.records if k[0] == zone or k[0].endswith("." + zone)]:
                del self.records[key]
        # built by hand: dnslib would compress the second name of the SOA
        self.add(zone, "SOA", RD(name_wire(f"ns.{zone}") + name_wire(f"hostmaster.{zone}") +
                                 struct.pack("!IIIII", 1, 3600, 600, 86400, TTL)))
        self.add(zone, "DNSKEY", RD(z.dnskey))
        return self.trust_anchor_line(zone)

    def trust_anchor_line(self, zone):
        import base64
        z = self.signed[zone]
        return (f"{zone}. {TTL} IN DNSKEY 257 3 {ALG_ECDSAP256SHA256} "
                f"{base64.b64encode(z.public).decode()}\n")

    def make_bogus(self, name, rtype):
        with self.lock:
            self.bogus.add((name.lower().rstrip("."), rtype))

    def signer(self, name):
        for apex, z in self.signed.items():
            if name == apex or name.endswith("." + apex):
                return z
        return None

    def resolve(self, request, handler):
        reply = request.reply()
        q = request.q
        name = str(q.qname).lower().rstrip(".")
        qtype = QTYPE[q.qtype]
        if name in self.slow:   # (each request has its own thread)
            time.sleep(self.slow[name])
        with self.lock:
            self.queries.append((name, qtype))
            if not self.in_zone(name):
                reply.header.rcode = RCODE.SERVFAIL
                return reply
            found = list(self.records.get((name, qtype), []))
            exists = any(n == name for (n, _t) in self.records)
            z = self.signer(name)
            if z is not None and request.ar and any(
                    getattr(r, "rtype", 0) == QTYPE.OPT for r in request.ar):
                reply.add_ar(EDNS0(flags="do", udp_len=4096))
            if z is not None:
                self.signed_answer(reply, z, name, qtype, found, exists)
                return reply
        for rdata in found:
            reply.add_answer(RR(q.qname, q.qtype, rdata=rdata, ttl=TTL))
        if not found and not exists:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply

    # --- DNSSEC ---------------------------------------------------------
    def add_rrset(self, section, z, owner, rtype, rdatas):
        wires = [rdata_wire(r) for r in rdatas]
        for w in wires:
            section(RR(owner, getattr(QTYPE, rtype), rdata=RD(w), ttl=TTL))
        sig = z.rrsig(owner, getattr(QTYPE, rtype), wires,
                      corrupt=(owner, rtype) in self.bogus)
        section(RR(owner, QTYPE.RRSIG, rdata=RD(sig), ttl=TTL))

    def zone_names(self, z):
        """The names of z that own records, in canonical order."""
        names = {n for (n, _t) in self.records if n == z.apex or n.endswith("." + z.apex)}
        return sorted(names, key=canonical_key)

    def nsec_of(self, z, owner, names):
        types = {getattr(QTYPE, t) for (n, t) in self.records if n == owner}
        types |= {QTYPE.RRSIG, QTYPE.NSEC}
        nxt = names[(names.index(owner) + 1) % len(names)]
        return RD(name_wire(nxt) + type_bitmap(types))

    def covering(self, names, name):
        """The owner of the NSEC that covers a name that does not exist."""
        key = canonical_key(name)
        before = [n for n in names if canonical_key(n) < key]
        return before[-1] if before else names[-1]

    def signed_answer(self, reply, z, name, qtype, found, exists):
        if found:
            self.add_rrset(reply.add_answer, z, name, qtype, found)
            return
        names = self.zone_names(z)
        auth = reply.add_auth
        self.add_rrset(auth, z, z.apex, "SOA", self.records[(z.apex, "SOA")])
        if exists:      # NODATA: the name's own NSEC shows the type is absent
            self.add_rrset(auth, z, name, "NSEC", [self.nsec_of(z, name, names)])
            return
        reply.header.rcode = RCODE.NXDOMAIN
        # the closest encloser: the longest ancestor that exists (also as
        # an empty non-terminal); no name below it, and no wildcard at it
        labels = name.split(".")
        encloser = z.apex
        for i in range(1, len(labels)):
            cand = ".".join(labels[i:])
            if any(n == cand or n.endswith("." + cand) for n in names):
                encloser = cand
                break
        owners = {self.covering(names, name), self.covering(names, "*." + encloser)}
        for owner in owners:
            self.add_rrset(auth, z, owner, "NSEC", [self.nsec_of(z, owner, names)])

    # helpers for the record types tests use
    def mx(self, domain, pref, host):
        self.add(domain, "MX", MX(DNSLabel(host), pref))

    def a(self, name, ip):
        self.add(name, "A", A(ip))

    def aaaa(self, name, ip):
        self.add(name, "AAAA", AAAA(ip))

    def txt(self, name, text):
        # RFC 1035 3.3.14: at most 255 bytes per string (DKIM RSA keys
        # need two)
        if isinstance(text, str):
            text = text.encode()
        self.add(name, "TXT", TXT([text[i:i + 255] for i in range(0, len(text), 255)] or [b""]))

    def tlsa(self, name, usage, selector, mtype, data):
        self.add(name, "TLSA", TLSA(usage, selector, mtype, data))


def start(port, address="127.0.0.1", zones=None):
    """Serve zones (new ones unless given) on address:port, UDP and TCP."""
    zones = zones or Zones()
    quiet = DNSLogger(logf=lambda _s: None)
    servers = [DNSServer(zones, port=port, address=address, tcp=tcp,
                         logger=quiet)
               for tcp in (False, True)]
    for s in servers:
        s.start_thread()
    return zones, servers
