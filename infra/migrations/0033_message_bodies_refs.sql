-- message_bodies kept the derived columns (search text included, most of a message's bytes) of
-- every body that ever arrived, expunged or not: a view that only grew, and after `blobs gc` a
-- live version that a rebuild could no longer reproduce (the rebuild finds no blob, so no row).
-- Each row now counts the messages that refer to it and goes with the last of them.
--
-- The versions that exist are brought to the new layout in place: the count is what a rebuild
-- would count (the messages of the version that arrived with a readable body, i.e. whose
-- summary_* columns are null), and rows no message refers to go. Later versions are created
-- with it.
CREATE OR REPLACE FUNCTION proj_mailbox_create_tables(target text) RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
  EXECUTE format('CREATE SCHEMA %I', target);
  EXECUTE format($ddl$
    -- Per user, the global position of the last event of that user applied here. All events of
    -- a user are applied in log order (one Kafka partition per user), so this is what makes
    -- applying an event twice a no-op, and what read-your-writes waits for.
    CREATE TABLE %1$I.user_positions (
      user_id         text   PRIMARY KEY,
      global_position bigint NOT NULL
    );

    -- name is null until MailboxCreated (user stream) is applied when MailboxInitialized
    -- (mailbox stream) came first; readers skip such rows.
    CREATE TABLE %1$I.mailboxes (
      mailbox_id      text    PRIMARY KEY,
      user_id         text    NOT NULL,
      name            text,
      parent_name     text,
      status          text    NOT NULL DEFAULT 'selectable' CHECK (status IN ('selectable', 'noselect')),
      uid_validity    bigint,
      uid_next        bigint  NOT NULL DEFAULT 1,
      highest_modseq  bigint  NOT NULL DEFAULT 0,
      special_use     text,
      append_limit    bigint,
      message_count   bigint  NOT NULL DEFAULT 0,
      unseen_count    bigint  NOT NULL DEFAULT 0,
      total_size      bigint  NOT NULL DEFAULT 0
    );
    CREATE INDEX ON %1$I.mailboxes (user_id, name);

    -- What is derived from a body (src/projections/mailboxView/derive.ts), once per distinct body:
    -- COPY, MOVE and re-delivery share a digest, and these columns are most of a message's bytes.
    -- A digest whose blob could not be read has no row. refs counts the messages that arrived
    -- with this row (their summary_* columns are null); the row goes when the last of them does
    -- (expunge, move out, mailbox or account deleted), and comes back if the body arrives again.
    -- Search columns are lowercased by the projector; queries lowercase the needle the same
    -- way, so SEARCH is a case-insensitive substring match (RFC 3501 6.4.4).
    CREATE TABLE %1$I.message_bodies (
      blob_digest        text  PRIMARY KEY,
      envelope           jsonb NOT NULL,
      structure          jsonb NOT NULL,
      search_from        text  NOT NULL,
      search_to          text  NOT NULL,
      search_cc          text  NOT NULL,
      search_bcc         text  NOT NULL,
      search_subject     text  NOT NULL,
      -- [[field name, decoded value], ...] for SEARCH HEADER.
      search_headers     jsonb NOT NULL,
      search_header_text text  NOT NULL,
      search_body        text  NOT NULL,
      refs               bigint NOT NULL CHECK (refs >= 0)
    );

    CREATE TABLE %1$I.messages (
      mailbox_id     text        NOT NULL,
      uid            bigint      NOT NULL,
      modseq         bigint      NOT NULL,
      flags          text[]      NOT NULL,
      internal_date  timestamptz NOT NULL,
      size           bigint      NOT NULL,
      blob_digest    text        NOT NULL,
      sent_date      timestamptz,
      message_id     text,
      -- Lowercased from the event's header summary, only when the blob could not be read: then
      -- FROM, TO, CC and SUBJECT still search by what the event recorded.
      summary_from    text,
      summary_to      text,
      summary_cc      text,
      summary_subject text,
      PRIMARY KEY (mailbox_id, uid)
    );
    CREATE INDEX ON %1$I.messages (mailbox_id, modseq);

    -- Expunged UIDs with the MODSEQ of their expunge, for QRESYNC VANISHED (RFC 7162 3.2.10).
    CREATE TABLE %1$I.tombstones (
      mailbox_id text   NOT NULL,
      uid        bigint NOT NULL,
      modseq     bigint NOT NULL,
      PRIMARY KEY (mailbox_id, uid)
    );

    -- RFC 3501 6.3.6: subscribed names, whether or not a mailbox of that name exists.
    CREATE TABLE %1$I.subscriptions (
      user_id text NOT NULL,
      name    text NOT NULL,
      PRIMARY KEY (user_id, name)
    );
  $ddl$, target);
END;
$fn$;

DO $do$
DECLARE
  version_schema text;
BEGIN
  FOR version_schema IN
    SELECT nspname FROM pg_namespace WHERE nspname ~ '^proj_mailbox_v[0-9]+$' ORDER BY nspname
  LOOP
    EXECUTE format($ddl$
      ALTER TABLE %1$I.message_bodies ADD COLUMN refs bigint NOT NULL DEFAULT 0;
      UPDATE %1$I.message_bodies AS b SET refs = c.n
      FROM (
        SELECT blob_digest, count(*) AS n FROM %1$I.messages WHERE summary_subject IS NULL GROUP BY blob_digest
      ) AS c
      WHERE b.blob_digest = c.blob_digest;
      DELETE FROM %1$I.message_bodies WHERE refs = 0;
      ALTER TABLE %1$I.message_bodies ALTER COLUMN refs DROP DEFAULT;
      ALTER TABLE %1$I.message_bodies ADD CHECK (refs >= 0);
    $ddl$, version_schema);
  END LOOP;
END
$do$;

-- The reader views were made with the old columns (SELECT * is expanded when a view is created).
SELECT proj_mailbox_expose(format('proj_mailbox_v%s', active_version))
FROM projection_versions WHERE name = 'mailbox';
