-- Indexes the read path of big mailboxes uses (issue 13).

-- FETCH of FLAGS, MODSEQ, INTERNALDATE and RFC822.SIZE over a range of UIDs (a client's resync,
-- `UID FETCH 1:* (FLAGS)`) reads this index alone, not the table's wide rows: an index-only scan,
-- 2 against 12 ms per 5,000 messages here. Flag changes are not HOT updates anyway (flags are
-- in the partial indexes' predicates), so carrying them here costs only the index's size.
CREATE INDEX messages_fetch_idx ON messages (mailbox_id, uid) INCLUDE (modseq, flags, internal_date, size);

-- SEARCH UNSEEN and SELECT's first unseen message: the unseen index carries MODSEQ too, so a
-- search answers with the highest MODSEQ of what it found (RFC 7162) from the index alone, and the
-- planner takes it over a scan of the whole mailbox (10 against 60 ms for 10,000 unseen of 100,000).
DROP INDEX messages_unseen_idx;
CREATE INDEX messages_unseen_idx ON messages (mailbox_id, uid) INCLUDE (modseq) WHERE NOT ('\Seen' = ANY (flags));

-- SEARCH on the system flags: they are stored in their canonical case, so SEARCH UNSEEN, SEEN,
-- DELETED, FLAGGED and the like compile to `'\Flag' = ANY (flags)`
-- (src/projections/queries/compileSearch.ts), which the planner matches with these partial
-- indexes. UNSEEN and DELETED have theirs already (messages_unseen_idx, messages_deleted_idx);
-- \Flagged is the other one clients ask for on every sync (a webmail's starred list). SEEN needs
-- none: most mail is seen, a scan is cheaper.
CREATE INDEX messages_flagged_idx ON messages (mailbox_id, uid) WHERE '\Flagged' = ANY (flags);
