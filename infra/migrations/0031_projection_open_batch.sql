-- A live projector batch opens in one round trip instead of four: take the projection's lock
-- shared (a rebuild's switch takes it exclusive), read the active version after the lock (its
-- own statement, so its snapshot sees a switch that committed while we waited), then lock the
-- batch's users' positions in user order (so batches never deadlock), return where each stood,
-- and move each to the last position of the batch. The caller applies the events above the
-- returned positions in the same transaction: a failure rolls the positions back with them.
-- The version's schema is proj_<name>_v<version> (src/projections/runner/projection.ts). With
-- no users, one row with the version and null user.
CREATE FUNCTION projection_open_batch(projection text, user_ids text[], last_positions bigint[])
RETURNS TABLE (active_version integer, user_id text, previous_position bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
  version integer;
  target text;
BEGIN
  PERFORM pg_advisory_xact_lock_shared(hashtext('mailledger:projection:' || projection));
  SELECT v.active_version INTO version FROM projection_versions AS v WHERE v.name = projection;
  IF version IS NULL THEN
    RAISE EXCEPTION 'projection % has no active version', projection;
  END IF;
  IF cardinality(user_ids) = 0 THEN
    RETURN QUERY SELECT version, NULL::text, NULL::bigint;
    RETURN;
  END IF;
  target := format('proj_%s_v%s', projection, version);
  RETURN QUERY EXECUTE format($q$
    INSERT INTO %1$I.user_positions AS p (user_id, global_position)
    SELECT u.user_id, 0 FROM unnest($1::text[]) AS u(user_id) ORDER BY u.user_id
    ON CONFLICT (user_id) DO UPDATE SET global_position = p.global_position
    RETURNING %2$s::integer, p.user_id, p.global_position$q$, target, version)
    USING user_ids;
  EXECUTE format($q$
    UPDATE %1$I.user_positions AS p SET global_position = u.last_position
    FROM unnest($1::text[], $2::bigint[]) AS u(user_id, last_position)
    WHERE p.user_id = u.user_id AND p.global_position < u.last_position$q$, target)
    USING user_ids, last_positions;
END
$fn$;
