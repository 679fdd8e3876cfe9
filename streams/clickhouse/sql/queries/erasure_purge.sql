-- Rewrite the parts of a table that hold rows deleted by a lightweight
-- DELETE, without them, and wait until done. The old parts are removed from
-- disk by the engine's cleanup (old_parts_lifetime after, 0 s embedded,
-- 480 s on a server by default).
ALTER TABLE {database:Identifier}.{table:Identifier} APPLY DELETED MASK
SETTINGS mutations_sync = 2
