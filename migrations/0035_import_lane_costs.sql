-- The import lane's cost per list (issue #31, item 5: pushing at >= 90 % of the request
-- budget). Measured on 1,000,000 stored import rows (docs/DESIGN-NOTES.md, "Bulk upload"):
-- settling a list of 1,000 accepted events took ~400 ms, 284 of them in the per-row
-- consent.settled webhook trigger (a plpgsql call and an INSERT ... SELECT per event, even
-- with no endpoint anywhere).

-- 1. consent.settled once per UPDATE statement, over its transition tables: one INSERT for a
--    settled list instead of 1,000 calls, and nothing but one index probe when no endpoint
--    asks for the kind. The same rows and data as the row trigger of migration 0027.
DROP TRIGGER consent_event_webhook_settled ON consent_event;

CREATE OR REPLACE FUNCTION webhook_consent_settled() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhook_endpoint WHERE 'consent.settled' = ANY (events)) THEN
        RETURN NULL;
    END IF;
    INSERT INTO webhook_event (brand_id, owner_id, kind, data)
    SELECT b.id, b.owner_id, 'consent.settled',
           webhook_consent_data(n) || jsonb_build_object(
               'previous_state', o.state,
               'iys_transaction_id', n.iys_transaction_id,
               'iys_creation_date', n.iys_creation_date,
               'error_code', n.last_error_code, 'brand', b.id)
      FROM new_rows n
      JOIN old_rows o ON o.id = n.id
      JOIN brand b ON b.id = n.brand_id
     WHERE o.state IS DISTINCT FROM n.state
       AND n.state IN ('accepted', 'not_needed', 'superseded', 'duplicate', 'failed')
       AND EXISTS (SELECT 1 FROM webhook_endpoint w
                    WHERE w.owner_id = b.owner_id AND 'consent.settled' = ANY (w.events))
     ORDER BY n.id;
    RETURN NULL;
END $$;

CREATE TRIGGER consent_event_webhook_settled
    AFTER UPDATE ON consent_event REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION webhook_consent_settled();

-- 2. A claimed event as the pusher reads it (iys_push/sql: claim and claim_import, one copy
--    for both; the columns of iys_push.events.ClaimedEvent, in order): the event's columns,
--    our view of its key in İYS (iys_key_state, as the claim read it), whether a later event
--    of the key was accepted already (superseded), and the (received_at epoch, id) of the
--    latest earlier pending or accepted event of the key with the same status (same_before)
--    and with the other one (other_before). A one-SELECT SQL function called in FROM is
--    inlined by the planner: the same index probes as the subqueries it replaces, no
--    function call per row.
CREATE FUNCTION iys_claimed_row(e consent_event, p_view_status text,
                                p_view_date timestamptz, p_view_origin text)
RETURNS TABLE (id bigint, brand_id text, iys_code bigint, brand_code bigint, recipient text,
               recipient_type text, type text, status text, source text,
               received_at timestamptz, consent_date timestamptz, deadline_at timestamptz,
               attempts integer, view_status text, view_date timestamptz, view_origin text,
               superseded boolean, same_before numeric[], other_before numeric[])
LANGUAGE sql STABLE AS $$
    SELECT (e).id, (e).brand_id, (e).iys_code, (e).brand_code, (e).recipient,
           (e).recipient_type, (e).type, (e).status, (e).source, (e).received_at,
           (e).consent_date, (e).deadline_at, (e).attempts,
           p_view_status, p_view_date, p_view_origin,
           EXISTS (SELECT 1 FROM consent_event l
                    WHERE (l.brand_code, l.recipient, l.recipient_type, l.type)
                        = ((e).brand_code, (e).recipient, (e).recipient_type, (e).type)
                      AND l.state = 'accepted'
                      AND (l.received_at, l.id) > ((e).received_at, (e).id)),
           (SELECT max(ARRAY[EXTRACT(EPOCH FROM p.received_at), p.id]) FROM consent_event p
             WHERE (p.brand_code, p.recipient, p.recipient_type, p.type)
                 = ((e).brand_code, (e).recipient, (e).recipient_type, (e).type)
               AND p.state IN ('pending', 'accepted') AND p.status = (e).status
               AND (p.received_at, p.id) < ((e).received_at, (e).id)),
           (SELECT max(ARRAY[EXTRACT(EPOCH FROM p.received_at), p.id]) FROM consent_event p
             WHERE (p.brand_code, p.recipient, p.recipient_type, p.type)
                 = ((e).brand_code, (e).recipient, (e).recipient_type, (e).type)
               AND p.state IN ('pending', 'accepted') AND p.status <> (e).status
               AND (p.received_at, p.id) < ((e).received_at, (e).id))
$$;
