-- The legacy "user type" model a tenant migrates from (seeds 000 and 001). These
-- tables hold the legacy system's data as imported (CSV, the CLI, later the REST API)
-- and are never modified by the migration: its checkpoints compare them byte for byte
-- before and after a rollback.

-- A legacy user type: the permission keys it grants and its license quota.
create table legacy_user_types (
    tenant_id    uuid        not null references tenants (tenant_id),
    type_id      integer     not null,
    name         text        not null,
    permissions  text[]      not null default '{}',
    max_licenses integer     not null,
    updated_at   timestamptz not null default now(),
    constraint legacy_user_types_pkey primary key (tenant_id, type_id),
    constraint legacy_user_types_name check (char_length(btrim(name)) between 1 and 100),
    constraint legacy_user_types_max_licenses check (max_licenses between 0 and 1000000),
    constraint legacy_user_types_type_id check (type_id between 0 and 1000000)
);

-- A legacy member. `user_type` may name a type that does not exist (dirty data the
-- dry run reports); dates and amounts are kept as the legacy system had them.
create table legacy_members (
    tenant_id           uuid        not null references tenants (tenant_id),
    external_id         text        not null,
    user_type           integer     not null,
    registered_at       timestamptz not null,
    last_login_at       timestamptz,
    license_count       integer     not null default 0,
    -- Hundredths of the currency unit, exactly as the decimal in the CSV.
    payment_total_cents bigint      not null default 0,
    -- Bumped by an import only when a field really changed (catch-up reads it).
    updated_at          timestamptz not null default now(),
    constraint legacy_members_pkey primary key (tenant_id, external_id),
    constraint legacy_members_external_id check (char_length(external_id) between 1 and 128)
);
create index legacy_members_type_idx on legacy_members (tenant_id, user_type);
create index legacy_members_updated_idx on legacy_members (tenant_id, updated_at);
