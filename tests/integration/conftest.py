"""Integration harness: a real `postern serve` on loopback ports, a test CA,
a throwaway data directory, and clients that are not ours (smtplib, swaks,
openssl s_client) plus a raw socket client for byte-exact conversations.

Environment: POSTERN_BIN (the binary under test), POSTERN_VALGRIND=1 (run the
server under valgrind and fail on definite leaks or memory errors)."""
import glob
import os
import pwd
import random
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

BIN = os.environ.get("POSTERN_BIN") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", "build", "postern"))
VALGRIND = os.environ.get("POSTERN_VALGRIND") == "1"
HOST = "mx.example.test"
DOMAIN = "example.test"
PASSWORD = "correct horse battery staple"


_PORTS_GIVEN = set()


def free_port():
    """A port nothing listens on, below the kernel's ephemeral range
    (/proc/sys/net/ipv4/ip_local_port_range), so that a client socket the
    servers open later (outbound SMTP, DNS) cannot take it before a
    restarted server binds it again; never the same one twice per run."""
    low = 32768
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        pass
    for _ in range(1000):
        port = random.randrange(10000, max(low, 10001))
        if port in _PORTS_GIVEN:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _PORTS_GIVEN.add(port)
        return port
    raise RuntimeError("no free port below the ephemeral range")


_DNS = None


def dns_zones():
    """The session's test DNS server (testdns.Zones), started on first use;
    every server the harness starts sends its DNS questions there."""
    global _DNS
    if _DNS is None:
        import testdns
        port = free_port()
        zones, _servers = testdns.start(port)
        zones.port = port
        _DNS = zones
    return _DNS


def run(*args, input=None, check=True, env=None):
    p = subprocess.run(list(args), input=input, capture_output=True, env=env,
                       text=True, timeout=60)
    if check and p.returncode != 0:
        raise AssertionError(f"{args} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


@pytest.fixture(scope="session")
def workdir():
    """A world-traversable base (the server drops to the postern user)."""
    base = tempfile.mkdtemp(prefix="postern-it-")
    os.chmod(base, 0o755)
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postern")
        except KeyError:
            run("useradd", "--system", "--home-dir", "/nonexistent",
                "--shell", "/usr/sbin/nologin", "postern")
    yield base
    shutil.rmtree(base, ignore_errors=True)


def make_cert(d, ca, name, sans, days=30):
    key, csr, crt = (os.path.join(d, f"{name}.{x}") for x in ("key", "csr", "crt"))
    ext = os.path.join(d, f"{name}.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=" + ",".join(sans) + "\n")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
        "-out", csr, "-subj", f"/CN={name}")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca["crt"], "-CAkey",
        ca["key"], "-CAcreateserial", "-out", crt, "-days", str(days),
        "-extfile", ext)
    return {"key": key, "crt": crt}


def make_expired_cert(d, ca, name, sans):
    """A certificate of ca that expired in 2020 (openssl ca can backdate)."""
    key, csr, crt = (os.path.join(d, f"{name}.{x}") for x in ("key", "csr", "crt"))
    ext = os.path.join(d, f"{name}.ext")
    cnf = os.path.join(d, "ca.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=" + ",".join(sans) + "\n")
    with open(cnf, "w") as f:
        f.write(f"[ca]\ndefault_ca = ca\n[ca]\ndatabase = {d}/index.txt\n"
                f"new_certs_dir = {d}\nserial = {d}/serial\ndefault_md = sha256\n"
                "policy = any\n[any]\ncommonName = supplied\n")
    open(os.path.join(d, "index.txt"), "w").close()
    with open(os.path.join(d, "serial"), "w") as f:
        f.write("1000\n")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
        "-out", csr, "-subj", f"/CN={name}")
    run("openssl", "ca", "-batch", "-config", cnf, "-cert", ca["crt"], "-keyfile",
        ca["key"], "-in", csr, "-out", crt, "-startdate", "20200101000000Z",
        "-enddate", "20200201000000Z", "-extfile", ext, "-notext")
    return {"key": key, "crt": crt}


@pytest.fixture(scope="session")
def pki(workdir):
    """A test CA with a server certificate for mx.example.test (and
    localhost, 127.0.0.1) and one for other.example.test (SNI)."""
    d = os.path.join(workdir, "pki")
    os.makedirs(d)
    ca = {"key": os.path.join(d, "ca.key"), "crt": os.path.join(d, "ca.crt")}
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
        ca["key"], "-out", ca["crt"], "-days", "30", "-subj", "/CN=Postern Test CA")
    server = make_cert(d, ca, HOST, [f"DNS:{HOST}", "DNS:localhost", "IP:127.0.0.1"])
    other = make_cert(d, ca, "other.example.test", ["DNS:other.example.test"])
    # client certificates: a CA of their own, alice's (by e-mail address),
    # one without an address (mapped by fingerprint), one from nowhere
    cca = {"key": os.path.join(d, "clientca.key"), "crt": os.path.join(d, "clientca.crt")}
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
        cca["key"], "-out", cca["crt"], "-days", "30", "-subj", "/CN=Postern Client CA")
    alice = make_cert(d, cca, "alice-laptop", [f"email:alice@{DOMAIN}"])
    device = make_cert(d, cca, "device-7", ["DNS:device-7.example.test"])
    rogue_ca = {"key": os.path.join(d, "rogue.key"), "crt": os.path.join(d, "rogue.crt")}
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
        rogue_ca["key"], "-out", rogue_ca["crt"], "-days", "30", "-subj", "/CN=Rogue")
    rogue = make_cert(d, rogue_ca, "mallory", [f"email:alice@{DOMAIN}"])
    expired = make_expired_cert(d, ca, "expired", [f"DNS:{HOST}", "DNS:localhost",
                                                  "IP:127.0.0.1"])
    rogue_server = make_cert(d, rogue_ca, "rogue-server", ["DNS:localhost"])
    return {"ca": ca["crt"], "server": server, "other": other, "dir": d,
            "client_ca": cca["crt"], "alice": alice, "device": device, "rogue": rogue,
            "expired": expired, "rogue_server": rogue_server}


def client_context(pki):
    ctx = ssl.create_default_context(cafile=pki["ca"])
    ctx.check_hostname = True
    return ctx


class Server:
    """One postern instance: its config, data directory, log and process."""

    def __init__(self, base, pki, settings=None, listeners=None):
        self.dir = tempfile.mkdtemp(prefix="srv-", dir=base)
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "serve.log")
        self.conf = os.path.join(self.dir, "postern.conf")
        self.pki = pki
        self.port = free_port()
        self.tls_port = free_port()
        self.proc = None
        self.settings = {
            "": {"hostname": HOST, "data_dir": self.data, "log_level": "debug"},
            "tls": {"certificate": pki["server"]["crt"], "key": pki["server"]["key"]},
            "queue": {"retry_min": "1s", "retry_max": "2s"},
            "dns": {"resolver": f"127.0.0.1@{dns_zones().port}", "trust_anchor": ""},
        }
        for section, values in (settings or {}).items():
            self.settings.setdefault(section, {}).update(values)
        self.listeners = listeners or {
            "smtp": {"address": f"127.0.0.1:{self.port}", "tls": "starttls"},
            "smtps": {"address": f"127.0.0.1:{self.tls_port}", "tls": "implicit"},
        }
        self.write_config()

    def write_config(self):
        lines = []
        for section, values in self.settings.items():
            if section:
                lines.append(f"[{section}]")
            lines += [f"{k} = {v}" for k, v in values.items()]
        for name, values in self.listeners.items():
            lines.append(f"[listener {name}]")
            lines += [f"{k} = {v}" for k, v in values.items()]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def cli(self, *args, input=None, check=True):
        return run(BIN, "-c", self.conf, *args, input=input, check=check)

    def add_user(self, address, password=PASSWORD, quota=None):
        args = ["user", "add", address] + (["--quota", quota] if quota else [])
        self.cli(*args, input=password + "\n")

    def provision(self):
        self.cli("domain", "add", DOMAIN)
        self.add_user(f"alice@{DOMAIN}")
        self.add_user(f"bob@{DOMAIN}")
        self.cli("alias", "add", f"info@{DOMAIN}", f"alice@{DOMAIN}")

    def start(self):
        cmd = [BIN, "-c", self.conf, "serve"]
        if VALGRIND:
            self.vg_log = os.path.join(self.dir, "valgrind.%p.log")
            cmd = ["valgrind", "--leak-check=full", "--errors-for-leak-kinds=definite",
                   "--error-exitcode=99", f"--log-file={self.vg_log}"] + cmd
        self.log_file = open(self.log_path, "ab")
        seen = len(self.log())   # this run's lines come after these
        self.proc = subprocess.Popen(cmd, stdout=self.log_file, stderr=subprocess.STDOUT)
        deadline = time.time() + (30 if VALGRIND else 10)
        while time.time() < deadline:
            assert self.proc.poll() is None, "server exited:\n" + self.log()
            if "event=started" in self.log()[seen:]:
                return self
            time.sleep(0.02)
        raise AssertionError("server did not start:\n" + self.log())

    def stop(self):
        """SIGTERM; the server must exit cleanly (0) within 15 s."""
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=60 if VALGRIND else 15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("server did not stop on SIGTERM:\n" + self.log())
        finally:
            self.proc = None
            self.log_file.close()
        assert rc == 0, f"server exited with {rc}:\n" + self.log() + self.valgrind_report()
        self.check_sanitizers()

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None
        self.log_file.close()

    def restart(self):
        self.stop()
        return self.start()

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def valgrind_report(self):
        out = ""
        for path in glob.glob(os.path.join(self.dir, "valgrind.*.log")):
            with open(path) as f:
                out += f.read()
        return out

    def check_sanitizers(self):
        log = self.log()
        for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                       "UndefinedBehaviorSanitizer"):
            assert marker not in log, f"sanitizer report in the server log:\n{log}"

    def wait_log(self, pattern, timeout=10, count=1):
        """Wait until the log matches pattern (a regex) count times."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len(re.findall(pattern, self.log())) >= count:
                return
            time.sleep(0.02)
        raise AssertionError(f"log never matched {pattern!r} x{count}:\n" + self.log())

    # --- mailboxes -----------------------------------------------------
    def maildir(self, user="alice"):
        return os.path.join(self.data, "mail", DOMAIN, user)

    def messages(self, user="alice"):
        md = self.maildir(user)
        return sorted(glob.glob(os.path.join(md, "new", "*")) +
                      glob.glob(os.path.join(md, "cur", "*")))

    def wait_messages(self, n, user="alice", timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len(self.messages(user)) >= n:
                time.sleep(0.05)  # a late extra copy would show up now
                return self.messages(user)
            time.sleep(0.02)
        raise AssertionError(f"{user} has {len(self.messages(user))} messages, "
                             f"expected {n}:\n" + self.log())

    def read_message(self, path):
        with open(path, "rb") as f:
            return f.read()

    def queue_files(self):
        return sorted(os.listdir(os.path.join(self.data, "spool", "queue")))

    def tmp_files(self):
        return sorted(os.listdir(os.path.join(self.data, "spool", "tmp")))


@pytest.fixture
def make_server(workdir, pki):
    """Factory: make_server(settings=..., listeners=...) -> provisioned,
    started Server; every server is stopped (and checked) at the end."""
    servers = []

    def factory(settings=None, listeners=None, provision=True, start=True):
        s = Server(workdir, pki, settings, listeners)
        servers.append(s)
        if provision:
            s.provision()
        if start:
            s.start()
        return s
    yield factory
    for s in servers:
        s.stop()


@pytest.fixture(scope="module")
def server(workdir, pki):
    """A shared server for tests that only need the defaults."""
    s = Server(workdir, pki)
    s.provision()
    s.start()
    yield s
    s.stop()


class Lines:
    """A raw client for line protocols (IMAP, POP3): exact bytes out,
    CRLF-ended lines in, over plain TCP or TLS (tls_ctx)."""

    def __init__(self, port, tls_ctx=None, hostname="localhost"):
        self.hostname = hostname
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        if tls_ctx is not None:
            self.starttls(tls_ctx)
        self.buf = b""

    def starttls(self, ctx):
        self.sock = ctx.wrap_socket(self.sock, server_hostname=self.hostname)

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("closed; pending %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode(errors="replace")

    def cmd(self, text):
        """Send one line, return the first line of the reply."""
        self.send(text + "\r\n")
        return self.line()

    def until(self, tag):
        """Lines up to and including the one tagged tag."""
        out = []
        while True:
            out.append(self.line())
            if out[-1].startswith(tag + " "):
                return out

    def closed(self, wait=5):
        """Whether the server closes within wait seconds."""
        self.sock.settimeout(wait)
        try:
            while True:
                d = self.sock.recv(65536)
                if not d:
                    return True
                self.buf += d
        except (ConnectionResetError, ssl.SSLError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


class Chat:
    """A raw SMTP client: exact bytes out, whole replies in."""

    def __init__(self, port, host="127.0.0.1", source=None, timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def read_line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed; pending: %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode()

    def reply(self):
        """One reply: (code, [text lines])."""
        lines = []
        while True:
            line = self.read_line()
            assert re.match(r"^\d{3}[ -]", line), f"bad reply line {line!r}"
            lines.append(line[4:])
            if line[3] == " ":
                return int(line[:3]), lines

    def expect(self, code, contains=None):
        got, lines = self.reply()
        text = "\n".join(lines)
        assert got == code, f"expected {code}, got {got} {text}"
        if contains is not None:
            assert contains in text, f"{contains!r} not in {text!r}"
        return text

    def cmd(self, line, code, contains=None):
        self.send(line + "\r\n")
        return self.expect(code, contains)

    def greet(self, ehlo="client.example.org"):
        self.expect(220)
        return self.cmd(f"EHLO {ehlo}", 250)

    def nothing_pending(self, wait=0.5):
        """True when the server sends nothing more within wait seconds."""
        if self.buf:
            return False
        self.sock.settimeout(wait)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return True
        finally:
            self.sock.settimeout(10)
        self.buf += data
        return False

    def closed(self, wait=3):
        """True when the server closes the connection within wait seconds."""
        self.sock.settimeout(wait)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
                self.buf += data
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False
        finally:
            self.sock.settimeout(10)

    def close(self):
        self.sock.close()


@pytest.fixture
def chat():
    opened = []

    def factory(port, **kw):
        c = Chat(port, **kw)
        opened.append(c)
        return c
    yield factory
    for c in opened:
        c.close()


def send_message(c, sender, rcpts, body, code=250):
    """MAIL/RCPT/DATA on an open Chat; body as bytes with CRLF line ends
    (dot-stuffing is the caller's business). Returns the final reply text."""
    c.cmd(f"MAIL FROM:<{sender}>", 250)
    for r in rcpts:
        c.cmd(f"RCPT TO:<{r}>", 250)
    c.cmd("DATA", 354)
    c.send(body + b".\r\n")
    return c.expect(code)
