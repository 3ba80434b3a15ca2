-- The pre-send check's SQL (inbound/presend.py, inbound/presend_live.py): "may we message
-- these numbers?" answered from the İYS mirror (iys_key_state) and the events still here.
-- Loaded once by inbound.sqlfile; values always travel as parameters.

-- name: check_brand
-- The brand, its İYS codes and the mirror's freshness row (NULLs: never pulled), with the
-- database's clock (the freshness is judged against the clock that wrote pulled_at).
SELECT b.id, b.iys_code, b.brand_code, s.pulled_at, s.pushed_at,
       coalesce(s.push_registered, false) AS push_registered, now() AS now
  FROM brand b LEFT JOIN iys_mirror_status s ON s.brand_code = b.brand_code
 WHERE b.id = $1

-- name: check_waiting_here
-- The brand's events not yet in İYS: pending RETs of the key's type pair ($2 recipient type,
-- $3 type), and every message waiting for review whatever its key (a review row is a RET
-- somebody may have meant). Through the partial indexes on state (consent_event_due_idx,
-- consent_event_review_idx): the rows are the push backlog, not the ledger.
SELECT recipient, state, consent_date
  FROM consent_event
 WHERE brand_code = $1 AND state IN ('pending', 'review')
   AND (state = 'review' OR (status = 'RET' AND recipient_type = $2 AND type = $3))

-- name: check_mirror_chunk
-- The mirror's rows for one chunk of distinct recipients ($4), by the primary key
-- (brand_code, recipient, recipient_type, type): one index probe per recipient.
SELECT recipient, status, consent_date
  FROM iys_key_state
 WHERE brand_code = $1 AND recipient = ANY($4::text[]) AND recipient_type = $2 AND type = $3

-- name: check_live_onay
-- What İYS's batch status listed as ONAY for keys the mirror did not know (origin 'status',
-- no date: the endpoint gives none). Only where there is still no row: a movement that
-- arrived meanwhile (a pulled RET) is newer knowledge and stays.
INSERT INTO iys_key_state (brand_code, recipient, recipient_type, type, status, consent_date,
                           source, origin, updated_at)
SELECT $1, r, $2, $3, 'ONAY', NULL, NULL, 'status', now()
  FROM unnest($4::text[]) AS r
ON CONFLICT (brand_code, recipient, recipient_type, type) DO NOTHING
