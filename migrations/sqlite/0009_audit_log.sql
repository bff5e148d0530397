-- The audit trail: every change to assets, cases, work orders, surveys,
-- areas and tokens, with who (token id, label, role), when, the request
-- id, and what changed as a JSON merge patch (RFC 7386) with the values
-- it replaced. Append-only: rows are never deleted, and the one update
-- allowed is erasing the personal data an entry holds (kept apart, in
-- `personal`) after the retention period.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT    NOT NULL,
    entity      TEXT    NOT NULL,
    entity_id   TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    actor_token INTEGER,
    actor_label TEXT,
    actor_role  TEXT    NOT NULL,
    request_id  TEXT,
    changes     TEXT    NOT NULL,
    previous    TEXT,
    personal    TEXT
);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id, id);
CREATE INDEX audit_log_actor ON audit_log (actor_token, id);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;

CREATE TRIGGER audit_log_only_erasure BEFORE UPDATE ON audit_log
WHEN NEW.personal IS NOT NULL
  OR NEW.id IS NOT OLD.id OR NEW.at IS NOT OLD.at OR NEW.entity IS NOT OLD.entity
  OR NEW.entity_id IS NOT OLD.entity_id OR NEW.action IS NOT OLD.action
  OR NEW.actor_token IS NOT OLD.actor_token OR NEW.actor_label IS NOT OLD.actor_label
  OR NEW.actor_role IS NOT OLD.actor_role OR NEW.request_id IS NOT OLD.request_id
  OR NEW.changes IS NOT OLD.changes OR NEW.previous IS NOT OLD.previous
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only (only personal data may be erased)');
END;
