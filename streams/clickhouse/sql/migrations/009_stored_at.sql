-- When each row became queryable: the server's clock when the insert ran.
-- Operations read the pipeline's delay from it (stored_at - received_at, or
-- stored_at - the producer's time), and `cx bench` its latency.
ALTER TABLE {database:Identifier}.touchpoints
    ADD COLUMN IF NOT EXISTS stored_at DateTime64(3, 'UTC') DEFAULT now64(3)
    COMMENT 'when the row was inserted (server clock)';

ALTER TABLE {database:Identifier}.journeys
    ADD COLUMN IF NOT EXISTS stored_at DateTime64(3, 'UTC') DEFAULT now64(3)
    COMMENT 'when this version of the journey was inserted (server clock)';
