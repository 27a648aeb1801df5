-- Settled outbox events (delivered, failed, skipped) are kept for a retention period and
-- then removed with their delivery attempts; this index finds the oldest ones.
create index outbox_events_settled_idx on outbox_events (created_at) where status <> 'pending';
