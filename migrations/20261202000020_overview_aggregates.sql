-- The overview's figures, kept fast at tens of millions of ledger rows.
--
-- Points issued and spent per day are pre-aggregated. A trigger on points_ledger could
-- upsert the tenant's row for today, but every points change of a tenant would then
-- wait on that one row until the writer commits (the hot row of the day), and it would
-- add a lock to the lock-order rule. Instead each ledger *statement* appends one row
-- per (tenant, day) it touched to points_daily_pending (an append-only insert: it takes
-- no lock another writer waits for, position 5 of the rule), and a job folds pending
-- rows into points_daily in bounded batches (`overview::fold_pending`). Readers add
-- both tables up in one statement (one snapshot), so the figures are exact whether or
-- not the job ran; the job only keeps the pending table small.
--
-- Days are UTC days of the entry's created_at.

-- Folded totals: one row per tenant and day. Written only by the fold.
create table points_daily (
    tenant_id uuid   not null,
    day       date   not null,
    -- Sum of the day's positive entries (earn, migration, positive adjustments and
    -- reversals of deductions).
    issued    bigint not null default 0,
    -- Points spent (magnitude of the day's spend entries).
    spent     bigint not null default 0,
    -- Every other deduction: expiry, negative adjustments, reversals of credits.
    deducted  bigint not null default 0,
    entries   bigint not null default 0,
    constraint points_daily_pkey primary key (tenant_id, day),
    constraint points_daily_nonnegative check (issued >= 0 and spent >= 0 and deducted >= 0 and entries >= 0)
);

-- Not yet folded: one row per ledger statement and day it touched (usually one).
create table points_daily_pending (
    tenant_id  uuid   not null,
    pending_id bigint generated always as identity,
    day        date   not null,
    issued     bigint not null,
    spent      bigint not null,
    deducted   bigint not null,
    entries    bigint not null,
    constraint points_daily_pending_pkey primary key (tenant_id, pending_id)
);
-- The fold takes the oldest pending rows of every tenant.
create index points_daily_pending_order_idx on points_daily_pending (pending_id);

create function points_daily_record() returns trigger
language plpgsql as $$
begin
    insert into points_daily_pending (tenant_id, day, issued, spent, deducted, entries)
    select tenant_id, (created_at at time zone 'UTC')::date,
           coalesce(sum(points) filter (where points > 0), 0),
           coalesce(-sum(points) filter (where points < 0 and kind = 'spend'), 0),
           coalesce(-sum(points) filter (where points < 0 and kind <> 'spend'), 0),
           count(*)
    from added
    group by 1, 2;
    return null;
end $$;

-- Statement level with a transition table: a set-based insert of a million entries
-- appends a handful of rows, not a million.
create trigger points_daily_record
    after insert on points_ledger
    referencing new table as added
    for each statement execute function points_daily_record();

-- History so far, folded directly.
insert into points_daily (tenant_id, day, issued, spent, deducted, entries)
select tenant_id, (created_at at time zone 'UTC')::date,
       coalesce(sum(points) filter (where points > 0), 0),
       coalesce(-sum(points) filter (where points < 0 and kind = 'spend'), 0),
       coalesce(-sum(points) filter (where points < 0 and kind <> 'spend'), 0),
       count(*)
from points_ledger
group by 1, 2;

-- Members new this week: a range of the tenant's registration dates.
create index member_profiles_registered_idx on member_profiles (tenant_id, registered_at);
-- Level moves of the last 30 days (the distribution's change).
create index level_changes_created_idx on level_changes (tenant_id, created_at);
