-- Facilities (parks, sports grounds, elderly care, community centres,
-- clinics) are a seventh asset kind. SQLite cannot change a CHECK
-- constraint in place, so the assets table is rebuilt as its documented
-- ALTER TABLE procedure says: a new table, the rows copied, the old one
-- dropped, the new one renamed, its indexes made again. No foreign key
-- refers to assets. The AUTOINCREMENT counter is carried over, so that
-- the id of a deleted asset is never given again.
CREATE TABLE assets_v2 (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT    NOT NULL CHECK (kind IN ('courtyard', 'building', 'lane', 'drainage', 'light', 'charger', 'facility')),
    geometry      TEXT    NOT NULL,
    geometry_type TEXT    NOT NULL CHECK (geometry_type IN ('Point', 'LineString', 'Polygon', 'MultiPolygon')),
    min_lon       REAL    NOT NULL,
    min_lat       REAL    NOT NULL,
    max_lon       REAL    NOT NULL,
    max_lat       REAL    NOT NULL,
    attributes    TEXT    NOT NULL CHECK (json_valid(attributes)),
    district      TEXT,
    area_m2       REAL,
    length_m      REAL,
    version       INTEGER NOT NULL CHECK (version >= 1),
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL
);

INSERT INTO assets_v2 (id, kind, geometry, geometry_type, min_lon, min_lat, max_lon, max_lat,
                       attributes, district, area_m2, length_m, version, created_at, updated_at)
SELECT id, kind, geometry, geometry_type, min_lon, min_lat, max_lon, max_lat,
       attributes, district, area_m2, length_m, version, created_at, updated_at
FROM assets;

INSERT INTO sqlite_sequence (name, seq)
SELECT 'assets_v2', seq FROM sqlite_sequence
WHERE name = 'assets' AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'assets_v2');
UPDATE sqlite_sequence
SET seq = max(seq, coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'assets'), 0))
WHERE name = 'assets_v2';

DROP TABLE assets;
ALTER TABLE assets_v2 RENAME TO assets;

CREATE INDEX assets_kind_id ON assets (kind, id);
CREATE INDEX assets_district ON assets (district) WHERE district IS NOT NULL;
