-- Every version of the person's journeys (the condition only).
customer_key IN (SELECT term FROM {database:Identifier}.{terms:Identifier})
