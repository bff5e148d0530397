-- Facilities (parks, sports grounds, elderly care, community centres,
-- clinics) are a seventh asset kind.
ALTER TABLE assets DROP CONSTRAINT assets_kind_check;
ALTER TABLE assets ADD CONSTRAINT assets_kind_check
    CHECK (kind IN ('courtyard', 'building', 'lane', 'drainage', 'light', 'charger', 'facility'));
