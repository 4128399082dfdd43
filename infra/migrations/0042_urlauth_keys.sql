-- URLAUTH (RFC 4467): the mailbox access keys. The index keeps the salts the log names
-- (MailboxAccessKeyReset): the account's, which RESETKEY without a mailbox replaces, and each
-- mailbox's. A URL's token is an HMAC of them and the URL under the server's own secret, which
-- lives here and nowhere in the log or the topic, made once by the first server that needs it.
ALTER TABLE users ADD COLUMN urlauth_salt text NOT NULL DEFAULT '';
ALTER TABLE mailboxes ADD COLUMN urlauth_salt text NOT NULL DEFAULT '';
CREATE TABLE server_secrets (
  name  text  PRIMARY KEY,
  value bytea NOT NULL
);
