-- The states a consent event can end in, for issue #24:
--   superseded  İYS holds a newer movement for the key than this event's consent date (seen
--               through H178, a status query or the puller): kept as evidence, never sent
--   duplicate   the same status as the event immediately before it for the key: settled
--               locally, no İYS request
--   review      a near miss ("iptal etmek istiyorum") waiting for the brand's owner: not
--               pushed until confirmed (then pending) or dismissed
--   dismissed   a review the owner dismissed
ALTER TABLE consent_event DROP CONSTRAINT consent_event_state_check;
ALTER TABLE consent_event ADD CONSTRAINT consent_event_state_check
    CHECK (state IN ('pending', 'accepted', 'not_needed', 'superseded', 'duplicate', 'failed',
                     'review', 'dismissed'));
