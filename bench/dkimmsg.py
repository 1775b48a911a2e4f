#!/usr/bin/python3
"""dkimmsg: the messages of the DKIM benchmark (bench/dkim), written to DIR
as m4k.eml (4,096 bytes) and m100k.eml (102,400 bytes), LF line ends: a
submitted message's ten header fields and a plain-text body of wrapped
lines and paragraphs. The same bytes every time (seeded).

usage: dkimmsg.py DIR
"""
import random
import sys

HEADER = """Date: Mon, 23 Nov 2026 10:00:00 +0000
From: Alice Example <alice@local.test>
To: Bob Example <bob@example.org>
Cc: Carol Example <carol@example.net>
Subject: Quarterly report: figures, open questions and next steps
Message-ID: <20261123100000.4711.alice@local.test>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8; format=flowed
Content-Transfer-Encoding: 8bit
User-Agent: Postern-bench/1.0

"""
WORDS = ("the of and to in is that for it as with was on be by this are "
         "from at or an report figures quarter revenue costs team project "
         "meeting schedule review customers delivery server messages queue "
         "latency budget plan next week please note attached results agreed "
         "question answer thanks regards update numbers growth since last "
         "month we will should could also before after").split()


def message(size):
    rnd = random.Random(size)
    out, n, line = [HEADER], len(HEADER), ""
    while True:
        word = rnd.choice(WORDS) + ("," if rnd.random() < 0.05 else "")
        if len(line) + 1 + len(word) > 72:
            text = line + ("\n\n" if rnd.random() < 0.15 else "\n")
            if n + len(text) > size:
                break
            out.append(text)
            n += len(text)
            line = ""
        line = line + " " + word if line else word
    # the last line, cut to the exact size
    while len(line) < size - n:
        line += " " + rnd.choice(WORDS)
    last = line[:size - n - 1]
    out.append((last[:-1] + "." if last.endswith(" ") else last) + "\n")
    return "".join(out)


def main():
    for size, name in ((4096, "m4k.eml"), (102400, "m100k.eml")):
        text = message(size)
        assert len(text) == size
        with open(f"{sys.argv[1]}/{name}", "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
