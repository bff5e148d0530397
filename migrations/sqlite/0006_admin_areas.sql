-- Administrative areas: districts (区), streets and towns (街道/乡镇), and
-- communities and villages (社区/村), imported from GeoJSON
-- (`hutong import-areas`). geometry is a GeoJSON Polygon or MultiPolygon
-- in WGS 84; approximate marks boundaries drawn by hand (the demo's).
CREATE TABLE admin_areas (
    code        TEXT    PRIMARY KEY,
    level       TEXT    NOT NULL CHECK (level IN ('district', 'street', 'community')),
    name        TEXT    NOT NULL,
    name_zh     TEXT,
    parent_code TEXT    REFERENCES admin_areas (code),
    geometry    TEXT    NOT NULL CHECK (json_valid(geometry)),
    approximate INTEGER NOT NULL DEFAULT 0 CHECK (approximate IN (0, 1)),
    updated_at  TEXT    NOT NULL
);

-- A case's street and community, derived from its location when areas
-- are imported (its district is too).
ALTER TABLE complaints ADD COLUMN street TEXT;
ALTER TABLE complaints ADD COLUMN community TEXT;
CREATE INDEX complaints_street ON complaints (street, reported_at) WHERE street IS NOT NULL;
