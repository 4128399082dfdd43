-- The event store: the append-only log every view is derived from (DESIGN.md contract 6).

-- Positions come from an explicit sequence so readers can ask how far it has been handed out
-- (see src/events/readAll.ts for why that matters when tailing).
CREATE SEQUENCE events_global_position_seq AS bigint CACHE 1;

CREATE TABLE events (
  global_position bigint PRIMARY KEY DEFAULT nextval('events_global_position_seq'),
  event_id        text        NOT NULL UNIQUE,
  stream_id       text        NOT NULL,
  stream_version  bigint      NOT NULL,
  type            text        NOT NULL,
  schema_version  integer     NOT NULL,
  data            jsonb       NOT NULL,
  metadata        jsonb       NOT NULL,
  recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
  UNIQUE (stream_id, stream_version)
);
ALTER SEQUENCE events_global_position_seq OWNED BY events.global_position;

CREATE INDEX events_recorded_at_idx ON events (recorded_at);
CREATE INDEX events_user_idx ON events ((metadata ->> 'userId'), global_position);

-- One row per stream: its current version, the optimistic-concurrency gate.
CREATE TABLE streams (
  stream_id  text   PRIMARY KEY,
  version    bigint NOT NULL CHECK (version >= 0)
);

-- The log is append-only: no UPDATE or DELETE of an event, ever.
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the events table is append-only (% refused)', TG_OP;
END;
$$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
  FOR EACH ROW EXECUTE FUNCTION events_append_only();

-- Checkpoints of the log's consumers (outbox relay, projections, subscriptions).
CREATE TABLE checkpoints (
  consumer         text        PRIMARY KEY,
  global_position  bigint      NOT NULL,
  updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Tailing readers are woken by a NOTIFY on channel mailledger_events that writers send after
-- their transaction commits (src/events/logWakeup.ts), not from a trigger inside it: a NOTIFY
-- inside a writing transaction takes a database-wide lock at commit and serializes every commit.
