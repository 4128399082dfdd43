-- \Recent (RFC 3501 2.3.2): a message is recent to exactly one session, the first that sees it.
-- Sessions on any node claim "every UID up to N" per mailbox; whoever moves the mark gets the
-- UIDs between the old and the new mark. Session state, not domain history: not an event.
CREATE TABLE recent_claims (
  mailbox_id          text   PRIMARY KEY,
  claimed_through_uid bigint NOT NULL CHECK (claimed_through_uid >= 0)
);
