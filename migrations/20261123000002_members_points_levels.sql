-- Members, level tiers and the points ledger.
--
-- The invariants the ledger must always keep (checked again by `tierdesk check ledger`):
--   * available_points >= 0 and total_points >= 0 on every profile;
--   * every entry's *_after = *_before + its delta, and a member's entries form a
--     gap-free chain 1..ledger_seq whose balances link up;
--   * the profile's balances equal the last entry's balances (and the ledger's sums);
--   * the profile's level is the active tier whose range holds total_points.

-- Per-tenant settings that are not worth a table each.
create table tenant_settings (
    tenant_id uuid primary key references tenants (tenant_id),
    -- A manual adjustment whose absolute size is above this needs a second tenant
    -- admin's approval ("four eyes"). Null turns the rule off.
    adjustment_approval_threshold bigint,
    updated_at timestamptz not null default now(),
    constraint tenant_settings_threshold_positive check (adjustment_approval_threshold > 0)
);

-- Level tiers. A member's level is a pure function of total_points and the tenant's
-- active tiers; the domain keeps active ranges contiguous from 0 without overlap.
create table level_tiers (
    tenant_id    uuid    not null references tenants (tenant_id),
    tier_id      uuid    not null default gen_random_uuid(),
    code         text    not null,
    name_zh      text    not null,
    name_en      text    not null,
    sort_order   integer not null,
    min_points   bigint  not null,
    -- Inclusive upper bound; null for the open-ended top tier.
    max_points   bigint,
    active       boolean not null default true,
    -- Privileges conferred by the tier: permission keys and quotas.
    permissions  text[]  not null default '{}',
    max_licenses integer not null default 0,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now(),
    constraint level_tiers_pkey primary key (tenant_id, tier_id),
    constraint level_tiers_code_key unique (tenant_id, code),
    constraint level_tiers_order_key unique (tenant_id, sort_order),
    constraint level_tiers_code_format check (code ~ '^[a-z0-9][a-z0-9_-]{0,39}$'),
    constraint level_tiers_range check (min_points >= 0 and (max_points is null or max_points >= min_points)),
    constraint level_tiers_max_licenses check (max_licenses >= 0)
);

-- A person, independent of tenants. The same person in two tenants has one identity
-- and two fully independent profiles (points, level, tags, licenses).
create table members (
    member_id  uuid        primary key default gen_random_uuid(),
    created_at timestamptz not null default now()
);

-- A member's profile in one tenant: identity within the tenant, balances, level.
create table member_profiles (
    tenant_id         uuid        not null references tenants (tenant_id),
    member_id         uuid        not null references members (member_id),
    -- The tenant's own id for this member (unique per tenant).
    external_id       text        not null,
    display_name      text        not null,
    email             text,
    registered_at     timestamptz not null default now(),
    last_login_at     timestamptz,
    -- The legacy "user type" this member had before migration (used by the migration).
    legacy_user_type  integer,
    -- Lifetime earned points: drives the level.
    total_points      bigint      not null default 0,
    -- Spendable points.
    available_points  bigint      not null default 0,
    level_tier_id     uuid,
    level_updated_at  timestamptz,
    -- Number of ledger entries: the next entry is ledger_seq + 1 (gap-free chain).
    ledger_seq        bigint      not null default 0,
    -- Optimistic concurrency for profile edits; bumped by every change.
    row_version       bigint      not null default 1,
    created_at        timestamptz not null default now(),
    updated_at        timestamptz not null default now(),
    constraint member_profiles_pkey primary key (tenant_id, member_id),
    constraint member_profiles_external_id_key unique (tenant_id, external_id),
    constraint member_profiles_level_fkey foreign key (tenant_id, level_tier_id)
        references level_tiers (tenant_id, tier_id),
    constraint member_profiles_available_nonnegative check (available_points >= 0),
    constraint member_profiles_total_nonnegative check (total_points >= 0),
    constraint member_profiles_external_id_length check (char_length(external_id) between 1 and 128),
    constraint member_profiles_display_name_length check (char_length(display_name) between 1 and 200)
);
-- Search by name or email prefix, filter by level; keyset-paged by external_id.
create index member_profiles_name_idx on member_profiles (tenant_id, lower(display_name) text_pattern_ops);
create index member_profiles_email_idx on member_profiles (tenant_id, lower(email) text_pattern_ops);
create index member_profiles_level_idx on member_profiles (tenant_id, level_tier_id, external_id);
create index member_profiles_total_idx on member_profiles (tenant_id, total_points);

-- The points ledger: append-only. A correction is a new entry (a reversal or an
-- adjustment), never an update or a delete.
create table points_ledger (
    tenant_id         uuid        not null,
    member_id         uuid        not null,
    -- Position in the member's chain: 1, 2, 3, … without gaps.
    seq               bigint      not null,
    kind              text        not null,
    category          text        not null,
    subcategory       text,
    -- Signed change of available points.
    points            bigint      not null,
    available_before  bigint      not null,
    available_after   bigint      not null,
    total_before      bigint      not null,
    total_after       bigint      not null,
    reason            text,
    source_type       text,
    source_ref        text,
    -- Who caused it: an admin (console), or a machine client (API key id), or neither
    -- for system jobs (expiry, migration).
    operator_admin_id uuid        references admins (admin_id),
    client_id         text,
    manual            boolean     not null default false,
    -- Client-supplied key: a retry with the same key returns the original entry.
    idempotency_key   text,
    -- Hash of the request payload under that key: a different payload is a conflict.
    request_hash      text,
    -- For reversals: the entry (seq) being reversed.
    reverses_seq      bigint,
    created_at        timestamptz not null default now(),
    constraint points_ledger_pkey primary key (tenant_id, member_id, seq),
    constraint points_ledger_profile_fkey foreign key (tenant_id, member_id)
        references member_profiles (tenant_id, member_id),
    constraint points_ledger_idempotency_key unique (tenant_id, idempotency_key),
    constraint points_ledger_reversal_once unique (tenant_id, member_id, reverses_seq),
    constraint points_ledger_kind check (kind in ('earn', 'spend', 'adjust', 'expire', 'migration', 'reversal')),
    constraint points_ledger_seq_positive check (seq >= 1),
    constraint points_ledger_nonzero check (points <> 0),
    constraint points_ledger_available_chain check (available_after = available_before + points),
    -- Lifetime total moves with available (earn, adjust) or not at all (spend, expire).
    constraint points_ledger_total_chain check (total_after = total_before or total_after = total_before + points),
    constraint points_ledger_nonnegative check (available_after >= 0 and total_after >= 0),
    constraint points_ledger_sign check (
        (kind in ('earn', 'migration') and points > 0)
        or (kind in ('spend', 'expire') and points < 0)
        or kind in ('adjust', 'reversal')),
    constraint points_ledger_manual_reason check (not manual or char_length(btrim(coalesce(reason, ''))) > 0),
    constraint points_ledger_reversal_target check ((kind = 'reversal') = (reverses_seq is not null))
);
create index points_ledger_created_idx on points_ledger (tenant_id, created_at);

-- Every change of a member's level: from, to, cause, when.
create table level_changes (
    tenant_id     uuid        not null,
    change_id     bigint      generated always as identity,
    member_id     uuid        not null,
    from_tier_id  uuid,
    to_tier_id    uuid,
    -- 'points' (a ledger entry, see ledger_seq) or 'tiers' (the tenant changed tiers).
    cause         text        not null,
    ledger_seq    bigint,
    total_points  bigint      not null,
    created_at    timestamptz not null default now(),
    constraint level_changes_pkey primary key (tenant_id, change_id),
    constraint level_changes_profile_fkey foreign key (tenant_id, member_id)
        references member_profiles (tenant_id, member_id),
    constraint level_changes_cause check (cause in ('points', 'tiers'))
);
create index level_changes_member_idx on level_changes (tenant_id, member_id, change_id desc);

-- Manual adjustments above the tenant's threshold wait here for a second tenant admin.
create table adjustment_requests (
    tenant_id     uuid        not null,
    request_id    uuid        not null default gen_random_uuid(),
    member_id     uuid        not null,
    points        bigint      not null,
    reason        text        not null,
    requested_by  uuid        not null references admins (admin_id),
    status        text        not null default 'pending',
    decided_by    uuid        references admins (admin_id),
    decided_at    timestamptz,
    decision_note text,
    -- The ledger entry the approval created.
    ledger_seq    bigint,
    created_at    timestamptz not null default now(),
    constraint adjustment_requests_pkey primary key (tenant_id, request_id),
    constraint adjustment_requests_profile_fkey foreign key (tenant_id, member_id)
        references member_profiles (tenant_id, member_id),
    constraint adjustment_requests_status check (status in ('pending', 'approved', 'rejected')),
    constraint adjustment_requests_nonzero check (points <> 0),
    constraint adjustment_requests_reason check (char_length(btrim(reason)) > 0),
    -- The four-eyes rule itself: nobody approves their own request.
    constraint adjustment_requests_other_decider check (decided_by is null or decided_by <> requested_by)
);
create index adjustment_requests_pending_idx on adjustment_requests (tenant_id, created_at) where status = 'pending';
