-- \Seen kept per user on shared mailboxes (RFC 4314 5.3, as Dovecot's private index flags and
-- Cyrus's per-user seen state): the messages a user other than the owner has seen, part of the
-- mailbox index. Written by the PrivateSeenChanged events of the mailbox's stream in the same
-- statement that appends them (src/commands/writeModel.ts); an expunge or a move out deletes the
-- message's rows with it. The owner's \Seen stays in messages.flags.
CREATE TABLE private_seen (
  mailbox_id text   NOT NULL REFERENCES mailboxes (id),
  user_id    text   NOT NULL,
  uid        bigint NOT NULL,
  PRIMARY KEY (mailbox_id, user_id, uid)
);
