-- A live projector batch opens in one round trip instead of four: take the projection's lock
-- shared (a rebuild's switch takes it exclusive), read the active version after the lock (its
-- own statement, so its snapshot sees a switch that committed while we waited), then lock the
-- batch's users' positions in user order (so batches never deadlock), return where each stood,
-- and move each to the last position of the batch. The caller applies the events above the
-- returned positions in the same transaction: a failure rolls the positions back with them.
-- Through the reader views, which point at the active version: static SQL, planned once per
-- connection. With no users, one row with the version and a null user.
CREATE FUNCTION proj_mailbox_open_batch(user_ids text[], last_positions bigint[])
RETURNS TABLE (active_version integer, user_id text, previous_position bigint)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
  version integer;
BEGIN
  PERFORM pg_advisory_xact_lock_shared(hashtext('mailledger:projection:mailbox'));
  SELECT v.active_version INTO version FROM projection_versions AS v WHERE v.name = 'mailbox';
  IF cardinality(user_ids) = 0 THEN
    RETURN QUERY SELECT version, NULL::text, NULL::bigint;
    RETURN;
  END IF;
  RETURN QUERY
    INSERT INTO proj_mailbox.user_positions AS p (user_id, global_position)
    SELECT u.id, 0 FROM unnest(user_ids) AS u(id) ORDER BY u.id
    ON CONFLICT (user_id) DO UPDATE SET global_position = p.global_position
    RETURNING version, p.user_id, p.global_position;
  UPDATE proj_mailbox.user_positions AS p SET global_position = u.last_position
  FROM unnest(user_ids, last_positions) AS u(id, last_position)
  WHERE p.user_id = u.id AND p.global_position < u.last_position;
END
$fn$;
