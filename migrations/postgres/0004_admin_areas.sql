-- Administrative areas (see the SQLite migration of the same name).
CREATE TABLE admin_areas (
    code        text PRIMARY KEY,
    level       text NOT NULL CHECK (level IN ('district', 'street', 'community')),
    name        text NOT NULL,
    name_zh     text,
    parent_code text REFERENCES admin_areas (code),
    geometry    text NOT NULL,
    approximate boolean NOT NULL DEFAULT false,
    updated_at  timestamptz NOT NULL
);

ALTER TABLE complaints ADD COLUMN street text, ADD COLUMN community text;
CREATE INDEX complaints_street ON complaints (street, reported_at) WHERE street IS NOT NULL;
