-- METADATA (RFC 5464): the entries SETMETADATA set, an inline table of the index written with
-- their MetadataEntriesSet events, so GETMETADATA and the limits SETMETADATA checks read what is
-- committed. mailbox_id '' is the server's entries; user_id owns /private/ entries and, for
-- /shared/ ones, is the account whose mailbox (or server view) they annotate.
CREATE TABLE metadata_entries (
  user_id    text NOT NULL,
  mailbox_id text NOT NULL,
  name       text NOT NULL,
  value      text NOT NULL,
  PRIMARY KEY (user_id, mailbox_id, name)
);
