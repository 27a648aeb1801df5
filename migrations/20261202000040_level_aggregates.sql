-- The overview's level distribution and its change, kept fast at any member count.
--
-- Members per level used to count the tenant's profiles (a scan of every member) and
-- the 30-day change counted the level_changes rows of the window (every move). Both now
-- come from a per-day aggregate kept like points_daily (migration …_overview_aggregates):
-- statement-level triggers (transition tables) append one row per (tenant, day, level)
-- a statement touched to level_daily_pending, an append-only insert that takes no lock
-- another writer waits for (position 5 of the lock order); the fold job
-- (`overview::fold_pending`) moves them into level_daily in bounded batches; readers add
-- both tables in one statement, so the figures are exact whether or not the job ran.
--
-- Two sources, each the truth for its columns (`tierdesk check overview` compares them):
-- - `members`: member_profiles itself (insert, update, delete), so the count per level
--   is the profiles' stored level whichever statement changed it;
-- - `arrived` / `departed`: level_changes (the level history), so the change shown is
--   the moves the history lists.
--
-- Days are UTC days: of the statement's transaction start (now()) for members, of the
-- move's created_at for moves (which defaults to now() too).

-- Folded totals: one row per tenant, day and level (null: members without a level).
-- Written only by the fold (and the backfill below).
create table level_daily (
    tenant_id uuid   not null,
    day       date   not null,
    tier_id   uuid,
    -- Net change that day of the members whose stored level is this one (profiles
    -- created, moved in or out, deleted). Summed over all days: the members at the level
    -- now. History before this migration is one row per level on the day it ran.
    members   bigint not null default 0,
    -- Level history: moves into and out of this level that day.
    arrived   bigint not null default 0,
    departed  bigint not null default 0,
    constraint level_daily_key unique nulls not distinct (tenant_id, day, tier_id),
    constraint level_daily_moves_nonnegative check (arrived >= 0 and departed >= 0)
);

-- Not yet folded: one row per statement and (day, level) it touched.
create table level_daily_pending (
    tenant_id  uuid   not null,
    pending_id bigint generated always as identity,
    day        date   not null,
    tier_id    uuid,
    members    bigint not null,
    arrived    bigint not null,
    departed   bigint not null,
    constraint level_daily_pending_pkey primary key (tenant_id, pending_id),
    constraint level_daily_pending_moves_nonnegative check (arrived >= 0 and departed >= 0)
);
-- The fold takes the oldest pending rows of every tenant.
create index level_daily_pending_order_idx on level_daily_pending (pending_id);

create function level_daily_profiles_inserted() returns trigger
language plpgsql as $$
begin
    insert into level_daily_pending (tenant_id, day, tier_id, members, arrived, departed)
    select tenant_id, (now() at time zone 'UTC')::date, level_tier_id, count(*), 0, 0
    from added
    group by tenant_id, level_tier_id;
    return null;
end $$;

-- Every profile update (a points change updates its profile) runs this once per
-- statement; rows whose level did not change cancel out, so it appends nothing then.
create function level_daily_profiles_updated() returns trigger
language plpgsql as $$
begin
    insert into level_daily_pending (tenant_id, day, tier_id, members, arrived, departed)
    select tenant_id, (now() at time zone 'UTC')::date, tier_id, sum(delta), 0, 0
    from (select tenant_id, level_tier_id as tier_id, 1 as delta from added
          union all
          select tenant_id, level_tier_id, -1 from removed) d
    group by tenant_id, tier_id
    having sum(delta) <> 0;
    return null;
end $$;

create function level_daily_profiles_deleted() returns trigger
language plpgsql as $$
begin
    insert into level_daily_pending (tenant_id, day, tier_id, members, arrived, departed)
    select tenant_id, (now() at time zone 'UTC')::date, level_tier_id, -count(*), 0, 0
    from removed
    group by tenant_id, level_tier_id;
    return null;
end $$;

create function level_daily_moves_recorded() returns trigger
language plpgsql as $$
begin
    insert into level_daily_pending (tenant_id, day, tier_id, members, arrived, departed)
    select tenant_id, day, tier_id, 0, sum(arrived), sum(departed)
    from (select tenant_id, (created_at at time zone 'UTC')::date as day, to_tier_id as tier_id,
                 1 as arrived, 0 as departed
          from added
          union all
          select tenant_id, (created_at at time zone 'UTC')::date, from_tier_id, 0, 1
          from added) m
    group by tenant_id, day, tier_id;
    return null;
end $$;

-- Creating the triggers takes a lock that waits for every writer of these tables and
-- holds off new ones until this migration commits, so the backfill below sees every
-- row written before the triggers and the triggers every row after.
create trigger level_daily_profiles_inserted
    after insert on member_profiles
    referencing new table as added
    for each statement execute function level_daily_profiles_inserted();
create trigger level_daily_profiles_updated
    after update on member_profiles
    referencing old table as removed new table as added
    for each statement execute function level_daily_profiles_updated();
create trigger level_daily_profiles_deleted
    after delete on member_profiles
    referencing old table as removed
    for each statement execute function level_daily_profiles_deleted();
create trigger level_daily_moves_recorded
    after insert on level_changes
    referencing new table as added
    for each statement execute function level_daily_moves_recorded();

-- History so far, folded directly: the level history per day as it is, and each
-- level's members today.
insert into level_daily (tenant_id, day, tier_id, members, arrived, departed)
select tenant_id, day, tier_id, sum(members), sum(arrived), sum(departed)
from (select tenant_id, (now() at time zone 'UTC')::date as day, level_tier_id as tier_id,
             count(*) as members, 0 as arrived, 0 as departed
      from member_profiles
      group by tenant_id, level_tier_id
      union all
      select tenant_id, (created_at at time zone 'UTC')::date, to_tier_id, 0, 1, 0
      from level_changes
      union all
      select tenant_id, (created_at at time zone 'UTC')::date, from_tier_id, 0, 0, 1
      from level_changes) b
group by tenant_id, day, tier_id;

-- The old reads' indexes stay: level_changes_created_idx serves the level history by
-- date, member_profiles_level_idx the members list's level filter.
