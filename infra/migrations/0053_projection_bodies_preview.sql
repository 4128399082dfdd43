-- PREVIEW (RFC 8970): the bodies view derives each body's preview text beside its ENVELOPE and
-- BODYSTRUCTURE (src/mime/previewText.ts). New versions get the column from
-- proj_bodies_create_tables; the versions that exist get it empty (NULL: not derived yet, which
-- readers derive on demand, as for a lagging view), and the reader views are made again so
-- that they show it.
CREATE OR REPLACE FUNCTION proj_bodies_create_tables(target text) RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
  EXECUTE format('CREATE SCHEMA %I', target);
  EXECUTE format($ddl$
    -- Per user, the global position of the last event of that user applied here: all events of
    -- a user are applied in log order (one Kafka partition per user), so an event at or below it
    -- was applied already (a redelivery) and is skipped.
    CREATE TABLE %1$I.user_positions (
      user_id         text   PRIMARY KEY,
      global_position bigint NOT NULL
    );

    -- Per mailbox, the MODSEQ of its last event applied here. A reader compares it with the
    -- index's HIGHESTMODSEQ: when it is lower, some of the mailbox's bodies may not be derived
    -- yet, and the reader derives those on demand (src/projections/queries/derivedBodies.ts).
    CREATE TABLE %1$I.mailboxes (
      mailbox_id     text   PRIMARY KEY,
      user_id        text   NOT NULL,
      highest_modseq bigint NOT NULL
    );
    CREATE INDEX ON %1$I.mailboxes (user_id);

    -- The body of each message in the view: an expunge names UIDs, and a body's row goes with
    -- the last message that has it. counted: the message arrived with its body's row (the blob
    -- could be read), so it counts in that row's refs.
    CREATE TABLE %1$I.message_refs (
      mailbox_id  text    NOT NULL,
      uid         bigint  NOT NULL,
      blob_digest text    NOT NULL,
      counted     boolean NOT NULL,
      PRIMARY KEY (mailbox_id, uid)
    );

    -- What is derived from a body (src/projections/bodiesView/derive.ts), once per distinct body
    -- that some message in the view has: COPY, MOVE and re-delivery share a digest. A body whose
    -- blob could not be read has no row (readers fall back on the event's header summary).
    -- refs counts the messages that arrived with the row; it goes when the last of them does. A
    -- counter rather than a look at message_refs: projector transactions of different users
    -- arriving and releasing one body at once serialize on its row.
    -- Search columns are lowercased; queries lowercase the needle the same way.
    CREATE TABLE %1$I.message_bodies (
      blob_digest        text  PRIMARY KEY,
      envelope           jsonb NOT NULL,
      structure          jsonb NOT NULL,
      search_from        text  NOT NULL,
      search_to          text  NOT NULL,
      search_cc          text  NOT NULL,
      search_bcc         text  NOT NULL,
      search_subject     text  NOT NULL,
      -- [[field name, decoded value], ...] for SEARCH HEADER and THREAD's References.
      search_headers     jsonb NOT NULL,
      search_header_text text  NOT NULL,
      search_body        text  NOT NULL,
      refs               bigint NOT NULL CHECK (refs >= 0),
      -- RFC 8970 PREVIEW text; NULL: not derived yet (a row from before 0053), answered
      -- by deriving it on demand, or NIL to FETCH PREVIEW (LAZY).
      preview            text
    );
  $ddl$, target);
END;
$fn$;

DO $do$
DECLARE
  version_schema text;
BEGIN
  FOR version_schema IN SELECT nspname FROM pg_namespace WHERE nspname ~ '^proj_bodies_v[0-9]+$' LOOP
    EXECUTE format('ALTER TABLE %I.message_bodies ADD COLUMN IF NOT EXISTS preview text', version_schema);
  END LOOP;
END
$do$;
SELECT proj_bodies_expose(format('proj_bodies_v%s', active_version))
FROM projection_versions WHERE name = 'bodies';
