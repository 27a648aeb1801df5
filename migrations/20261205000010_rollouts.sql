-- The gray rollout (issue #13): a tenant's staged move of its legacy members to the new
-- model by cohort, each decision (permission check, license quota, level/points
-- summary) routed off / shadow / live for the cohort, with decision records from the
-- shadow comparison, accepted differences, and the audit trail of every move.

-- A rollout. One active (running or paused) rollout per tenant. `stage_no` 0 means no
-- stage entered yet. Members are bucketed Unleash-style by `group_id` (model::rollout).
create table rollouts (
    tenant_id          uuid        not null references tenants (tenant_id),
    rollout_id         uuid        not null default gen_random_uuid(),
    name               text        not null,
    group_id           text        not null,
    status             text        not null default 'running',
    stage_no           integer     not null default 0,
    -- Per decision: 'off' (legacy answers), 'shadow' (legacy answers, new compared),
    -- 'live' (new answers, legacy compared).
    permission_mode    text        not null default 'shadow',
    quota_mode         text        not null default 'shadow',
    summary_mode       text        not null default 'shadow',
    -- Share of decisions compared, in basis points (10000 = every decision).
    sample_bp          integer     not null default 10000,
    -- Seed 000's stratified cohorts: null for plain Unleash buckets, else
    -- {active_days, long_standing_days, mix: [active, long_standing, new]}.
    strata             jsonb,
    min_members        integer     not null default 10,
    -- The gate to widen and the guardrails.
    gate_score         numeric(5, 2) not null default 95,
    min_sample         integer     not null default 100,
    guard_error_pct    numeric(5, 2) not null default 1,
    guard_p99_ms       integer     not null default 500,
    -- Decision records kept (the oldest are pruned beyond it).
    record_cap         integer     not null default 200000,
    pause_reason       text,
    created_by         uuid        references admins (admin_id),
    created_at         timestamptz not null default now(),
    updated_at         timestamptz not null default now(),
    finished_at        timestamptz,
    constraint rollouts_pkey primary key (tenant_id, rollout_id),
    constraint rollouts_name check (char_length(btrim(name)) between 1 and 200),
    constraint rollouts_group_id check (char_length(group_id) between 1 and 200),
    constraint rollouts_status check (status in ('running', 'paused', 'completed', 'aborted')),
    constraint rollouts_stage_no check (stage_no >= 0),
    constraint rollouts_modes check (permission_mode in ('off', 'shadow', 'live')
                                     and quota_mode in ('off', 'shadow', 'live')
                                     and summary_mode in ('off', 'shadow', 'live')),
    constraint rollouts_sample_bp check (sample_bp between 0 and 10000),
    constraint rollouts_strata check (strata is null or jsonb_typeof(strata) = 'object'),
    constraint rollouts_min_members check (min_members between 0 and 1000000),
    constraint rollouts_gate check (gate_score between 0 and 100 and min_sample between 1 and 1000000),
    constraint rollouts_guards check (guard_error_pct between 0 and 100 and guard_p99_ms between 1 and 600000),
    constraint rollouts_record_cap check (record_cap between 1000 and 10000000)
);
create unique index rollouts_active_key on rollouts (tenant_id) where status in ('running', 'paused');
create index rollouts_recent_idx on rollouts (tenant_id, created_at desc);
create index rollouts_running_idx on rollouts (updated_at) where status = 'running';

-- The stages: a share of members each, a hold time, and who may approve entering it.
-- `thresholds` (per-stratum bucket limits), `run_id` and the realised mix are set when
-- the stage is entered.
create table rollout_stages (
    tenant_id    uuid        not null,
    rollout_id   uuid        not null,
    stage_no     integer     not null,
    percent      integer     not null,
    hold_minutes integer     not null default 0,
    -- Null: any tenant admin may approve entering the stage.
    approver     uuid        references admins (admin_id),
    thresholds   integer[],
    mix          bigint[],
    run_id       uuid,
    entered_at   timestamptz,
    entered_by   uuid        references admins (admin_id),
    constraint rollout_stages_pkey primary key (tenant_id, rollout_id, stage_no),
    constraint rollout_stages_rollout_fkey foreign key (tenant_id, rollout_id) references rollouts (tenant_id, rollout_id),
    constraint rollout_stages_stage_no check (stage_no between 1 and 20),
    constraint rollout_stages_percent check (percent between 1 and 100),
    constraint rollout_stages_hold check (hold_minutes between 0 and 43200),
    constraint rollout_stages_thresholds check (thresholds is null or cardinality(thresholds) = 3),
    constraint rollout_stages_mix check (mix is null or cardinality(mix) = 3)
);

-- The cohort: who joined at which stage (stepping back a stage rolls back exactly the
-- members who joined at it). Widening only adds rows.
create table rollout_members (
    tenant_id   uuid        not null,
    rollout_id  uuid        not null,
    external_id text        not null,
    bucket      smallint    not null,
    stratum     text        not null,
    stage_no    integer     not null,
    joined_at   timestamptz not null default now(),
    constraint rollout_members_pkey primary key (tenant_id, rollout_id, external_id),
    constraint rollout_members_rollout_fkey foreign key (tenant_id, rollout_id) references rollouts (tenant_id, rollout_id),
    constraint rollout_members_bucket check (bucket between 1 and 100),
    constraint rollout_members_stratum check (stratum in ('active', 'long_standing', 'new'))
);
create index rollout_members_stage_idx on rollout_members (tenant_id, rollout_id, stage_no);

-- Every move, with who, when, why and the score it was taken on.
create table rollout_events (
    tenant_id  uuid        not null,
    rollout_id uuid        not null,
    event_id   bigint      generated always as identity,
    action     text        not null,
    from_stage integer,
    to_stage   integer,
    actor      uuid        references admins (admin_id),
    reason     text,
    score      jsonb,
    at         timestamptz not null default now(),
    constraint rollout_events_pkey primary key (tenant_id, rollout_id, event_id),
    constraint rollout_events_rollout_fkey foreign key (tenant_id, rollout_id) references rollouts (tenant_id, rollout_id),
    constraint rollout_events_action check (action in ('create', 'advance', 'step_back', 'pause', 'resume', 'auto_pause',
                                                       'abort', 'kill', 'modes', 'settings', 'complete'))
);

-- Decision records: one compared decision each (sampled), both answers and timings.
create table rollout_decisions (
    tenant_id   uuid        not null,
    rollout_id  uuid        not null,
    record_id   bigint      generated always as identity,
    decided_at  timestamptz not null,
    decision    text        not null,
    external_id text        not null,
    bucket      smallint    not null,
    stage_no    integer     not null,
    routed      text        not null,
    question    text,
    legacy      jsonb,
    new         jsonb,
    legacy_us   integer     not null,
    new_us      integer,
    agree       boolean     not null,
    -- The mismatch's kind and detail (a permission key), when they disagree.
    kind        text,
    detail      text,
    error       text,
    -- The model versions: the mapping/formula version the member was migrated with, and
    -- the tenant's catalogue epoch (bumped by every tier, tag or routing change).
    settings_version integer,
    catalogue_epoch  bigint,
    constraint rollout_decisions_pkey primary key (tenant_id, rollout_id, record_id),
    constraint rollout_decisions_decision check (decision in ('permission', 'quota', 'summary')),
    constraint rollout_decisions_routed check (routed in ('legacy', 'new')),
    constraint rollout_decisions_kind check (kind is null or kind in ('permission_missing', 'permission_extra',
                                                                      'quota_lower', 'quota_higher', 'level_differs', 'error'))
);
create index rollout_decisions_time_idx on rollout_decisions (tenant_id, rollout_id, decided_at);

-- Every routed decision counted per minute (not sampled), per model: the traffic chart.
create table rollout_traffic (
    tenant_id  uuid        not null,
    rollout_id uuid        not null,
    minute     timestamptz not null,
    decision   text        not null,
    legacy     bigint      not null default 0,
    new        bigint      not null default 0,
    errors     bigint      not null default 0,
    dropped    bigint      not null default 0,
    constraint rollout_traffic_pkey primary key (tenant_id, rollout_id, minute, decision)
);

-- Members per model over time (the job writes one row a minute per running rollout).
create table rollout_snapshots (
    tenant_id  uuid        not null,
    rollout_id uuid        not null,
    at         timestamptz not null,
    legacy_members bigint  not null,
    cohort     bigint      not null,
    migrated   bigint      not null,
    modes      text[]      not null,
    constraint rollout_snapshots_pkey primary key (tenant_id, rollout_id, at)
);

-- Known, accepted differences: reported apart from the score until they expire.
create table rollout_accepted (
    tenant_id   uuid        not null,
    rollout_id  uuid        not null,
    accepted_id uuid        not null default gen_random_uuid(),
    decision    text        not null,
    kind        text        not null,
    -- A permission key, or null for every mismatch of the kind.
    detail      text,
    owner       text        not null,
    reason      text        not null,
    expires_at  timestamptz not null,
    created_by  uuid        references admins (admin_id),
    created_at  timestamptz not null default now(),
    constraint rollout_accepted_pkey primary key (tenant_id, rollout_id, accepted_id),
    constraint rollout_accepted_rollout_fkey foreign key (tenant_id, rollout_id) references rollouts (tenant_id, rollout_id),
    constraint rollout_accepted_kind check (kind in ('permission_missing', 'permission_extra', 'quota_higher', 'level_differs')),
    constraint rollout_accepted_owner check (char_length(btrim(owner)) between 1 and 200),
    constraint rollout_accepted_reason check (char_length(btrim(reason)) between 1 and 1000)
);
