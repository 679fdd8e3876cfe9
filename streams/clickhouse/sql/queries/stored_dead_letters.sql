-- Which of these source positions have a stored dead letter already.
SELECT source_topic, source_partition, source_offset
FROM {database:Identifier}.deadletters
WHERE (source_topic, source_partition, source_offset) IN {positions:Array(Tuple(String, UInt32, UInt64))}
