"""STARTTLS then LOGIN, as a client of the embedded default without ALLOW_INSECURE_AUTH.

usage: starttls_login.py HOST PORT USER PASSWORD  -> prints JSON
"""
import imaplib
import json
import ssl
import sys

host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
out = {}
m = imaplib.IMAP4(host, port)
out["before"] = sorted(m.capabilities)
try:
    m.login(user, password)
    out["clear_login"] = "OK"
except imaplib.IMAP4.error as error:
    out["clear_login"] = str(error)
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE  # the generated certificate is self-signed
out["starttls"] = m.starttls(ssl_context=context)[0]
out["after"] = sorted(m.capabilities)
out["login"] = m.login(user, password)[0]
out["select"] = m.select("INBOX")[0]
m.logout()
print(json.dumps(out))
