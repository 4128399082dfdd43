-- STORE and EXPUNGE read their mailbox under its row lock and then its messages: one round trip
-- instead of two. The messages are read in a statement of their own, after the lock is held, so
-- their snapshot includes every change committed by the transaction that held the lock before
-- (one statement could not do that: its snapshot would be taken before the lock wait).
-- p_uids: the messages asked for; null: those flagged \Deleted (EXPUNGE, CLOSE).
-- No row when the user has no such live mailbox.
CREATE FUNCTION write_model_lock_selected(p_user_id text, p_mailbox_id text, p_uids bigint[])
RETURNS TABLE (
  id text, user_id text, name text, status text, uid_validity bigint, uid_next bigint,
  highest_modseq bigint, append_limit bigint, special_use text, messages json)
LANGUAGE plpgsql AS $fn$
DECLARE
  locked mailboxes%ROWTYPE;
BEGIN
  SELECT * INTO locked FROM mailboxes AS mb
  WHERE mb.id = p_mailbox_id AND mb.user_id = p_user_id AND mb.status <> 'deleted'
  FOR UPDATE;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  RETURN QUERY
    SELECT locked.id, locked.user_id, locked.name, locked.status, locked.uid_validity, locked.uid_next,
      locked.highest_modseq, locked.append_limit, locked.special_use,
      (SELECT coalesce(json_agg(json_build_array(m.uid, m.modseq, m.flags,
                  floor(extract(epoch FROM m.internal_date) * 1000)::int8, m.size, m.blob_digest,
                  m.header_summary) ORDER BY m.uid), '[]'::json)
         FROM messages AS m
        WHERE m.mailbox_id = locked.id
          AND CASE WHEN p_uids IS NULL THEN '\Deleted' = ANY (m.flags) ELSE m.uid = ANY (p_uids) END);
END
$fn$;
