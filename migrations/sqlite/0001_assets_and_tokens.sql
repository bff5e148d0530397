-- Assets: one row per physical asset. Geometry is a GeoJSON geometry in
-- WGS 84 (RFC 7946); its bounding box is kept in columns so that the
-- spatial index can be rebuilt without parsing point geometries.
CREATE TABLE assets (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT    NOT NULL CHECK (kind IN ('courtyard', 'building', 'lane', 'drainage', 'light', 'charger')),
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

CREATE INDEX assets_kind_id ON assets (kind, id);
CREATE INDEX assets_district ON assets (district) WHERE district IS NOT NULL;

-- API tokens. Only the SHA-256 of a token is stored; the token itself is
-- shown once, when it is created.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    token_sha256 TEXT    NOT NULL UNIQUE,
    role         TEXT    NOT NULL CHECK (role IN ('admin', 'planner', 'designer', 'crew', 'operator')),
    district     TEXT,
    label        TEXT,
    created_at   TEXT    NOT NULL,
    revoked_at   TEXT
);
