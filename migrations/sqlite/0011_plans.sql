-- Repair plans: what the planner chose (kind, targets or a drawn area,
-- linked cases, kind-specific inputs, dates), what was worked out from
-- the geometry and the rules (quantities JSON, cost), the geometry it
-- covers with its box (for the map), and its status and version. The
-- audit trail keeps every change and move.
CREATE TABLE plans (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT    NOT NULL CHECK (kind IN ('permeable_paving', 'sensor_lights', 'ebike_chargers', 'drainage_repair', 'building_restoration', 'elevator_installation', 'facility')),
    title           TEXT    NOT NULL,
    description     TEXT,
    district        TEXT,
    targets         TEXT    NOT NULL,
    area            TEXT,
    complaint_ids   TEXT    NOT NULL,
    inputs          TEXT    NOT NULL,
    quantities      TEXT    NOT NULL,
    cost_cny        REAL    NOT NULL,
    geometry        TEXT    NOT NULL,
    min_lon         REAL    NOT NULL,
    min_lat         REAL    NOT NULL,
    max_lon         REAL    NOT NULL,
    max_lat         REAL    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('draft', 'proposed', 'approved', 'in_progress', 'completed', 'cancelled')),
    planned_start   TEXT,
    planned_end     TEXT,
    actual_start    TEXT,
    actual_end      TEXT,
    actual_cost_cny REAL,
    version         INTEGER NOT NULL,
    created_by      INTEGER,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL
);
CREATE INDEX plans_status ON plans (status, id);
CREATE INDEX plans_district ON plans (district, id);
