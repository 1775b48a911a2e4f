#!/usr/bin/python3
"""Independent check for tests/unit/test_imapfmt.c: what Python's email
package (3.11, compat32 policy) says about the test messages there.

Run by hand: python3 tests/unit/imapfmt_pycheck.py. It reads the message
literals out of the C file (so both always use the same text) and prints,
per message, the address fields as email.utils.getaddresses() sees them and,
per MIME part, type, parameters, disposition parameters, the undecoded
payload's size in CRLF form and its line count. The C test compares our
ENVELOPE and BODYSTRUCTURE with these figures; the comments there quote
this output. Not run by make: it is a second opinion, not a test runner."""
import email
import email.utils
import re
import sys

C_FILE = __file__.replace("imapfmt_pycheck.py", "test_imapfmt.c")


def c_string(name, text):
    """The concatenated C string literal after `name[] =`."""
    m = re.search(r"\b%s\[\] =\s*((?:\"(?:[^\"\\]|\\.)*\"\s*)+);" % name,
                  text)
    parts = re.findall(r"\"((?:[^\"\\]|\\.)*)\"", m.group(1))
    raw = "".join(parts)
    return raw.encode().decode("unicode_escape")


def crlf_octets(s):
    return len(s.replace("\r\n", "\n").replace("\n", "\r\n").encode(
        "latin-1", "surrogateescape"))


def lines(s):
    return s.count("\n") + (1 if s and not s.endswith("\n") else 0)


def describe(msg, depth=0):
    pad = "  " * depth
    print(pad + "type", msg.get_content_type(), "params",
          msg.get_params()[1:] if msg.get_params() else None)
    if msg.get("Content-Disposition"):
        print(pad + "disposition", msg.get_content_disposition(),
              "filename", msg.get_filename())
    if msg.is_multipart():
        for i, sub in enumerate(msg.get_payload(), 1):
            print(pad + "part", i)
            describe(sub, depth + 1)
        return
    payload = msg.get_payload()
    print(pad + "octets", crlf_octets(payload), "lines", lines(payload))
    if msg.get_content_type() == "text/html" or depth > 1:
        print(pad + "payload", repr(payload))


def main():
    text = open(C_FILE).read()
    for name in ("rfc9051_header", "mixed", "forward", "nested"):
        msg = email.message_from_string(c_string(name, text))
        print("==", name)
        for field in ("From", "Sender", "Reply-To", "To", "Cc"):
            values = msg.get_all(field)
            if values:
                print(field, email.utils.getaddresses(values[:1]))
        for field in ("Subject", "Message-Id"):
            if msg.get(field) is not None:
                print(field, repr(msg.get(field)))
        describe(msg)
    # header-only cases, as written in the C tests
    cases = {
        "groups": "To: Friends: Ann <ann@a.example>, bob@b.example;, "
                  "undisclosed-recipients:;",
        "names": "From: \"Smith, John\" <john@x.example>,\n"
                 " Joe Q. Public <jqp@y.example>,\n"
                 " Pete(A nice \\) chap) <pete(his account)@z"
                 "(his host).example>,\n"
                 " mary@w.example (Mary),\n"
                 " \"odd user\"@v.example,\n"
                 " =?utf-8?q?J=C3=B6rg?= <j@u.example>",
        "dups": "Subject: first\n second\nSubject: again\n"
                "From: x@y.example\nFrom: z@y.example",
    }
    for name, header in cases.items():
        msg = email.message_from_string(header + "\n\n")
        print("==", name)
        for field in ("From", "To", "Subject"):
            values = msg.get_all(field)
            if values:
                print(field, email.utils.getaddresses(values[:1])
                      if field != "Subject" else repr(values[0]))


if __name__ == "__main__":
    sys.exit(main())
