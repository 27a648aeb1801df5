-- The legacy migration's machinery (issue #12): which model answers a tenant's members,
-- checkpoints, reports, runs with their batches and errors, and the per-member record
-- of what a run did (so it can be caught up, validated, reconciled and rolled back).

-- The tenant-wide switch: 'legacy' answers every member who has a legacy row from the
-- legacy model (the default, and the kill switch); 'new' answers migrated members from
-- the new model. Members without a legacy row are always answered by the new model.
create table migration_routing (
    tenant_id  uuid        not null references tenants (tenant_id),
    mode       text        not null default 'legacy',
    changed_by uuid        references admins (admin_id),
    changed_at timestamptz not null default now(),
    constraint migration_routing_pkey primary key (tenant_id),
    constraint migration_routing_mode check (mode in ('legacy', 'new'))
);
-- A flip invalidates every cached answer of the tenant in every process (the cache
-- epochs; writers settle after committing), like a tag or tier edit.
create trigger migration_routing_cache_insert after insert on migration_routing
    referencing new table as changed for each statement execute function cache_invalidate_tenants();
create trigger migration_routing_cache_update after update on migration_routing
    referencing new table as changed for each statement execute function cache_invalidate_tenants();

-- The historical points of a legacy member (model::migration::historical_points, the
-- same rules and edge cases; domain/tests/migration.rs compares the two): registration,
-- license activity, activity, payment, in that order, as of `p_as_of`.
create function migration_parts(p_formula jsonb, p_registered_at timestamptz,
                                p_last_login_at timestamptz, p_license_count bigint,
                                p_payment_cents bigint, p_as_of timestamptz)
returns bigint[]
language sql immutable parallel safe as $$
    select array[
        least(greatest(least(greatest(((p_as_of at time zone 'UTC')::date
                                        - (p_registered_at at time zone 'UTC')::date), 0)::numeric
                              * (p_formula->>'registration_per_day')::numeric, 1000000000), 0),
              (p_formula->>'registration_cap')::numeric)::bigint,
        least(greatest(p_license_count, 0)::numeric * (p_formula->>'per_license')::numeric,
              1000000000)::bigint,
        case
          when p_last_login_at is null then 0
          when greatest(trunc(extract(epoch from (p_as_of - p_last_login_at)) / 86400), 0)
               <= (p_formula->>'recent_days')::numeric then (p_formula->>'recent_points')::bigint
          when greatest(trunc(extract(epoch from (p_as_of - p_last_login_at)) / 86400), 0)
               <= (p_formula->>'month_days')::numeric then (p_formula->>'month_points')::bigint
          else (p_formula->>'older_points')::bigint
        end,
        least(div(greatest(p_payment_cents, 0)::numeric * (p_formula->>'per_currency_unit')::numeric, 100),
              1000000000)::bigint
    ]
$$;

-- What the formula reads of a legacy member, as one digest (session-independent: epochs,
-- not formatted dates). A migrated member's record keeps the digest it was migrated
-- from; catch-up finds the rows whose digest moved.
create function legacy_member_digest(p_user_type integer, p_registered_at timestamptz,
                                     p_last_login_at timestamptz, p_license_count integer,
                                     p_payment_cents bigint)
returns text
language sql immutable parallel safe as $$
    select md5(concat_ws('|', p_user_type, extract(epoch from p_registered_at),
                         coalesce(extract(epoch from p_last_login_at)::text, '-'),
                         p_license_count, p_payment_cents))
$$;

-- A checkpoint: row counts and order-independent checksums of the legacy tables and the
-- tenant's target tables at one snapshot. `tables` is [{table, rows, checksum}].
create table migration_checkpoints (
    tenant_id     uuid        not null references tenants (tenant_id),
    checkpoint_id uuid        not null default gen_random_uuid(),
    label         text        not null,
    tables        jsonb       not null,
    taken_by      uuid        references admins (admin_id),
    taken_at      timestamptz not null default now(),
    constraint migration_checkpoints_pkey primary key (tenant_id, checkpoint_id),
    constraint migration_checkpoints_label check (char_length(btrim(label)) between 1 and 200),
    constraint migration_checkpoints_tables check (jsonb_typeof(tables) = 'array')
);
create index migration_checkpoints_recent_idx on migration_checkpoints (tenant_id, taken_at desc);

-- Reports the steps produce (pre-flight statistics, dry run, validate, reconcile,
-- blast radius), kept as they were shown.
create table migration_reports (
    tenant_id  uuid        not null references tenants (tenant_id),
    report_id  uuid        not null default gen_random_uuid(),
    kind       text        not null,
    report     jsonb       not null,
    created_by uuid        references admins (admin_id),
    created_at timestamptz not null default now(),
    constraint migration_reports_pkey primary key (tenant_id, report_id),
    constraint migration_reports_kind check (kind in ('preflight', 'dry_run', 'validate', 'reconcile', 'blast_radius')),
    constraint migration_reports_report check (jsonb_typeof(report) = 'object')
);
create index migration_reports_recent_idx on migration_reports (tenant_id, kind, created_at desc);

-- A run: migrating a selection, or rolling one back. One active (running or paused)
-- run per tenant. Batches advance `cursor` (an external id) in the same transaction as
-- their work, so a run resumes after the last committed batch.
create table migration_runs (
    tenant_id        uuid        not null references tenants (tenant_id),
    run_id           uuid        not null default gen_random_uuid(),
    kind             text        not null,
    -- Rollbacks: 'emergency' (everyone, after switching the tenant to legacy) or 'gradual'.
    rollback_mode    text,
    status           text        not null default 'running',
    -- 'all', or the members listed in migration_run_members ('members', 'share').
    selection        text        not null,
    share            integer,
    settings_version integer     not null,
    -- The instant the formula is computed at (the same for every batch of the run).
    as_of            timestamptz not null,
    total            bigint      not null default 0,
    done             bigint      not null default 0,
    skipped          bigint      not null default 0,
    errors           bigint      not null default 0,
    batches          integer     not null default 0,
    batch_size       integer     not null default 500,
    last_batch_ms    integer,
    cursor           text,
    started_by       uuid        references admins (admin_id),
    started_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now(),
    finished_at      timestamptz,
    constraint migration_runs_pkey primary key (tenant_id, run_id),
    constraint migration_runs_kind check (kind in ('migrate', 'rollback')),
    constraint migration_runs_rollback_mode check ((kind = 'rollback') = (rollback_mode is not null)
                                                   and (rollback_mode is null or rollback_mode in ('emergency', 'gradual'))),
    constraint migration_runs_status check (status in ('running', 'paused', 'cancelled', 'completed', 'failed')),
    constraint migration_runs_selection check (selection in ('all', 'members', 'share')),
    constraint migration_runs_share check ((selection = 'share') = (share is not null) and (share is null or share between 1 and 100)),
    constraint migration_runs_counts check (total >= 0 and done >= 0 and skipped >= 0 and errors >= 0),
    constraint migration_runs_batch_size check (batch_size between 1 and 100000)
);
create unique index migration_runs_active_key on migration_runs (tenant_id) where status in ('running', 'paused');
create index migration_runs_recent_idx on migration_runs (tenant_id, started_at desc);
create index migration_runs_running_idx on migration_runs (updated_at) where status = 'running';

-- The members a run selected (for 'members' and 'share').
create table migration_run_members (
    tenant_id   uuid not null,
    run_id      uuid not null,
    external_id text not null,
    constraint migration_run_members_pkey primary key (tenant_id, run_id, external_id),
    constraint migration_run_members_run_fkey foreign key (tenant_id, run_id) references migration_runs (tenant_id, run_id)
);

-- The batch log.
create table migration_batches (
    tenant_id    uuid        not null,
    run_id       uuid        not null,
    batch_no     integer     not null,
    first_id     text        not null,
    last_id      text        not null,
    members      integer     not null,
    skipped      integer     not null,
    errors       integer     not null,
    ms           integer     not null,
    committed_at timestamptz not null default now(),
    constraint migration_batches_pkey primary key (tenant_id, run_id, batch_no),
    constraint migration_batches_run_fkey foreign key (tenant_id, run_id) references migration_runs (tenant_id, run_id)
);

-- Members a run could not take, and why (a stable code).
create table migration_errors (
    tenant_id   uuid        not null,
    run_id      uuid        not null,
    external_id text        not null,
    problem     text        not null,
    at          timestamptz not null default now(),
    constraint migration_errors_pkey primary key (tenant_id, run_id, external_id),
    constraint migration_errors_run_fkey foreign key (tenant_id, run_id) references migration_runs (tenant_id, run_id),
    constraint migration_errors_problem check (problem in ('unknown_type'))
);

-- What a run did to one member: the source digest, the mapping/formula version, the
-- points of each part now in the ledger, the tag grant. At most one live record per
-- member (a member is migrated once until rolled back).
create table migration_members (
    tenant_id        uuid        not null,
    run_id           uuid        not null,
    external_id      text        not null,
    member_id        uuid        not null,
    batch_no         integer     not null,
    settings_version integer     not null,
    as_of            timestamptz not null,
    source_digest    text        not null,
    user_type        integer     not null,
    -- Points of each part (registration, license activity, activity, payment) the
    -- ledger holds for this migration, catch-up included.
    parts            bigint[]    not null,
    tag_id           uuid,
    grant_id         uuid,
    migrated_at      timestamptz not null default now(),
    caught_up_at     timestamptz,
    rolled_back_at   timestamptz,
    rollback_run_id  uuid,
    -- Points taken back by the rollback, and the part it could not take back (spent).
    reversed         bigint,
    shortfall        bigint,
    constraint migration_members_pkey primary key (tenant_id, run_id, external_id),
    constraint migration_members_run_fkey foreign key (tenant_id, run_id) references migration_runs (tenant_id, run_id),
    constraint migration_members_profile_fkey foreign key (tenant_id, member_id) references member_profiles (tenant_id, member_id),
    constraint migration_members_parts check (cardinality(parts) = 4),
    constraint migration_members_rollback check ((rolled_back_at is null) = (rollback_run_id is null))
);
create unique index migration_members_live_key on migration_members (tenant_id, external_id) where rolled_back_at is null;
create index migration_members_member_idx on migration_members (tenant_id, member_id);
create index migration_members_rollback_idx on migration_members (tenant_id, rollback_run_id, external_id) where rollback_run_id is not null;

-- Fixes the validation applied, with before and after.
create table migration_fixes (
    tenant_id   uuid        not null references tenants (tenant_id),
    fix_id      bigint      generated always as identity,
    external_id text        not null,
    kind        text        not null,
    before      jsonb       not null,
    after       jsonb       not null,
    fixed_by    uuid        references admins (admin_id),
    fixed_at    timestamptz not null default now(),
    constraint migration_fixes_pkey primary key (tenant_id, fix_id),
    constraint migration_fixes_kind check (kind in ('level', 'balance', 'tag_missing', 'tag_extra'))
);

-- A rollback ends migration grants with its own cause.
alter table grant_events drop constraint grant_events_cause;
alter table grant_events add constraint grant_events_cause check (cause in ('console', 'api', 'job', 'migration', 'rollback'));

-- A share of members: an external id's bucket 1–100 (stable: the same member is in the
-- same bucket in every run, so a 10 % share and then a 20 % share overlap).
create function migration_share_bucket(p_external_id text) returns integer
language sql immutable parallel safe as $$
    select (abs(hashtextextended(p_external_id, 0)) % 100)::integer + 1
$$;
