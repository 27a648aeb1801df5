-- The legacy migration's mapping and formula per tenant, versioned: every save is a new
-- version (never updated), so each migrated member can name the version that migrated
-- them, and a dry run or a run is always computed from one fixed version.
create table migration_settings (
    tenant_id  uuid        not null references tenants (tenant_id),
    version    integer     not null,
    -- model::migration::Formula as JSON (every coefficient).
    formula    jsonb       not null,
    -- model::migration::Mapping's pairs as JSON: [[user_type, "tag code"], …].
    mapping    jsonb       not null,
    saved_by   uuid        references admins (admin_id),
    saved_at   timestamptz not null default now(),
    constraint migration_settings_pkey primary key (tenant_id, version),
    constraint migration_settings_version check (version >= 1),
    constraint migration_settings_formula check (jsonb_typeof(formula) = 'object'),
    constraint migration_settings_mapping check (jsonb_typeof(mapping) = 'array')
);
