-- Every row of the person's identifiers, and every identifier mapped to
-- them (the condition only).
identifier IN (SELECT term FROM {database:Identifier}.{terms:Identifier})
   OR customer_key IN (SELECT term FROM {database:Identifier}.{terms:Identifier})
