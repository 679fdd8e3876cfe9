-- Every decision about the person: linked, merged or refused, theirs or
-- anchored on them; detail names both sides of a strong conflict ("a vs b;
-- c vs d"). The condition only.
identifier IN (SELECT term FROM {database:Identifier}.{terms:Identifier})
   OR anchor IN (SELECT term FROM {database:Identifier}.{terms:Identifier})
   OR from_key IN (SELECT term FROM {database:Identifier}.{terms:Identifier})
   OR to_key IN (SELECT term FROM {database:Identifier}.{terms:Identifier})
   OR hasAny(splitByRegexp(' vs |; ', detail), (SELECT groupArray(term) FROM {database:Identifier}.{terms:Identifier}))
