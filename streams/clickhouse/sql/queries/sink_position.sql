-- How far a sink has recorded its log; no row when it never has.
SELECT max(position)
FROM {database:Identifier}.sink_positions
WHERE sink = {sink:String}
HAVING count() > 0
