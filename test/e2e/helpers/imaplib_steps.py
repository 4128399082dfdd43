#!/usr/bin/env python3
"""Drives a mailledger server with Python's imaplib, as a real client would.

Usage: imaplib_steps.py HOST PORT USER PASSWORD STEPS_JSON

STEPS_JSON is a list of steps, each [method, *args]: any imaplib.IMAP4 method (create, list,
status, select, copy, uid, ...), or one of
  ["append", mailbox, flags|null, date|null, message_text]  (message sent as UTF-8)
  ["append_generated", mailbox, octets]                      (a message of that size, made here)
  ["xatom", NAME, *args]                                     (commands imaplib lacks: MOVE)
Prints one JSON list: per step {"typ", "data", "untagged"} or {"error"} when imaplib raised
(a BAD answer). Bytes are decoded as Latin-1 so the wire form (modified UTF-7) is visible.
"""
import imaplib
import json
import sys


def plain(value):
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


def run_step(client, step):
    op, *args = step
    if op == "append":
        mailbox, flags, date, message = args
        return client.append(mailbox, flags, date, message.encode("utf-8"))
    if op == "append_generated":
        mailbox, octets = args
        head = b"Subject: generated\r\n\r\n"
        return client.append(mailbox, None, None, head + b"x" * (int(octets) - len(head)))
    if op == "xatom":
        return client.xatom(*args)
    return getattr(client, op)(*args)


def main():
    host, port, user, password, steps = sys.argv[1:6]
    client = imaplib.IMAP4(host, int(port))
    results = []
    try:
        client.login(user, password)
        for step in json.loads(steps):
            client.untagged_responses.clear()
            try:
                typ, data = run_step(client, step)
                results.append({"typ": typ, "data": plain(data), "untagged": plain(dict(client.untagged_responses))})
            except imaplib.IMAP4.error as error:
                results.append({"error": str(error)})
        client.logout()
    finally:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
