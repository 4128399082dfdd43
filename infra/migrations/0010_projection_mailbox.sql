-- The mailbox projection: the read views the IMAP gateway serves from (src/projections).
--
-- Blue/green: each version of the views lives in its own schema, proj_mailbox_v<N>, created by
-- proj_mailbox_create_tables(). Readers never name a version: they read the schema proj_mailbox,
-- whose views proj_mailbox_expose() points at the active version. A rebuild fills a new version
-- from the log, then re-points those views and updates projection_versions in one transaction,
-- so a reader sees the old complete version or the new complete one, never a half-built one.
-- A change of layout is a new migration that replaces proj_mailbox_create_tables(), followed by
-- `mailledger projections rebuild mailbox`.

CREATE TABLE projection_versions (
  name             text        PRIMARY KEY,
  -- The version readers see and live projectors write.
  active_version   integer     NOT NULL CHECK (active_version >= 1),
  -- A version a rebuild is filling, not yet visible.
  building_version integer     CHECK (building_version >= 1),
  switched_at      timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION proj_mailbox_create_tables(target text) RETURNS void LANGUAGE plpgsql AS $fn$
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
    -- A digest whose blob could not be read has no row. Rows are never deleted (a body may arrive
    -- again), so live and rebuilt versions hold the same set: every digest that ever arrived.
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
      search_body        text  NOT NULL
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

-- Points the stable reader schema proj_mailbox at a version: run inside the switching transaction.
CREATE FUNCTION proj_mailbox_expose(target text) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  relation text;
BEGIN
  CREATE SCHEMA IF NOT EXISTS proj_mailbox;
  FOREACH relation IN ARRAY ARRAY['user_positions', 'mailboxes', 'messages', 'message_bodies', 'tombstones', 'subscriptions'] LOOP
    EXECUTE format('DROP VIEW IF EXISTS proj_mailbox.%I', relation);
  END LOOP;
  FOREACH relation IN ARRAY ARRAY['user_positions', 'mailboxes', 'message_bodies', 'tombstones', 'subscriptions'] LOOP
    EXECUTE format('CREATE VIEW proj_mailbox.%I AS SELECT * FROM %I.%I', relation, target, relation);
  END LOOP;
  -- Readers see one row per message with its body-derived columns, as if stored with it.
  EXECUTE format($view$
    CREATE VIEW proj_mailbox.messages AS
    SELECT m.mailbox_id, m.uid, m.modseq, m.flags, m.internal_date, m.size, m.blob_digest, m.sent_date,
      m.message_id, b.envelope, b.structure,
      coalesce(b.search_from, m.summary_from, '') AS search_from,
      coalesce(b.search_to, m.summary_to, '') AS search_to,
      coalesce(b.search_cc, m.summary_cc, '') AS search_cc,
      coalesce(b.search_bcc, '') AS search_bcc,
      coalesce(b.search_subject, m.summary_subject, '') AS search_subject,
      coalesce(b.search_headers, '[]') AS search_headers,
      coalesce(b.search_header_text, '') AS search_header_text,
      coalesce(b.search_body, '') AS search_body
    FROM %1$I.messages AS m LEFT JOIN %1$I.message_bodies AS b ON b.blob_digest = m.blob_digest
  $view$, target);
END;
$fn$;

INSERT INTO projection_versions (name, active_version) VALUES ('mailbox', 1);
SELECT proj_mailbox_create_tables('proj_mailbox_v1');
SELECT proj_mailbox_expose('proj_mailbox_v1');
