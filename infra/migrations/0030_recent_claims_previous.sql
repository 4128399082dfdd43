-- A claim of \Recent in one statement: the upsert that moves the mark also keeps the mark it
-- replaced, so RETURNING tells each claimer exactly which UIDs became its own (under the row
-- lock the upsert takes). It was a transaction of four round trips per SELECT and per new mail.
ALTER TABLE recent_claims
  ADD COLUMN previous_through_uid bigint NOT NULL DEFAULT 0 CHECK (previous_through_uid >= 0);
