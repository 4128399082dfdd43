-- Message bodies stored inside PostgreSQL (BLOB_STORE=postgres, the default), addressed by the
-- SHA-256 of their content: the same body appended twice is one row.
CREATE TABLE blobs (
  digest      text        PRIMARY KEY CHECK (digest ~ '^[0-9a-f]{64}$'),
  size        bigint      NOT NULL CHECK (size >= 0),
  content     bytea       NOT NULL,
  -- Refreshed by every put of the same body: garbage collection spares blobs put within its
  -- grace period, so an APPEND that stored its body but has not committed yet keeps it.
  last_put_at timestamptz NOT NULL DEFAULT now()
);
-- Uncompressed out-of-line storage, so substring() reads a range without detoasting it all.
ALTER TABLE blobs ALTER COLUMN content SET STORAGE EXTERNAL;
CREATE INDEX blobs_last_put_at_idx ON blobs (last_put_at);
