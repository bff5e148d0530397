-- Field work: work orders with their history and photos, and tokens that
-- may expire and may name a crew.
--
-- Tokens: a `crew` token may now name its unit and crew (a crew acts on
-- its own crew's work orders and sees its unit's); a token may expire.
-- SQLite cannot change a CHECK, so the table is rebuilt (nothing refers
-- to it). sqlx runs this file in one transaction.
CREATE TABLE api_tokens_rebuilt (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    token_sha256 TEXT    NOT NULL UNIQUE,
    role         TEXT    NOT NULL CHECK (role IN ('admin', 'planner', 'designer', 'crew', 'operator', 'unit')),
    district     TEXT,
    unit         TEXT,
    crew         TEXT,
    label        TEXT,
    created_at   TEXT    NOT NULL,
    expires_at   TEXT,
    revoked_at   TEXT,
    CHECK (role <> 'unit' OR unit IS NOT NULL),
    CHECK (unit IS NULL OR role IN ('unit', 'crew')),
    CHECK (crew IS NULL OR (role = 'crew' AND unit IS NOT NULL))
);
INSERT INTO api_tokens_rebuilt (id, token_sha256, role, district, unit, label, created_at, revoked_at)
SELECT id, token_sha256, role, district, unit, label, created_at, revoked_at FROM api_tokens;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_rebuilt RENAME TO api_tokens;

CREATE TABLE work_orders (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    unit         TEXT    NOT NULL,
    crew         TEXT,
    origin       TEXT    NOT NULL CHECK (origin IN ('complaint', 'plan', 'survey', 'manual')),
    complaint_id INTEGER REFERENCES complaints (id),
    plan_id      INTEGER,
    survey_id    INTEGER,
    -- No foreign key: the order keeps the id of an asset deleted later.
    asset_id     INTEGER,
    lon          REAL    NOT NULL,
    lat          REAL    NOT NULL,
    district     TEXT,
    kind         TEXT    NOT NULL,
    description  TEXT    NOT NULL,
    priority     TEXT    NOT NULL,
    due_at       TEXT,
    -- A plan's new positions riding along (GeoJSON), or NULL.
    positions    TEXT,
    status       TEXT    NOT NULL CHECK (status IN ('open', 'assigned', 'in_progress', 'done', 'verified', 'cancelled')),
    version      INTEGER NOT NULL,
    -- The evidence of a job done (JSON), or NULL.
    evidence     TEXT,
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL,
    done_at      TEXT,
    verified_at  TEXT,
    CHECK ((status = 'open') = (crew IS NULL) OR status IN ('cancelled', 'done', 'verified'))
);
-- The open orders are read whole at start-up into memory.
CREATE INDEX work_orders_open ON work_orders (id) WHERE status IN ('open', 'assigned', 'in_progress');
CREATE INDEX work_orders_complaint ON work_orders (complaint_id) WHERE complaint_id IS NOT NULL;
CREATE INDEX work_orders_unit ON work_orders (unit, id);

CREATE TABLE work_order_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    work_order_id INTEGER NOT NULL REFERENCES work_orders (id),
    action        TEXT    NOT NULL,
    from_status   TEXT,
    to_status     TEXT    NOT NULL,
    crew          TEXT,
    note          TEXT,
    actor_token   INTEGER,
    actor_role    TEXT    NOT NULL,
    at            TEXT    NOT NULL
);
CREATE INDEX work_order_events_order ON work_order_events (work_order_id, id);

-- Photos (of work done, of a survey) in the database, so that every
-- instance serves them.
CREATE TABLE photos (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    owner        TEXT    NOT NULL CHECK (owner IN ('work_order', 'survey')),
    owner_id     INTEGER NOT NULL,
    media_type   TEXT    NOT NULL,
    bytes        BLOB    NOT NULL,
    sha256       TEXT    NOT NULL,
    exif_lon     REAL,
    exif_lat     REAL,
    distance_m   REAL,
    actor_token  INTEGER,
    created_at   TEXT    NOT NULL
);
CREATE INDEX photos_owner ON photos (owner, owner_id, id);
