-- Dead letters hold no identifier (the original record stays on the
-- dead-letter topic): those of an event of the person that is also stored
-- as a touchpoint (a later stage's rejection) are matched by event id.
-- Run before the touchpoints' delete.
event_id != '' AND event_id IN (
    SELECT event_id FROM {database:Identifier}.touchpoints WHERE {{include erase_touchpoints}}
)
