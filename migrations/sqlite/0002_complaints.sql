-- Complaints from the 12345 hotline, Open311 clients and WeChat.
-- lon/lat are WGS 84; raw_lon/raw_lat are as received, in coord_sys.
-- Timestamps are RFC 3339 in UTC, so they sort as text.
CREATE TABLE complaints (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    case_number  TEXT    NOT NULL UNIQUE,
    channel      TEXT    NOT NULL,
    category     TEXT    NOT NULL,
    description  TEXT    NOT NULL,
    address      TEXT,
    district     TEXT,
    lon          REAL    NOT NULL,
    lat          REAL    NOT NULL,
    raw_lon      REAL    NOT NULL,
    raw_lat      REAL    NOT NULL,
    coord_sys    TEXT    NOT NULL CHECK (coord_sys IN ('wgs84', 'gcj02', 'bd09')),
    reported_at  TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    resolution   TEXT,
    satisfaction INTEGER CHECK (satisfaction BETWEEN 1 AND 5),
    caller_name  TEXT,
    caller_phone TEXT,
    duplicate_of INTEGER REFERENCES complaints (id),
    flags        TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(flags)),
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL
);

CREATE INDEX complaints_reported_at ON complaints (reported_at);
CREATE INDEX complaints_category_status ON complaints (category, status, reported_at);
CREATE INDEX complaints_district ON complaints (district, reported_at);

-- SQLite's R*Tree module: the spatial index of complaint locations
-- (complaints are far too many to keep in memory).
CREATE VIRTUAL TABLE complaints_rtree USING rtree (id, min_lon, max_lon, min_lat, max_lat);

-- Every status change after intake, with who made it and when (intake
-- itself is the complaint's created_at).
CREATE TABLE complaint_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    complaint_id INTEGER NOT NULL REFERENCES complaints (id),
    from_status  TEXT,
    to_status    TEXT    NOT NULL,
    note         TEXT,
    actor_token  INTEGER,
    actor_role   TEXT    NOT NULL,
    at           TEXT    NOT NULL
);

CREATE INDEX complaint_events_complaint ON complaint_events (complaint_id, id);

-- Links from complaints to the assets they concern, by linking rule, with
-- the metric distance. Assets may be deleted; links are then recomputed.
-- WITHOUT ROWID: the key is the table, one B-tree fewer per link.
CREATE TABLE complaint_links (
    complaint_id INTEGER NOT NULL REFERENCES complaints (id),
    asset_id     INTEGER NOT NULL,
    rule         TEXT    NOT NULL,
    distance_m   REAL    NOT NULL,
    PRIMARY KEY (complaint_id, asset_id, rule)
) WITHOUT ROWID;

CREATE INDEX complaint_links_asset ON complaint_links (asset_id);
