-- Marking a complaint as a duplicate checks, in the same transaction,
-- that nothing points at it; this finds those that do without a scan.
CREATE INDEX complaints_duplicate_of ON complaints (duplicate_of) WHERE duplicate_of IS NOT NULL;
