-- The write model: the exact state command handlers decide from (UIDs, MODSEQs, the \Deleted
-- set, name uniqueness), updated in the same transaction as the events that change it
-- (DESIGN.md, Folders). Views for reading live elsewhere and may lag; these rows never do.

-- User names are stored lowercased (src/commands/user/username.ts): "Alice" and "alice" are
-- one account. A deleted account keeps its row (for the record) and frees its name.
CREATE TABLE users (
  id             text        PRIMARY KEY,
  username       text        NOT NULL CHECK (username = lower(username) AND username <> ''),
  password_hash  text        NOT NULL,
  append_limit   bigint      CHECK (append_limit >= 0),
  -- Version of the stream user-<id>: the expectedVersion of the next append.
  stream_version bigint      NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  deleted_at     timestamptz
);
CREATE UNIQUE INDEX users_username_key ON users (username) WHERE deleted_at IS NULL;

-- One row per mailbox incarnation. A DELETE'd mailbox keeps its row with status 'deleted'; a
-- deleted mailbox that had inferiors stays as a 'noselect' placeholder (RFC 3501 6.3.4).
-- highest_modseq is also the version of the stream mailbox-<id> (each event is one MODSEQ).
CREATE TABLE mailboxes (
  id             text        PRIMARY KEY,
  user_id        text        NOT NULL REFERENCES users (id),
  name           text        NOT NULL CHECK (name <> ''),
  status         text        NOT NULL CHECK (status IN ('selectable', 'noselect', 'deleted')),
  uid_validity   bigint      NOT NULL CHECK (uid_validity BETWEEN 1 AND 4294967295),
  uid_next       bigint      NOT NULL CHECK (uid_next BETWEEN 1 AND 4294967296),
  highest_modseq bigint      NOT NULL CHECK (highest_modseq >= 1),
  append_limit   bigint      CHECK (append_limit >= 0),
  special_use    text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  deleted_at     timestamptz
);
CREATE UNIQUE INDEX mailboxes_user_name_key ON mailboxes (user_id, name) WHERE status <> 'deleted';
CREATE INDEX mailboxes_user_idx ON mailboxes (user_id) WHERE status <> 'deleted';

-- Names a mailbox has left (DELETE, RENAME), with the UIDVALIDITYs it used there and the
-- UIDNEXT it had reached: a new mailbox of that name starts above every UID ever used under
-- the name and never takes one of those UIDVALIDITYs (RFC 3501 6.3.3).
CREATE TABLE retired_mailbox_names (
  user_id        text     NOT NULL REFERENCES users (id),
  name           text     NOT NULL,
  uid_next       bigint   NOT NULL,
  uid_validities bigint[] NOT NULL,
  PRIMARY KEY (user_id, name)
);

-- RFC 3501 6.3.6: subscriptions are names, whether or not a mailbox of that name exists.
CREATE TABLE subscriptions (
  user_id text NOT NULL REFERENCES users (id),
  name    text NOT NULL,
  PRIMARY KEY (user_id, name)
);

-- The messages present in each mailbox (expunged ones are deleted). \Recent is the
-- session's business and never stored.
CREATE TABLE messages (
  mailbox_id     text        NOT NULL REFERENCES mailboxes (id),
  uid            bigint      NOT NULL CHECK (uid BETWEEN 1 AND 4294967295),
  modseq         bigint      NOT NULL,
  flags          text[]      NOT NULL,
  internal_date  timestamptz NOT NULL,
  size           bigint      NOT NULL CHECK (size >= 0),
  blob_digest    text        NOT NULL,
  header_summary jsonb       NOT NULL,
  PRIMARY KEY (mailbox_id, uid)
);
-- Blob garbage collection asks whether any message still refers to a digest.
CREATE INDEX messages_blob_digest_idx ON messages (blob_digest);
-- EXPUNGE reads the \Deleted set without scanning the whole mailbox.
CREATE INDEX messages_deleted_idx ON messages (mailbox_id, uid) WHERE '\Deleted' = ANY (flags);
