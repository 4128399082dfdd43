-- The derived view of message bodies (DESIGN.md: an asynchronous projection fed by Kafka):
-- ENVELOPE, BODYSTRUCTURE with section offsets, the search text and the thread keys, derived
-- from each distinct body once (src/projections/bodiesView). It replaces the "mailbox"
-- projection, whose mailboxes, messages, flags, tombstones and subscriptions now live in the
-- mailbox index (0040_mailbox_index.sql) and are no longer copied.
--
-- Blue/green as before: each version lives in its own schema proj_bodies_v<N>, created by
-- proj_bodies_create_tables(); readers read the schema proj_bodies, whose views
-- proj_bodies_expose() points at the active version.

CREATE FUNCTION proj_bodies_create_tables(target text) RETURNS void LANGUAGE plpgsql AS $fn$
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
      refs               bigint NOT NULL CHECK (refs >= 0)
    );
  $ddl$, target);
END;
$fn$;

CREATE FUNCTION proj_bodies_expose(target text) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  relation text;
BEGIN
  CREATE SCHEMA IF NOT EXISTS proj_bodies;
  FOREACH relation IN ARRAY ARRAY['user_positions', 'mailboxes', 'message_refs', 'message_bodies'] LOOP
    EXECUTE format('CREATE OR REPLACE VIEW proj_bodies.%I AS SELECT * FROM %I.%I', relation, target, relation);
  END LOOP;
END;
$fn$;

-- A live projector batch opens in one round trip (as proj_mailbox_open_batch did): the
-- projection's lock shared, the active version, and the batch's users' positions locked in user
-- order and moved to the batch's last positions, answering where each stood.
CREATE FUNCTION proj_bodies_open_batch(user_ids text[], last_positions bigint[])
RETURNS TABLE (active_version integer, user_id text, previous_position bigint)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
  version integer;
BEGIN
  PERFORM pg_advisory_xact_lock_shared(hashtext('mailledger:projection:bodies'));
  SELECT v.active_version INTO version FROM projection_versions AS v WHERE v.name = 'bodies';
  IF cardinality(user_ids) = 0 THEN
    RETURN QUERY SELECT version, NULL::text, NULL::bigint;
    RETURN;
  END IF;
  RETURN QUERY
    INSERT INTO proj_bodies.user_positions AS p (user_id, global_position)
    SELECT u.id, 0 FROM unnest(user_ids) AS u(id) ORDER BY u.id
    ON CONFLICT (user_id) DO UPDATE SET global_position = p.global_position
    RETURNING version, p.user_id, p.global_position;
  UPDATE proj_bodies.user_positions AS p SET global_position = u.last_position
  FROM unnest(user_ids, last_positions) AS u(id, last_position)
  WHERE p.user_id = u.id AND p.global_position < u.last_position;
END
$fn$;

-- The first version is the active mailbox projection's body rows, so nothing is derived again
-- and the projector resumes where the mailbox projection stood (same user positions).
INSERT INTO projection_versions (name, active_version) VALUES ('bodies', 1);
SELECT proj_bodies_create_tables('proj_bodies_v1');
DO $do$
DECLARE
  source text;
BEGIN
  SELECT format('proj_mailbox_v%s', active_version) INTO source FROM projection_versions WHERE name = 'mailbox';
  IF source IS NULL THEN
    RETURN;
  END IF;
  EXECUTE format($copy$
    INSERT INTO proj_bodies_v1.user_positions (user_id, global_position)
      SELECT user_id, global_position FROM %1$I.user_positions;
    INSERT INTO proj_bodies_v1.mailboxes (mailbox_id, user_id, highest_modseq)
      SELECT mailbox_id, user_id, highest_modseq FROM %1$I.mailboxes;
    INSERT INTO proj_bodies_v1.message_refs (mailbox_id, uid, blob_digest, counted)
      SELECT mailbox_id, uid, blob_digest, summary_subject IS NULL FROM %1$I.messages;
    INSERT INTO proj_bodies_v1.message_bodies
      SELECT blob_digest, envelope, structure, search_from, search_to, search_cc, search_bcc, search_subject,
        search_headers, search_header_text, search_body, refs
      FROM %1$I.message_bodies;
  $copy$, source);
END
$do$;
SELECT proj_bodies_expose('proj_bodies_v1');

-- The mailbox projection goes: every version of it, its reader schema and its functions.
DO $do$
DECLARE
  version_schema text;
BEGIN
  FOR version_schema IN SELECT nspname FROM pg_namespace WHERE nspname ~ '^proj_mailbox_v[0-9]+$' LOOP
    EXECUTE format('DROP SCHEMA %I CASCADE', version_schema);
  END LOOP;
END
$do$;
DROP SCHEMA IF EXISTS proj_mailbox CASCADE;
DELETE FROM projection_versions WHERE name = 'mailbox';
-- The embedded projector's resume point carries over with the user positions.
UPDATE checkpoints SET consumer = 'projection:bodies' WHERE consumer = 'projection:mailbox';
DROP FUNCTION proj_mailbox_open_batch(text[], bigint[]);
DROP FUNCTION proj_mailbox_expose(text);
DROP FUNCTION proj_mailbox_create_tables(text);
