-- Licenses: plans (templates), licenses (seats with a key), assignments to members
-- within their quota, activations on devices, the history of every license, and
-- batch assignment from a CSV file.
--
-- Race freedom is in the statements, not in Rust:
--   * a license has at most one holder: `licenses.member_id` is set by a conditional
--     update (`where member_id is null`), and `license_assignments_live_key` backs it;
--   * a member's seats never exceed the quota: `member_license_use.held` is raised by
--     one conditional upsert that compares it with `license_quota(...)` computed in
--     the same statement;
--   * activations never exceed `max_activations`: `licenses.activations` is raised by
--     one conditional update, and a device holds one live activation per license
--     (`license_activations_live_key`).

create table license_plans (
    tenant_id               uuid        not null references tenants (tenant_id),
    plan_id                 uuid        not null default gen_random_uuid(),
    code                    text        not null,
    name_zh                 text        not null,
    name_en                 text        not null,
    default_max_activations integer     not null,
    -- Null: licenses of this plan are perpetual.
    default_validity_days   integer,
    active                  boolean     not null default true,
    row_version             bigint      not null default 1,
    created_at              timestamptz not null default now(),
    updated_at              timestamptz not null default now(),
    constraint license_plans_pkey primary key (tenant_id, plan_id),
    constraint license_plans_code_key unique (tenant_id, code),
    constraint license_plans_code_format check (code ~ '^[a-z0-9][a-z0-9_-]{0,39}$'),
    constraint license_plans_names check (char_length(btrim(name_zh)) between 1 and 100
                                          and char_length(btrim(name_en)) between 1 and 100),
    constraint license_plans_max_activations check (default_max_activations between 1 and 10000),
    constraint license_plans_validity check (default_validity_days is null
                                             or default_validity_days between 1 and 36500)
);

create table licenses (
    tenant_id         uuid        not null references tenants (tenant_id),
    license_id        uuid        not null default gen_random_uuid(),
    plan_id           uuid        not null,
    -- Crockford base32 in groups of five, e.g. 'K7Q2M-9TXRD-4HWVB-N3CEZ'. Byte order
    -- (collation "C") so that a key prefix is an index range.
    license_key       text        collate "C" not null,
    max_activations   integer     not null,
    -- Null: perpetual.
    expires_at        timestamptz,
    -- The current holder (at most one: the live assignment).
    member_id         uuid,
    assigned_at       timestamptz,
    -- Live activations (devices).
    activations       integer     not null default 0,
    suspended_at      timestamptz,
    suspend_reason    text,
    revoked_at        timestamptz,
    revoke_reason     text,
    last_validated_at timestamptz,
    -- The expiry a reminder was sent for, and the expiry whose passing was recorded.
    reminded_for      timestamptz,
    expiry_recorded_for timestamptz,
    row_version       bigint      not null default 1,
    created_at        timestamptz not null default now(),
    updated_at        timestamptz not null default now(),
    constraint licenses_pkey primary key (tenant_id, license_id),
    constraint licenses_key_key unique (tenant_id, license_key),
    constraint licenses_plan_fkey foreign key (tenant_id, plan_id) references license_plans (tenant_id, plan_id),
    constraint licenses_member_fkey foreign key (tenant_id, member_id) references member_profiles (tenant_id, member_id),
    constraint licenses_key_format check (license_key ~ '^[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){3}$'),
    constraint licenses_max_activations check (max_activations between 1 and 10000),
    constraint licenses_activations check (activations >= 0),
    constraint licenses_holder check ((member_id is null) = (assigned_at is null)),
    constraint licenses_suspended check ((suspended_at is null) = (suspend_reason is null)),
    constraint licenses_revoked check ((revoked_at is null) = (revoke_reason is null))
);
-- Filters by plan (and free seats of a plan), by holder, expiring soon.
create index licenses_plan_idx on licenses (tenant_id, plan_id, license_key);
create index licenses_free_idx on licenses (tenant_id, plan_id, expires_at desc, license_key)
    where member_id is null and revoked_at is null and suspended_at is null;
create index licenses_member_idx on licenses (tenant_id, member_id, license_key) where member_id is not null;
create index licenses_expiry_idx on licenses (tenant_id, expires_at) where expires_at is not null;
create index licenses_due_idx on licenses (expires_at) where expires_at is not null and revoked_at is null;
create index licenses_revoked_idx on licenses (tenant_id, license_key) where revoked_at is not null;
create index licenses_suspended_idx on licenses (tenant_id, license_key)
    where suspended_at is not null and revoked_at is null;

-- Every assignment of a license to a member, live (ended_at null) or ended.
create table license_assignments (
    tenant_id     uuid        not null,
    assignment_id uuid        not null default gen_random_uuid(),
    license_id    uuid        not null,
    member_id     uuid        not null,
    assigned_at   timestamptz not null,
    assigned_by   uuid        references admins (admin_id),
    client_id     text,
    -- 'console', 'api', 'batch', 'cli', 'migration'
    method        text        not null,
    batch_id      uuid,
    ended_at      timestamptz,
    ended_by      uuid        references admins (admin_id),
    -- 'unassigned', 'transferred', 'revoked' (the license was revoked)
    end_kind      text,
    end_reason    text,
    constraint license_assignments_pkey primary key (tenant_id, assignment_id),
    constraint license_assignments_license_fkey foreign key (tenant_id, license_id) references licenses (tenant_id, license_id),
    constraint license_assignments_member_fkey foreign key (tenant_id, member_id) references member_profiles (tenant_id, member_id),
    constraint license_assignments_method check (method in ('console', 'api', 'batch', 'cli', 'migration')),
    constraint license_assignments_end check ((ended_at is null) = (end_kind is null)
                                              and (ended_at is null) = (end_reason is null)),
    constraint license_assignments_end_kind check (end_kind in ('unassigned', 'transferred', 'revoked'))
);
create unique index license_assignments_live_key on license_assignments (tenant_id, license_id) where ended_at is null;
create index license_assignments_member_idx on license_assignments (tenant_id, member_id, assigned_at desc);
create index license_assignments_license_idx on license_assignments (tenant_id, license_id, assigned_at desc);

-- Seats a member holds (the live assignments), raised only within the quota.
create table member_license_use (
    tenant_id uuid    not null,
    member_id uuid    not null,
    held      integer not null,
    constraint member_license_use_pkey primary key (tenant_id, member_id),
    constraint member_license_use_member_fkey foreign key (tenant_id, member_id) references member_profiles (tenant_id, member_id),
    constraint member_license_use_held check (held >= 0)
);
create index member_license_use_holders_idx on member_license_use (tenant_id, member_id) where held > 0;

-- A license activated on a device (a fingerprint), live until deactivated.
create table license_activations (
    tenant_id         uuid        not null,
    activation_id     uuid        not null default gen_random_uuid(),
    license_id        uuid        not null,
    -- Who held the license when the device was activated.
    member_id         uuid        not null,
    fingerprint       text        not null,
    device_name       text,
    activated_at      timestamptz not null,
    last_seen_at      timestamptz not null,
    deactivated_at    timestamptz,
    deactivated_by    uuid        references admins (admin_id),
    -- 'deactivated', 'unassigned', 'transferred', 'revoked'
    deactivate_reason text,
    constraint license_activations_pkey primary key (tenant_id, activation_id),
    constraint license_activations_license_fkey foreign key (tenant_id, license_id) references licenses (tenant_id, license_id),
    constraint license_activations_fingerprint check (char_length(fingerprint) between 1 and 200),
    constraint license_activations_device_name check (device_name is null or char_length(device_name) between 1 and 200),
    constraint license_activations_end check ((deactivated_at is null) = (deactivate_reason is null))
);
create unique index license_activations_live_key on license_activations (tenant_id, license_id, fingerprint)
    where deactivated_at is null;
create index license_activations_license_idx on license_activations (tenant_id, license_id, activated_at desc);

-- The history of every license, with its cause.
create table license_events (
    tenant_id  uuid        not null,
    event_id   bigint      generated always as identity,
    license_id uuid        not null,
    member_id  uuid,
    kind       text        not null,
    -- 'console', 'api', 'job', 'batch', 'cli', 'migration'
    cause      text        not null,
    actor_id   uuid        references admins (admin_id),
    note       text,
    created_at timestamptz not null default now(),
    constraint license_events_pkey primary key (tenant_id, event_id),
    constraint license_events_license_fkey foreign key (tenant_id, license_id) references licenses (tenant_id, license_id),
    constraint license_events_kind check (kind in ('issued', 'edited', 'assigned', 'unassigned', 'transferred',
                                                   'suspended', 'reinstated', 'revoked', 'expired', 'reminder',
                                                   'activated', 'deactivated')),
    constraint license_events_cause check (cause in ('console', 'api', 'job', 'batch', 'cli', 'migration'))
);
create index license_events_license_idx on license_events (tenant_id, license_id, event_id);

-- A member's license quota at an instant: the quota rule of effective permissions
-- (model::tags::permissions::Quota::combine) over the level from total_points and the
-- tag grants in force (model::tags::permissions::grant_state):
--   max(level's max_licenses, every tag's floor) + sum of the tags' boosts.
-- domain/tests/licenses.rs checks it against the Rust rule.
create function license_quota(p_tenant uuid, p_member uuid, p_now timestamptz) returns bigint
language sql stable as $$
    select greatest(
               coalesce((select t.max_licenses
                         from member_profiles p
                         join lateral (
                           select x.max_licenses from level_tiers x
                           where x.tenant_id = p.tenant_id and x.active and x.min_points <= p.total_points
                             and (x.max_points is null or p.total_points <= x.max_points)
                           order by x.sort_order limit 1
                         ) t on true
                         where p.tenant_id = p_tenant and p.member_id = p_member), 0),
               coalesce(max(tg.max_licenses), 0))::bigint
           + coalesce(sum(tg.max_licenses_boost), 0)::bigint
    from tag_grants g
    join tags tg on tg.tenant_id = g.tenant_id and tg.tag_id = g.tag_id
    where g.tenant_id = p_tenant and g.member_id = p_member and g.status in ('active', 'grace')
      and g.starts_at <= p_now
      and (g.expires_at is null or g.auto_renew
           or p_now < g.expires_at + make_interval(days => g.grace_days))
$$;

-- The members of a tenant holding more seats than their quota at an instant: the same
-- rule as license_quota, set-based over every holder (one pass over the tenant's grants
-- instead of one call per holder). domain/tests/licenses.rs checks the two agree.
create function license_over_quota(p_tenant uuid, p_now timestamptz)
returns table (member_id uuid, held bigint, quota bigint)
language sql stable as $$
    select h.member_id, h.held::bigint,
           greatest(coalesce(lv.max_licenses, 0), coalesce(tg.floor, 0))::bigint + coalesce(tg.boost, 0)::bigint
    from member_license_use h
    join member_profiles p on p.tenant_id = h.tenant_id and p.member_id = h.member_id
    left join lateral (
      select x.max_licenses from level_tiers x
      where x.tenant_id = p.tenant_id and x.active and x.min_points <= p.total_points
        and (x.max_points is null or p.total_points <= x.max_points)
      order by x.sort_order limit 1
    ) lv on true
    left join (
      select g.member_id, max(t.max_licenses) as floor, sum(t.max_licenses_boost) as boost
      from tag_grants g join tags t on t.tenant_id = g.tenant_id and t.tag_id = g.tag_id
      where g.tenant_id = p_tenant and g.status in ('active', 'grace') and g.starts_at <= p_now
        and (g.expires_at is null or g.auto_renew
             or p_now < g.expires_at + make_interval(days => g.grace_days))
      group by g.member_id
    ) tg on tg.member_id = h.member_id
    where h.tenant_id = p_tenant and h.held > 0
      and h.held > greatest(coalesce(lv.max_licenses, 0), coalesce(tg.floor, 0)) + coalesce(tg.boost, 0)
$$;

-- Batch assignment: an uploaded CSV file (identified by its SHA-256 in the tenant, so
-- the same file is one batch however often it is uploaded) and its rows.
create table license_batches (
    tenant_id       uuid        not null references tenants (tenant_id),
    batch_id        uuid        not null default gen_random_uuid(),
    file_sha256     bytea       not null,
    file_name       text        not null,
    -- For rows without a plan code.
    default_plan_id uuid,
    -- 'uploaded' (previewed), 'applying', 'applied'
    status          text        not null default 'uploaded',
    rows_total      integer     not null default 0,
    -- The line number of the file's last row (0: no rows).
    last_line       integer     not null default 0,
    -- Apply progress: rows up to this line are done.
    applied_through integer     not null default 0,
    assigned        integer     not null default 0,
    refused         integer     not null default 0,
    created_by      uuid        references admins (admin_id),
    created_at      timestamptz not null default now(),
    -- Who started applying (the background worker acts as them; null: the CLI).
    apply_started_by uuid       references admins (admin_id),
    apply_started_at timestamptz,
    applied_at      timestamptz,
    constraint license_batches_pkey primary key (tenant_id, batch_id),
    constraint license_batches_file_key unique (tenant_id, file_sha256),
    constraint license_batches_plan_fkey foreign key (tenant_id, default_plan_id) references license_plans (tenant_id, plan_id),
    constraint license_batches_status check (status in ('uploaded', 'applying', 'applied')),
    constraint license_batches_file_name check (char_length(file_name) between 1 and 200)
);
create index license_batches_applying_idx on license_batches (created_at) where status = 'applying';
create index license_batches_recent_idx on license_batches (tenant_id, created_at desc);

create table license_batch_rows (
    tenant_id   uuid    not null,
    batch_id    uuid    not null,
    line_no     integer not null,
    external_id text,
    plan_code   text,
    -- Set when the line could not be read (what is wrong with it).
    malformed   text,
    -- The preview's prediction, then the applied outcome:
    -- 'assign', 'assigned', 'malformed', 'duplicate', 'unknown_member', 'unknown_plan',
    -- 'plan_inactive', 'over_quota', 'no_free_license' (model::licenses::batch::Outcome)
    predicted   text,
    outcome     text,
    license_id  uuid,
    constraint license_batch_rows_pkey primary key (tenant_id, batch_id, line_no),
    constraint license_batch_rows_batch_fkey foreign key (tenant_id, batch_id) references license_batches (tenant_id, batch_id)
        on delete cascade,
    constraint license_batch_rows_predicted check (predicted in ('assign', 'malformed', 'duplicate', 'unknown_member',
                                                                 'unknown_plan', 'plan_inactive', 'over_quota',
                                                                 'no_free_license')),
    constraint license_batch_rows_outcome check (outcome in ('assigned', 'malformed', 'duplicate', 'unknown_member',
                                                             'unknown_plan', 'plan_inactive', 'over_quota',
                                                             'no_free_license')),
    constraint license_batch_rows_applied check (outcome is null or predicted is not null)
);
