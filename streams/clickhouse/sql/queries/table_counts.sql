-- Rows per table of the processor's database (from part metadata: cheap).
SELECT table, sum(rows)
FROM system.parts
WHERE database = {database:String} AND active AND table IN ('touchpoints', 'deadletters', 'identity_map', 'identity_links', 'journeys')
GROUP BY table
