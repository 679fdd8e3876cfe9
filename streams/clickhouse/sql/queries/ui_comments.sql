-- The latest survey comments per stage (docs/ui.md, behind the token) from
-- `survey_comments`: answers given in [since_day, until_day), at most
-- {limit} per stage, newest first, each with how many the stage has; with
-- the journey map's filters (channel: the one the answer's journey began
-- on; store: a store that journey touched), one stage ({any_stage} = 0) and
-- one survey (empty: all). No identifier of the person is read.
SELECT stage, at, survey, score, comment, channel, store_id,
       touchpoint_event_type, touchpoint_channel, touchpoint_store_id,
       count() OVER (PARTITION BY stage) AS comments
FROM {database:Identifier}.survey_comments
WHERE day >= {since_day:Date} AND day < {until_day:Date}
  AND ({channel:String} = '' OR first_channel = {channel:String})
  AND ({segment:String} = '' OR segment = {segment:String})
  AND ({b2b:Int8} < 0 OR b2b = {b2b:Int8})
  AND ({store:String} = '' OR has(stores, {store:String}))
  AND ({any_stage:UInt8} = 1 OR stage = {stage:String})
  AND ({survey:String} = '' OR survey = {survey:String})
ORDER BY stage, at DESC, event_id
LIMIT {limit:UInt32} BY stage
