-- SEARCH on the system flags reads an index built for it (issue 13, big mailboxes): system flags
-- are stored in their canonical case, so SEARCH UNSEEN, SEEN, DELETED, FLAGGED and the like
-- compile to `'\Flag' = ANY (flags)` (src/projections/queries/compileSearch.ts), which the
-- planner matches with these partial indexes. UNSEEN and DELETED have theirs already
-- (messages_unseen_idx, messages_deleted_idx); \Flagged is the other one clients ask for on
-- every sync (a webmail's starred list). SEEN needs none: most mail is seen, a scan is cheaper.
CREATE INDEX messages_flagged_idx ON messages (mailbox_id, uid) WHERE '\Flagged' = ANY (flags);
