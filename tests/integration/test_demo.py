"""make demo's script: on a fresh directory it starts a server that takes
the swaks command it prints, and the message lands where it says; what the
demo user sends arrives signed with the keys whose records it printed."""
import os
import re
import shutil
import signal
import subprocess
import time

import dkim

from conftest import BIN, free_port

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "demo")


def test_demo_script(workdir):
    demo_dir = os.path.join(workdir, "demo")
    os.makedirs(demo_dir)
    os.chmod(demo_dir, 0o755)
    port = free_port()
    env = dict(os.environ, POSTERN_BIN=BIN, POSTERN_DEMO_DIR=demo_dir,
               POSTERN_DEMO_SMTP_PORT=str(port),
               POSTERN_DEMO_SUBMISSION_PORT=str(free_port()),
               POSTERN_DEMO_SUBMISSIONS_PORT=str(free_port()),
               POSTERN_DEMO_IMAP_PORT=str(free_port()),
               POSTERN_DEMO_IMAPS_PORT=str(free_port()),
               POSTERN_DEMO_POP3_PORT=str(free_port()),
               POSTERN_DEMO_POP3S_PORT=str(free_port()))
    out_path = os.path.join(workdir, "demo.out")
    with open(out_path, "wb") as out:
        proc = subprocess.Popen([SCRIPT], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 30
        while "event=started" not in open(out_path).read():
            assert proc.poll() is None, open(out_path).read()
            assert time.time() < deadline, open(out_path).read()
            time.sleep(0.05)
        text = open(out_path).read()
        command, auth_command = re.findall(r"^    (swaks .*)$", text, re.M)
        mailbox = re.search(r"^    (/.*/new/)$", text, re.M).group(1)
        assert re.search(r"password [A-Za-z0-9]{20}\n", text)
        p = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stdout + p.stderr
        deadline = time.time() + 10
        while not os.listdir(mailbox):
            assert time.time() < deadline
            time.sleep(0.05)
        [name] = os.listdir(mailbox)
        with open(os.path.join(mailbox, name), "rb") as f:
            data = f.read()
        assert b"Subject: Hello Postern\n" in data and b"\nIt works.\n" in data
        assert b"with ESMTPS" in data
        # and the authenticated one, on the submission port
        p = subprocess.run(auth_command, shell=True, capture_output=True, text=True,
                           timeout=30)
        assert p.returncode == 0, p.stdout + p.stderr
        assert "235 2.7.0 Authentication successful" in p.stdout
        deadline = time.time() + 10
        while len(os.listdir(mailbox)) < 2:
            assert time.time() < deadline
            time.sleep(0.05)
        newest = max(os.listdir(mailbox))
        with open(os.path.join(mailbox, newest), "rb") as f:
            data = f.read()
        assert b"with ESMTPSA" in data and b"Subject: Sent as demo@example.test" in data
        # the curl commands the demo prints read the mailbox over IMAPS
        list_cmd, fetch_cmd = re.findall(r"^    (curl .*imaps://.*)$", text, re.M)
        p = subprocess.run(list_cmd, shell=True, capture_output=True, text=True,
                           timeout=30)
        assert p.returncode == 0, p.stdout + p.stderr
        assert '"/" INBOX' in p.stdout and "\\Sent" in p.stdout
        p = subprocess.run(fetch_cmd, shell=True, capture_output=True, timeout=30)
        assert p.returncode == 0, p.stdout + p.stderr
        assert b"Subject: Hello Postern\r\n" in p.stdout
        # signed with the demo keys, whose records the demo printed: dkimpy
        # verifies both signatures against those records
        assert b"Authentication-Results: mx.example.test;\n\tauth=pass " \
               b"smtp.auth=demo@example.test\n" in data
        records = {}
        for m in re.finditer(r"^    (\S+)\.\tIN TXT\t(.*)$", text, re.M):
            records[m.group(1)] = "".join(re.findall(r'"([^"]*)"', m.group(2))).encode()
        assert any(k.startswith("rsa-") for k in records)
        assert any(k.startswith("ed-") for k in records)
        msg = data.replace(b"\n", b"\r\n")
        d = dkim.DKIM(msg)
        for i in range(2):
            assert d.verify(idx=i, dnsfunc=lambda name, timeout=5:
                            records.get(name.decode().rstrip(".")))
        # the demo mailbox over pop3s, with the curl commands it printed
        list_cmd, retr_cmd = re.findall(r"^    (curl .*pop3s://.*)$", text, re.M)
        p = subprocess.run(list_cmd, shell=True, capture_output=True, timeout=30)
        assert p.returncode == 0, p.stdout + p.stderr
        assert re.fullmatch(rb"1 \d+\r\n2 \d+\r\n", p.stdout)
        p = subprocess.run(retr_cmd, shell=True, capture_output=True, timeout=30)
        assert p.returncode == 0, p.stdout + p.stderr
        assert b"Subject: Hello Postern\r\n" in p.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    shutil.rmtree(demo_dir, ignore_errors=True)
