-- Tier saves re-level members in the background; adjustment requests honour
-- idempotency keys.

-- One row per tenant that has ever saved tiers: the tenant's tier-set lock and the
-- progress of re-levelling its members after the last save.
--
-- Lock order (docs/ARCHITECTURE.md): this row is taken first by a tier save and by
-- each re-level batch, before any member profile, tier or cache-epoch row. It replaces
-- the `FOR UPDATE` on the tenant row, which conflicted with the key-share lock every
-- audit or outbox insert takes through its foreign key to `tenants`.
--
-- A save commits the new tiers and resets the cursor; points changes compute levels
-- from the current tiers at once, and effective permissions compute the level from
-- total_points, so neither waits for the re-level. The job waits until every
-- transaction older than the save has ended, then stores the new level of every member
-- in short committed batches (pass 1 over every member, by member_id; pass 2 over
-- members changed since a minute before the save, a safety net should that wait time
-- out), so a points write waits at most one batch.
create table level_relevels (
    tenant_id      uuid        primary key references tenants (tenant_id),
    -- running (a pass is under way) or done.
    status         text        not null default 'done',
    -- 1: every member; 2: members changed since `since`.
    pass           integer     not null default 1,
    -- Members up to this id (in member_id order) are done in the current pass.
    cursor_member  uuid,
    -- Pass 2 visits members whose profile changed at or after this instant.
    since          timestamptz,
    members_total  bigint      not null default 0,
    members_done   bigint      not null default 0,
    -- What the save expected to move (its preview) and what the job moved so far.
    expected_moves bigint      not null default 0,
    moved          bigint      not null default 0,
    -- Number of saves: a save during a run restarts it with the newest tiers.
    saves          bigint      not null default 0,
    -- Set once every transaction older than the save has ended (a points statement
    -- that started before the save committed computed its level from the old tiers):
    -- pass 1 starts only then, like CREATE INDEX CONCURRENTLY's wait.
    barrier_at     timestamptz,
    started_at     timestamptz,
    finished_at    timestamptz,
    updated_at     timestamptz not null default now(),
    constraint level_relevels_status check (status in ('running', 'done')),
    constraint level_relevels_pass check (pass in (1, 2)),
    constraint level_relevels_counts check (members_done >= 0 and members_total >= 0 and moved >= 0 and expected_moves >= 0)
);
-- The job finds running re-levels (after a restart, or when a worker gave up).
create index level_relevels_running_idx on level_relevels (tenant_id) where status = 'running';

-- A retried submission above the approval threshold files one request: the key is
-- unique per tenant, and the hash tells a retry from another request under the same key.
alter table adjustment_requests
    add column idempotency_key text,
    add column request_hash    text,
    add constraint adjustment_requests_idempotency_key unique (tenant_id, idempotency_key),
    add constraint adjustment_requests_key_length check (idempotency_key is null or char_length(idempotency_key) between 1 and 128);
