-- The claim reads only the head of each webhook+chat queue. A pending
-- delivery is "blocked" while an older pending delivery of its target and
-- chat exists (EnqueueTx sets it; finishing a head clears it for the next
-- one), so the claim is a range scan of the unblocked, due rows instead of
-- a probe of every due row's queue. Blocked rows used to wait with
-- next_attempt_at = 2^62; they now keep their own time.

ALTER TABLE webhook_deliveries ADD COLUMN blocked INTEGER NOT NULL DEFAULT 0;

UPDATE webhook_deliveries SET next_attempt_at = created_at
WHERE status = 'pending' AND next_attempt_at = 4611686018427387904;

UPDATE webhook_deliveries SET blocked = 1
WHERE status = 'pending' AND EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.status = 'pending'
    AND e.target_key = webhook_deliveries.target_key AND e.chat_key = webhook_deliveries.chat_key
    AND e.seq < webhook_deliveries.seq);

DROP INDEX webhook_deliveries_due;
CREATE INDEX webhook_deliveries_heads ON webhook_deliveries (next_attempt_at, seq) WHERE status = 'pending' AND blocked = 0;
