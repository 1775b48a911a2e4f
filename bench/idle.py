"""Start postern, open N connections that sit idle after the greeting, and
print the server's memory (PSS and RSS from /proc, all threads) before and
with them. Usage: idle.py POSTERN_BIN CONFIG PORT N"""
import resource
import socket
import subprocess
import sys
import time


def memory_kb(pid):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        fields = dict(line.split(":", 1) for line in f if ":" in line)
    return int(fields["Pss"].split()[0]), int(fields["Rss"].split()[0])


def main():
    binary, conf, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 1024), hard))
    proc = subprocess.Popen([binary, "-c", conf, "serve"], stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                break
            except OSError:
                time.sleep(0.05)
        time.sleep(0.5)
        pss0, rss0 = memory_kb(proc.pid)
        conns = []
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port))
            conns.append(s)
        for s in conns:
            assert s.recv(100).startswith(b"220 ")
        time.sleep(1)
        pss1, rss1 = memory_kb(proc.pid)
        print(f"idle server:        PSS {pss0 / 1024:6.1f} MB  RSS {rss0 / 1024:6.1f} MB")
        print(f"with {n} idle:     PSS {pss1 / 1024:6.1f} MB  RSS {rss1 / 1024:6.1f} MB  "
              f"({(pss1 - pss0) / n:.1f} KB per connection)")
        for s in conns:
            s.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


main()
