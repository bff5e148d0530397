-- Complaints are found by place through a B-tree over a Z-order cell key
-- of their location (see src/spatial/cell_key.rs) instead of an R*Tree:
-- the same box queries, with a few range scans and an exact check of
-- lon/lat, and inserts that cost a B-tree entry rather than an R*Tree
-- insertion (a quarter of bulk import's time). Rows stored before this
-- get their key when the store is next opened.
ALTER TABLE complaints ADD COLUMN cell INTEGER;
CREATE INDEX complaints_cell ON complaints (cell);
DROP TABLE complaints_rtree;
