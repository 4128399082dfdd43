-- LMTP deliveries (src/lmtp/delivery.ts): a delivery the MTA retries after losing our reply is
-- recognised by the SHA-256 of the message as received, which its MessageAppended events carry
-- in metadata.delivery. Only those events are indexed, so the look-up costs one index probe
-- however long the mailbox's history.
CREATE INDEX events_lmtp_delivery_idx ON events ((metadata -> 'delivery' ->> 'contentDigest'))
  WHERE (metadata -> 'delivery') IS NOT NULL;
