-- The hotline loop: case types, cases located by address or not at all,
-- the responsible unit with its deadlines, call-backs, the caller's phone
-- as a keyed hash for matching, and erasure after retention.
--
-- SQLite cannot drop NOT NULL from lon/lat, nor change the CHECK on a
-- token's role, so those tables are rebuilt. sqlx runs this file in one
-- transaction, where foreign keys cannot be turned off, and dropping a
-- table others refer to would fail their check. So the complaints table
-- is renamed aside (SQLite points the references of complaint_events and
-- complaint_links at the new name), a new one is made and filled under
-- the old name, and the two tables that refer to it are rebuilt the same
-- way to refer to the new one; then nothing refers to the old tables and
-- they are dropped. Foreign keys are checked at commit
-- (defer_foreign_keys), when every row is in place.
PRAGMA defer_foreign_keys = ON;
ALTER TABLE complaints RENAME TO complaints_before_0005;

CREATE TABLE complaints (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    case_number    TEXT    NOT NULL UNIQUE,
    channel        TEXT    NOT NULL,
    -- inquiry, help, complaint, report, suggestion or praise.
    case_type      TEXT    NOT NULL DEFAULT 'complaint',
    category       TEXT    NOT NULL,
    description    TEXT    NOT NULL,
    address        TEXT,
    district       TEXT,
    -- NULL together when the case could not be located (located_by
    -- 'unlocated'): it waits for an operator to place it.
    lon            REAL,
    lat            REAL,
    raw_lon        REAL,
    raw_lat        REAL,
    -- coordinates, address_house, address_way, operator or unlocated.
    located_by     TEXT    NOT NULL DEFAULT 'coordinates',
    coord_sys      TEXT    NOT NULL CHECK (coord_sys IN ('wgs84', 'gcj02', 'bd09')),
    reported_at    TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    resolution     TEXT,
    satisfaction   INTEGER CHECK (satisfaction BETWEEN 1 AND 5),
    caller_name    TEXT,
    caller_phone   TEXT,
    -- HMAC-SHA256 of the phone's digits under the key in service_secrets:
    -- finds a caller's earlier cases without a readable phone column.
    caller_phone_hash TEXT,
    duplicate_of   INTEGER REFERENCES complaints (id),
    flags          TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(flags)),
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    cell           INTEGER,
    -- The responsible unit the case is with now, and its deadlines.
    unit           TEXT,
    urgency        TEXT,
    dispatched_at  TEXT,
    response_due   TEXT,
    resolution_due TEXT,
    accepted_at    TEXT,
    closed_at      TEXT,
    -- Marked not assessable (kept, counted apart from the rates).
    not_assessable_reason TEXT,
    not_assessable_by     INTEGER,
    personal_data_erased_at TEXT,
    CHECK ((lon IS NULL) = (located_by = 'unlocated')),
    CHECK ((lat IS NULL) = (lon IS NULL))
);

INSERT INTO complaints (id, case_number, channel, category, description, address, district,
    lon, lat, raw_lon, raw_lat, coord_sys, reported_at, status, resolution, satisfaction,
    caller_name, caller_phone, duplicate_of, flags, created_at, updated_at, cell, closed_at)
SELECT id, case_number, channel, category, description, address, district,
    lon, lat, raw_lon, raw_lat, coord_sys, reported_at, status, resolution, satisfaction,
    caller_name, caller_phone, duplicate_of, flags, created_at, updated_at, cell,
    CASE WHEN status IN ('closed', 'rejected') THEN updated_at END
FROM complaints_before_0005;

-- Each step of the loop in the case's history: what was done (dispatched,
-- accepted, sent_back, reopened, called_back, located, not_assessable,
-- personal_data_erased; NULL for a plain status change), the unit, and
-- the step's own facts as a JSON object (deadlines, call-back answers).
ALTER TABLE complaint_events RENAME TO complaint_events_before_0005;
CREATE TABLE complaint_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    complaint_id INTEGER NOT NULL REFERENCES complaints (id),
    from_status  TEXT,
    to_status    TEXT    NOT NULL,
    note         TEXT,
    actor_token  INTEGER,
    actor_role   TEXT    NOT NULL,
    at           TEXT    NOT NULL,
    action       TEXT,
    unit         TEXT,
    detail       TEXT CHECK (detail IS NULL OR json_valid(detail))
);
INSERT INTO complaint_events (id, complaint_id, from_status, to_status, note, actor_token, actor_role, at)
SELECT id, complaint_id, from_status, to_status, note, actor_token, actor_role, at
FROM complaint_events_before_0005;
DROP TABLE complaint_events_before_0005;

ALTER TABLE complaint_links RENAME TO complaint_links_before_0005;
CREATE TABLE complaint_links (
    complaint_id INTEGER NOT NULL REFERENCES complaints (id),
    asset_id     INTEGER NOT NULL,
    rule         TEXT    NOT NULL,
    distance_m   REAL    NOT NULL,
    PRIMARY KEY (complaint_id, asset_id, rule)
) WITHOUT ROWID;
INSERT INTO complaint_links SELECT complaint_id, asset_id, rule, distance_m
FROM complaint_links_before_0005;
DROP TABLE complaint_links_before_0005;

-- Nothing refers to the old table now (its marks point at itself).
UPDATE complaints_before_0005 SET duplicate_of = NULL;
DROP TABLE complaints_before_0005;

CREATE INDEX complaint_events_complaint ON complaint_events (complaint_id, id);
CREATE INDEX complaint_links_asset ON complaint_links (asset_id);

CREATE INDEX complaints_reported_at ON complaints (reported_at);
CREATE INDEX complaints_category_status ON complaints (category, status, reported_at);
CREATE INDEX complaints_district ON complaints (district, reported_at);
CREATE INDEX complaints_cell ON complaints (cell);
CREATE INDEX complaints_duplicate_of ON complaints (duplicate_of) WHERE duplicate_of IS NOT NULL;
CREATE INDEX complaints_unit ON complaints (unit, status, reported_at) WHERE unit IS NOT NULL;
CREATE INDEX complaints_unlocated ON complaints (reported_at) WHERE lon IS NULL;
CREATE INDEX complaints_caller ON complaints (caller_phone_hash) WHERE caller_phone_hash IS NOT NULL;
CREATE INDEX complaints_to_erase ON complaints (closed_at)
    WHERE closed_at IS NOT NULL AND personal_data_erased_at IS NULL;
CREATE INDEX complaints_due ON complaints (resolution_due)
    WHERE status IN ('dispatched', 'in_progress');

-- Call-backs: exactly the caller's answers. A valid call-back (the caller
-- reached) is what the response, resolution and satisfaction rates are
-- computed from.
CREATE TABLE complaint_callbacks (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    complaint_id   INTEGER NOT NULL REFERENCES complaints (id),
    unit           TEXT,
    reached        INTEGER NOT NULL CHECK (reached IN (0, 1)),
    attempts       INTEGER NOT NULL CHECK (attempts BETWEEN 1 AND 20),
    unit_contacted INTEGER CHECK (unit_contacted IN (0, 1)),
    solved         INTEGER CHECK (solved IN (0, 1)),
    satisfaction   TEXT,
    comment        TEXT,
    actor_token    INTEGER,
    actor_role     TEXT    NOT NULL,
    at             TEXT    NOT NULL,
    CHECK (reached = 1 OR (unit_contacted IS NULL AND solved IS NULL AND satisfaction IS NULL)),
    CHECK (reached = 0 OR (unit_contacted IS NOT NULL AND solved IS NOT NULL AND satisfaction IS NOT NULL))
);
CREATE INDEX complaint_callbacks_complaint ON complaint_callbacks (complaint_id, id);
CREATE INDEX complaint_callbacks_at ON complaint_callbacks (at);

-- Keys the service makes for itself once (the caller-phone HMAC key),
-- shared by every instance on this database.
CREATE TABLE service_secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

-- Tokens: a new role, `unit`, for a responsible unit's staff, scoped to
-- that unit.
CREATE TABLE api_tokens_rebuilt (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    token_sha256 TEXT    NOT NULL UNIQUE,
    role         TEXT    NOT NULL CHECK (role IN ('admin', 'planner', 'designer', 'crew', 'operator', 'unit')),
    district     TEXT,
    unit         TEXT,
    label        TEXT,
    created_at   TEXT    NOT NULL,
    revoked_at   TEXT,
    CHECK ((role = 'unit') = (unit IS NOT NULL))
);
INSERT INTO api_tokens_rebuilt (id, token_sha256, role, district, label, created_at, revoked_at)
SELECT id, token_sha256, role, district, label, created_at, revoked_at FROM api_tokens;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_rebuilt RENAME TO api_tokens;

