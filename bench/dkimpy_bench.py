#!/usr/bin/python3
"""dkimpy_bench: DKIM signing and verification by dkimpy (python3-dkim), in
one process and one thread: the dkimpy column of the DKIM benchmark
(bench/dkim), measured as dkimbench measures Postern.

usage: dkimpy_bench.py [-t SECS] [-a rsa|ed] [-s 4k|100k] DIR
       dkimpy_bench.py -c DIR FILE...
The first form runs the benchmark (every case, or those -a and -s pick);
the second checks that each FILE's signature verifies (exit 1 when one does
not).

DIR: rsa.pem, ed.pem (PKCS#8 keys), rsa.txt, ed.txt (their key records),
m4k.eml, m100k.eml (LF line ends), as bench/dkim prepares them.

dkim.sign gets the message with CRLF line ends (converted before timing),
the key as it takes it (RSA: the PEM, parsed on every call; Ed25519: the
base64 seed), relaxed/relaxed, and h= as Postern writes it (include_headers
lists a field once more than present to oversign it). dkim.verify gets the
key record from dnsfunc (no DNS) and parses it for every message.

Prints, per case: dkimpy ALG SIZE OP MSGS_PER_CPU_S MSGS_PER_WALL_S N, and
writes the first signed copy to DIR/dkimpy-ALG-SIZE.eml (LF).
"""
import base64
import sys
import time

import dkim

DOMAIN = b"local.test"
ALGS = (("rsa-sha256", "rsa"), ("ed25519-sha256", "ed"))
SIZES = ("4k", "100k")
# Postern's h= for the bench messages (From .. Message-ID and Reply-To
# oversigned)
HEADERS = [b"from", b"from", b"to", b"to", b"cc", b"cc", b"subject",
           b"subject", b"date", b"date", b"message-id", b"message-id",
           b"reply-to", b"mime-version", b"content-type",
           b"content-transfer-encoding"]


def read(path):
    with open(path, "rb") as f:
        return f.read()


def load(d):
    """(signing keys by selector, key records by DNS name)"""
    keys, records = {}, {}
    for _, sel in ALGS:
        pem = read(f"{d}/{sel}.pem")
        if sel == "ed":
            # dkimpy wants the 32-byte seed: the end of the PKCS#8 DER
            der = base64.b64decode(b"".join(pem.split(b"\n")[1:-2]))
            pem = base64.b64encode(der[-32:])
        keys[sel] = pem
        name = sel.encode() + b"._domainkey." + DOMAIN + b"."
        records[name] = read(f"{d}/{sel}.txt").strip()
    return keys, records


def verifier(records):
    def dnsfunc(name, timeout=5):
        return records.get(name if name.endswith(b".") else name + b".")

    return lambda msg: dkim.verify(msg, dnsfunc=dnsfunc)


def rate(fn, secs):
    """Call fn for secs seconds (at least 3 times): (cpu rate, wall rate, n)"""
    n, c0, w0 = 0, time.process_time(), time.monotonic()
    while n < 3 or time.monotonic() - w0 < secs:
        fn()
        n += 1
    return n / (time.process_time() - c0), n / (time.monotonic() - w0), n


def bench(d, secs, only_alg, only_size):
    keys, records = load(d)
    verify = verifier(records)
    for alg, sel in ALGS:
        for size in SIZES:
            if only_alg not in (None, sel) or only_size not in (None, size):
                continue
            msg = read(f"{d}/m{size}.eml").replace(b"\n", b"\r\n")
            out = []

            def sign():
                out.append(dkim.sign(msg, sel.encode(), DOMAIN, keys[sel],
                                     canonicalize=(b"relaxed", b"relaxed"),
                                     signature_algorithm=alg.encode(),
                                     include_headers=HEADERS))
                del out[:-1]

            r = rate(sign, secs)
            print(f"dkimpy\t{alg}\t{size}\tsign\t{r[0]:.1f}\t{r[1]:.1f}\t{r[2]}",
                  flush=True)
            signed = out[-1] + msg
            with open(f"{d}/dkimpy-{sel}-{size}.eml", "wb") as f:
                f.write(signed.replace(b"\r\n", b"\n"))

            def check_one():
                if not verify(signed):
                    sys.exit(f"dkimpy_bench: {alg} {size}: does not verify")

            r = rate(check_one, secs)
            print(f"dkimpy\t{alg}\t{size}\tverify\t{r[0]:.1f}\t{r[1]:.1f}\t{r[2]}",
                  flush=True)


def check(d, files):
    verify = verifier(load(d)[1])
    bad = 0
    for path in files:
        ok = verify(read(path).replace(b"\n", b"\r\n"))
        print(f"dkimpy verifies {path}: {'pass' if ok else 'FAIL'}")
        bad |= not ok
    return bad


def main(argv):
    opt, checking = {"-t": "2", "-a": None, "-s": None}, False
    while argv and argv[0] in ("-c", "-t", "-a", "-s"):
        if argv[0] == "-c":
            checking, argv = True, argv[1:]
        elif len(argv) > 1:
            opt[argv[0]], argv = argv[1], argv[2:]
        else:
            argv = []
    if not argv:
        sys.exit(__doc__)
    if checking:
        return check(argv[0], argv[1:])
    bench(argv[0], float(opt["-t"]), opt["-a"], opt["-s"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
