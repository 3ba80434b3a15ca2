-- import.finished (issue #32 with #31): when a bulk import ends — finished, cancelled or
-- failed — its brand's owner's endpoints that want the kind get one event with the counts.
-- The moment is consent_import.finished_at going from NULL to a time, whichever statement
-- sets it (the pusher's import lane, a cancel, the storing job's failure).
CREATE FUNCTION webhook_import_finished() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM webhook_enqueue(NEW.brand_id, 'import.finished', jsonb_build_object(
        'import_id', NEW.id, 'state', NEW.state, 'filename', NEW.filename,
        'rows_read', NEW.rows_read, 'rows_valid', NEW.rows_valid,
        'rows_refused', NEW.rows_refused, 'rows_duplicate', NEW.rows_duplicate,
        'rows_unchanged', NEW.rows_unchanged, 'refused_by', NEW.refused_by,
        'error', NEW.error, 'created_at', NEW.created_at,
        'finished_at', NEW.finished_at));
    RETURN NULL;
END
$$;

CREATE TRIGGER consent_import_finished_webhook
    AFTER UPDATE OF finished_at ON consent_import
    FOR EACH ROW WHEN (OLD.finished_at IS NULL AND NEW.finished_at IS NOT NULL)
    EXECUTE FUNCTION webhook_import_finished();
