-- The REST API v1 (issue #14): API keys of tenant backends and the idempotency store of
-- their POST requests.

-- An API key. The secret is `tdk_<tenant id, 32 hex>_<48 hex random>`; only its
-- SHA-256 is stored (it is 192 random bits: a slow hash would add nothing but a cost to
-- every request). `prefix` (the first characters of the random part) is what the
-- console shows and audit rows name. Rotation gives the old key an `expires_at` (its
-- grace end) and creates its successor; revocation sets `revoked_at`, which takes
-- effect at once in every server process through the cache coherence protocol (the
-- trigger below).
create table api_keys (
    tenant_id       uuid        not null references tenants (tenant_id),
    key_id          uuid        not null default gen_random_uuid(),
    name            text        not null,
    scope           text        not null,
    prefix          text        not null,
    secret_hash     bytea       not null,
    -- Per-key rate limit override (requests per second and burst); null: the defaults.
    rate_per_second integer,
    burst           integer,
    created_by      uuid        references admins (admin_id),
    created_at      timestamptz not null default now(),
    expires_at      timestamptz,
    revoked_at      timestamptz,
    -- The key this one replaced when it was created by a rotation.
    rotated_from    uuid,
    constraint api_keys_pkey primary key (tenant_id, key_id),
    constraint api_keys_secret_hash_key unique (tenant_id, secret_hash),
    constraint api_keys_name check (char_length(btrim(name)) between 1 and 100),
    constraint api_keys_scope check (scope in ('read', 'write')),
    constraint api_keys_secret_hash_length check (octet_length(secret_hash) = 32),
    constraint api_keys_rate check (rate_per_second is null or rate_per_second between 1 and 100000),
    constraint api_keys_burst check (burst is null or burst between 1 and 100000)
);

create index api_keys_list_idx on api_keys (tenant_id, created_at desc);

-- When a key was last used: written at most once a minute per key and process, in a
-- table of its own (an update of api_keys invalidates every process's caches).
create table api_key_usage (
    tenant_id    uuid        not null,
    key_id       uuid        not null,
    last_used_at timestamptz not null,
    constraint api_key_usage_pkey primary key (tenant_id, key_id),
    constraint api_key_usage_key_fkey foreign key (tenant_id, key_id)
        references api_keys (tenant_id, key_id)
);

-- A key's change (revocation, rotation, rate) must reach every process's key cache
-- before the change returns: the same epoch-and-notify protocol as permissions,
-- tenant-wide (key changes are rare).
create trigger api_keys_cache_update after update on api_keys
    referencing new table as changed for each statement execute function cache_invalidate_tenants();

-- The first response to each `Idempotency-Key`, per API key, kept at least 24 hours.
-- `response_status` null: the first request is still running (a retry gets 409); a
-- first request that failed with a server fault leaves no row, so a retry runs again.
create table api_idempotency (
    tenant_id        uuid        not null references tenants (tenant_id),
    key_id           uuid        not null,
    idempotency_key  text        not null,
    -- SHA-256 of method, path and body: the same key with another request is a 422.
    request_hash     bytea       not null,
    response_status  integer,
    response_body    bytea,
    started_at       timestamptz not null default now(),
    finished_at      timestamptz,
    constraint api_idempotency_pkey primary key (tenant_id, key_id, idempotency_key),
    constraint api_idempotency_key_fkey foreign key (tenant_id, key_id)
        references api_keys (tenant_id, key_id),
    constraint api_idempotency_key_length check (char_length(idempotency_key) between 1 and 255),
    constraint api_idempotency_status check (response_status is null or response_status between 200 and 599)
);

create index api_idempotency_started_idx on api_idempotency (started_at);

-- An adjustment above the tenant's threshold filed by an API key waits for a tenant
-- admin like one filed in the console: the request names the key instead of an admin.
alter table adjustment_requests
    alter column requested_by drop not null,
    add column requested_by_key uuid,
    add column requested_by_label text,
    add constraint adjustment_requests_requester
        check ((requested_by is not null) <> (requested_by_key is not null));
