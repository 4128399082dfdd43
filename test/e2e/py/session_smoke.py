"""Drives a mailledger server with Python's imaplib and prints what a user would see, as JSON.

usage: session_smoke.py HOST PORT USER PASSWORD
"""
import imaplib
import json
import sys

host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
out = {}
m = imaplib.IMAP4(host, port)
out["login"] = m.login(user, password)[0]
body = (
    b"From: Ada <ada@example.org>\r\nTo: bob@example.org\r\nSubject: Hello from imaplib\r\n"
    b"Message-ID: <imaplib@example.org>\r\n\r\nFirst line.\r\nSecond line.\r\n"
)
out["append"] = m.append("INBOX", "(\\Flagged)", None, body)[1][0].decode()
typ, data = m.select("INBOX")
out["select"] = [typ, data[0].decode()]
typ, data = m.fetch("1", "(BODY.PEEK[])")
out["body_identical"] = data[0][1] == body
typ, data = m.fetch("1", "(FLAGS ENVELOPE)")
out["fetch"] = data[0].decode()
out["search"] = m.search(None, "SUBJECT", "imaplib")[1][0].decode()
reply = b"From: Bob <bob@example.org>\r\nSubject: Re: Hello from imaplib\r\nIn-Reply-To: <imaplib@example.org>\r\n\r\nHi.\r\n"
m.append("INBOX", None, None, reply)
m.noop()
out["sort"] = m.sort("(REVERSE ARRIVAL)", "UTF-8", "ALL")[1][0].decode()
out["thread"] = m.thread("REFERENCES", "UTF-8", "ALL")[1][0].decode()
out["quotaroot"] = [[x.decode() if x else None for x in part] for part in m.getquotaroot("INBOX")[1]]
out["store"] = m.store("1", "+FLAGS", "(\\Deleted)")[1][0].decode()
out["expunge"] = [x.decode() for x in m.expunge()[1] if x]
out["create"] = m.create("Archive/2026")[0]
out["list"] = [x.decode() for x in m.list()[1]]
out["status"] = m.status("INBOX", "(MESSAGES UIDNEXT)")[1][0].decode()
m.logout()
print(json.dumps(out))
