-- The mailbox index (DESIGN.md, "two kinds of views"): the write model becomes what the gateway
-- reads. It is an inline projection, written by each command's own transaction from the events
-- it appends (src/commands/writeModel.ts), so it is exact at every instant: SELECT, STATUS,
-- LIST, FETCH of flags and dates, SEARCH on what it holds, and changes since a MODSEQ read it.
-- What it adds to the write model: per-mailbox counters for STATUS, tombstones of expunged UIDs
-- for QRESYNC, and the indexes SELECT and changes-since-MODSEQ need.

ALTER TABLE mailboxes
  ADD COLUMN message_count bigint NOT NULL DEFAULT 0,
  ADD COLUMN unseen_count  bigint NOT NULL DEFAULT 0,
  ADD COLUMN total_size    bigint NOT NULL DEFAULT 0;

UPDATE mailboxes AS mb
SET message_count = c.messages, unseen_count = c.unseen, total_size = c.octets
FROM (
  SELECT mailbox_id, count(*) AS messages, count(*) FILTER (WHERE NOT ('\Seen' = ANY (flags))) AS unseen,
    sum(size) AS octets
  FROM messages GROUP BY mailbox_id
) AS c
WHERE mb.id = c.mailbox_id;

-- Expunged UIDs of a selectable mailbox with the MODSEQ of their expunge (or move out), for
-- QRESYNC's VANISHED (RFC 7162 3.2.10). A deleted mailbox's go with it (MailboxDeleted), and
-- the expunge that empties a mailbox being deleted leaves none.
CREATE TABLE tombstones (
  mailbox_id text   NOT NULL REFERENCES mailboxes (id),
  uid        bigint NOT NULL,
  modseq     bigint NOT NULL,
  PRIMARY KEY (mailbox_id, uid)
);
CREATE INDEX tombstones_modseq_idx ON tombstones (mailbox_id, modseq);

INSERT INTO tombstones (mailbox_id, uid, modseq)
SELECT mb.id, u.uid::bigint, max((e.data ->> 'modseq')::bigint)
FROM mailboxes AS mb
JOIN events AS e ON e.stream_id = 'mailbox-' || mb.id
CROSS JOIN LATERAL jsonb_array_elements_text(e.data -> 'uids') AS u(uid)
WHERE mb.status = 'selectable'
  AND (e.type = 'MessagesMovedOut' OR (e.type = 'MessagesExpunged' AND e.data ->> 'cause' <> 'mailbox-deleted'))
GROUP BY mb.id, u.uid::bigint;

-- Changes since a MODSEQ (NOOP, IDLE, every command on a selected mailbox, CONDSTORE FETCH).
CREATE INDEX messages_modseq_idx ON messages (mailbox_id, modseq);
-- SELECT's first unseen message and SEARCH UNSEEN, without reading the seen ones.
CREATE INDEX messages_unseen_idx ON messages (mailbox_id, uid) WHERE NOT ('\Seen' = ANY (flags));
