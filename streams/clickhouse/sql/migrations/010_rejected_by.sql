-- A valid record that a later stage failed on is a dead letter of that
-- stage (processing_failed, store_rejected): say which. Ingest's rejections
-- (the contract) are the rest.
ALTER TABLE {database:Identifier}.deadletters
    ADD COLUMN IF NOT EXISTS rejected_by LowCardinality(String) DEFAULT 'ingest'
    COMMENT 'the stage that set the record aside: ingest (the contract), store';

-- A journey's revenue sums its purchases, each below 1e14 (the contract's
-- bound, which Decimal(18, 4) holds): the sum needs more digits.
ALTER TABLE {database:Identifier}.journeys
    MODIFY COLUMN revenue Map(LowCardinality(String), Decimal(38, 4)) COMMENT 'currency -> total';
