"""Delivers one message with Python's smtplib.LMTP and prints every reply a client sees, as JSON.

usage: lmtp_deliver.py < scenario.json

scenario: {"host", "port" (or "socket": a Unix socket path), "mail_from", "rcpts": [...],
           "message_file" (the bytes to send), "mail_options": ["SIZE=..."] (optional)}
smtplib's data() reads one reply; LMTP (RFC 2033 4.2) sends one per accepted recipient, so the
others are read with getreply().
"""
import json
import smtplib
import sys

scenario = json.load(sys.stdin)
if "socket" in scenario:
    m = smtplib.LMTP(scenario["socket"])
else:
    m = smtplib.LMTP(scenario["host"], scenario["port"])
out = {}
code, features = m.ehlo("test-client.example")
out["lhlo"] = [code, features.decode()]
code, msg = m.mail(scenario["mail_from"], scenario.get("mail_options", []))
out["mail"] = [code, msg.decode()]
out["rcpt"] = []
accepted = 0
for rcpt in scenario["rcpts"]:
    code, msg = m.rcpt(rcpt)
    out["rcpt"].append([code, msg.decode()])
    if code == 250:
        accepted += 1
out["data"] = []
if accepted > 0 and code != 221:
    with open(scenario["message_file"], "rb") as f:
        message = f.read()
    code, msg = m.data(message)
    out["data"].append([code, msg.decode()])
    for _ in range(accepted - 1):
        code, msg = m.getreply()
        out["data"].append([code, msg.decode()])
else:
    code, msg = m.docmd("DATA")
    out["data"].append([code, msg.decode()])
code, msg = m.docmd("QUIT")
out["quit"] = [code, msg.decode()]
m.close()
print(json.dumps(out))
