-- Access control lists (RFC 4314), part of the mailbox index: written by each ACL command's own
-- transaction from the MailboxAclSet / MailboxAclDeleted events it appends to the owner's stream
-- (src/commands/writeModel.ts), so the rights a command checks are exact at every instant, never
-- a lagging view. The owner has every right implicitly and has no row. A grantee is a user id, or
-- 'anyone' (RFC 4314 3: every authenticated user); its name at the time of the grant is kept for
-- GETACL and history.
CREATE TABLE mailbox_acl (
  mailbox_id text NOT NULL REFERENCES mailboxes (id),
  grantee    text NOT NULL,
  identifier text NOT NULL,
  rights     text NOT NULL CHECK (rights <> '' AND rights ~ '^[lrswipkxtea]+$'),
  PRIMARY KEY (mailbox_id, grantee)
);
-- LIST of the other-users namespace: which mailboxes are shared with this user (or anyone).
CREATE INDEX mailbox_acl_grantee_idx ON mailbox_acl (grantee);
