-- Cases that keep a caller's phone without its hash (stored before hashes
-- were kept) are hashed at start-up; this index, empty once they are,
-- makes that look instant on a table of millions.
CREATE INDEX complaints_unhashed_phone ON complaints (id)
    WHERE caller_phone IS NOT NULL AND caller_phone_hash IS NULL;
