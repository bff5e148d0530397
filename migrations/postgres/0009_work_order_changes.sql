-- Instances follow each other's work-order writes as they follow asset
-- writes: every insert or update of a work order is logged here by a
-- trigger and announced on channel hutong_work_orders; a follower reads
-- the rows after the last one it saw and reads those orders again.
-- Work-order writes take advisory lock 0x776f726b6f72 ("workor") before
-- anything else and hold it to their commit, so seq follows commit order;
-- the trigger takes it too (it is re-entrant), so a writer that forgot
-- still cannot log out of order.
CREATE TABLE work_order_changes (
    seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    work_order_id bigint NOT NULL,
    at            timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX work_order_changes_at ON work_order_changes (at);

CREATE FUNCTION work_order_changed() RETURNS trigger AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(131320544718706);
    INSERT INTO work_order_changes (work_order_id) VALUES (NEW.id);
    PERFORM pg_notify('hutong_work_orders', '');
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER work_orders_changed AFTER INSERT OR UPDATE ON work_orders
    FOR EACH ROW EXECUTE FUNCTION work_order_changed();
