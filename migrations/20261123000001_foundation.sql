-- Foundation schema: tenants, admin accounts, per-tenant roles, sign-in throttling,
-- console sessions and the audit log.
--
-- Citus readiness: every tenant-owned table starts its primary key with tenant_id so
-- that it can later be distributed by tenant_id and every query routed to one shard.
-- Tables that are not tenant-owned (tenants, admins, sessions, throttling,
-- platform_audit_log) are small and would become Citus reference/local tables.

-- One row per customer organisation. The slug is the stable, human-readable key used
-- by the CLI and in URLs; the uuid is what every other table references.
create table tenants (
    tenant_id  uuid        primary key default gen_random_uuid(),
    slug       text        not null,
    name       text        not null,
    created_at timestamptz not null default now(),
    constraint tenants_slug_key unique (slug),
    -- Lower-case letters, digits and inner dashes keep slugs safe in URLs and shells.
    constraint tenants_slug_format check (slug ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    constraint tenants_name_length check (char_length(btrim(name)) between 1 and 200)
);

-- A person who signs in to the console. Accounts are global so that one person can
-- administer several tenants with one password; what they may do lives in tenant_admins.
create table admins (
    admin_id          uuid        primary key default gen_random_uuid(),
    -- Stored lower-cased and trimmed by the domain; the check pairs that assertion.
    email             text        not null,
    display_name      text        not null,
    -- An argon2id PHC string; never selected into anything that is serialised.
    password_hash     text        not null,
    -- Platform administrators create tenants and may act in every tenant.
    is_platform_admin boolean     not null default false,
    -- A disabled account cannot sign in anywhere, and its sessions stop working at once.
    disabled_at       timestamptz,
    created_at        timestamptz not null default now(),
    constraint admins_email_key unique (email),
    constraint admins_email_format check (email = lower(btrim(email)) and email ~ '^[^@\s]+@[^@\s]+$'),
    constraint admins_display_name_length check (char_length(btrim(display_name)) between 1 and 200)
);

-- Membership of an admin account in a tenant, with the role it holds there.
-- A tenant admin can disable a membership (access to that tenant only), never the
-- global account, so no tenant can lock a person out of another tenant.
create table tenant_admins (
    tenant_id   uuid        not null references tenants (tenant_id),
    admin_id    uuid        not null references admins (admin_id),
    role        text        not null,
    disabled_at timestamptz,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now(),
    constraint tenant_admins_pkey primary key (tenant_id, admin_id),
    constraint tenant_admins_role_check check (role in ('tenant_admin', 'support', 'viewer'))
);
create index tenant_admins_admin_idx on tenant_admins (admin_id);

-- Failed sign-in counters, one row per throttled key ("account:<email>" or
-- "address:<ip>"). A row is reset on a successful sign-in and expires with its window.
create table sign_in_throttle (
    throttle_key  text        primary key,
    failures      integer     not null default 0,
    window_start  timestamptz not null default now(),
    locked_until  timestamptz,
    constraint sign_in_throttle_failures_nonnegative check (failures >= 0)
);

-- Console sessions (tower-sessions store). The record is the serialised session map;
-- expiry is enforced on load and old rows are deleted by a periodic sweep.
create table sessions (
    session_id  text        primary key,
    data        jsonb       not null,
    expires_at  timestamptz not null
);
create index sessions_expires_idx on sessions (expires_at);

-- Every administrative change inside a tenant: who, when, what, before and after.
-- Rows are written in the same transaction as the change they describe and are never
-- updated or deleted.
create table audit_log (
    tenant_id      uuid        not null references tenants (tenant_id),
    audit_id       bigint      generated always as identity,
    occurred_at    timestamptz not null default now(),
    -- Null when the change came from the command line rather than a signed-in admin.
    actor_admin_id uuid        references admins (admin_id),
    -- The actor's email (or "cli") at the time, so the row stays readable forever.
    actor_label    text        not null,
    action         text        not null,
    target_type    text        not null,
    target_id      text        not null,
    before         jsonb,
    after          jsonb,
    request_id     text,
    constraint audit_log_pkey primary key (tenant_id, audit_id)
);

-- Changes that belong to no single tenant: platform administrator accounts and the
-- creation of tenants (which is also written to the new tenant's own log).
create table platform_audit_log (
    audit_id       bigint      generated always as identity primary key,
    occurred_at    timestamptz not null default now(),
    actor_admin_id uuid        references admins (admin_id),
    actor_label    text        not null,
    action         text        not null,
    target_type    text        not null,
    target_id      text        not null,
    before         jsonb,
    after          jsonb,
    request_id     text
);
