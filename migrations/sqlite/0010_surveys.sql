-- Designers' surveys of courtyards and buildings: each element's
-- condition (1-5), a building's danger grade (JGJ 125, A-D), spot heights
-- of a yard's floor and the lane beside it, notes, the surveyor, and the
-- work order a poor finding opened. An asset's surveys are its condition
-- history; its `condition` attribute is the latest survey's.
CREATE TABLE surveys (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    -- No foreign key: a survey outlives the asset it describes.
    asset_id       INTEGER NOT NULL,
    surveyed_at    TEXT    NOT NULL,
    surveyor       TEXT    NOT NULL,
    conditions     TEXT    NOT NULL,
    danger_grade   TEXT CHECK (danger_grade IN ('A', 'B', 'C', 'D')),
    floor_height_m REAL,
    lane_height_m  REAL,
    notes          TEXT,
    surveyed_by    INTEGER,
    work_order_id  INTEGER REFERENCES work_orders (id),
    created_at     TEXT    NOT NULL
);
CREATE INDEX surveys_asset ON surveys (asset_id, surveyed_at, id);
