-- SAVEDATE (RFC 8514): each message row keeps the MODSEQ of the event that brought it into its
-- mailbox (MessageAppended, MessagesCopiedIn, MessagesMovedIn); its save date is that event's
-- recorded_at, read from the log through UNIQUE (stream_id, stream_version), so a replay of the
-- log gives the same date to the microsecond. Rows written before this migration are filled from
-- the log here.
ALTER TABLE messages ADD COLUMN arrival_modseq bigint;
UPDATE messages AS m SET arrival_modseq = a.modseq
FROM (
  SELECT substr(e.stream_id, 9) AS mailbox_id, (e.data ->> 'uid')::bigint AS uid,
         (e.data ->> 'modseq')::bigint AS modseq
  FROM events AS e WHERE e.type = 'MessageAppended'
  UNION ALL
  SELECT substr(e.stream_id, 9), (x ->> 'uid')::bigint, (e.data ->> 'modseq')::bigint
  FROM events AS e, jsonb_array_elements(e.data -> 'messages') AS x
  WHERE e.type IN ('MessagesCopiedIn', 'MessagesMovedIn')
) AS a
WHERE a.mailbox_id = m.mailbox_id AND a.uid = m.uid;
