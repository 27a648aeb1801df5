-- Tags (privileges with terms), grants and their lifecycle, the outbox with webhook
-- deliveries, and the permission-cache coherence protocol.

-- Reminders, webhook endpoint and signing secret per tenant.
alter table tenant_settings
    add column reminder_days  integer not null default 7,
    add column webhook_url    text,
    add column webhook_secret text,
    add constraint tenant_settings_reminder_days check (reminder_days between 0 and 365),
    add constraint tenant_settings_webhook_url check (webhook_url ~ '^https?://[^\s/]+' and char_length(webhook_url) <= 2000),
    add constraint tenant_settings_webhook_secret check (webhook_secret is null or char_length(webhook_secret) between 16 and 200);

-- The tenant's tag catalogue (VIP, enterprise, education, …).
create table tags (
    tenant_id          uuid    not null references tenants (tenant_id),
    tag_id             uuid    not null default gen_random_uuid(),
    code               text    not null,
    name_zh            text    not null,
    name_en            text    not null,
    category           text    not null,
    -- Privileges: permission keys, a license quota floor and a license quota boost.
    -- Effective max_licenses = max(level's, every tag's floor) + sum of tag boosts.
    permissions        text[]  not null default '{}',
    max_licenses       integer not null default 0,
    max_licenses_boost integer not null default 0,
    -- Term of a new grant in days; null: grants do not expire unless given an expiry.
    default_term_days  integer,
    -- Days after expiry during which the tag still confers its privileges.
    grace_days         integer not null default 0,
    -- Renewal rule copied onto new grants: auto-renew, and renew from expiry or from now.
    auto_renew         boolean not null default false,
    renew_from         text    not null default 'expiry',
    active             boolean not null default true,
    row_version        bigint  not null default 1,
    created_at         timestamptz not null default now(),
    updated_at         timestamptz not null default now(),
    constraint tags_pkey primary key (tenant_id, tag_id),
    constraint tags_code_key unique (tenant_id, code),
    constraint tags_code_format check (code ~ '^[a-z0-9][a-z0-9_-]{0,39}$'),
    constraint tags_names check (char_length(btrim(name_zh)) between 1 and 100 and char_length(btrim(name_en)) between 1 and 100),
    constraint tags_category check (category in ('payment', 'business', 'education', 'partner', 'internal', 'other')),
    constraint tags_quota check (max_licenses >= 0 and max_licenses_boost >= 0),
    constraint tags_term check (default_term_days is null or default_term_days between 1 and 36500),
    constraint tags_grace check (grace_days between 0 and 3650),
    constraint tags_renew_from check (renew_from in ('expiry', 'now')),
    constraint tags_auto_renew_term check (not auto_renew or default_term_days is not null)
);

-- A tag held by a member. The row carries the terms it was granted with, so editing
-- the tag later does not rewrite existing grants' dates.
create table tag_grants (
    tenant_id        uuid        not null,
    grant_id         uuid        not null default gen_random_uuid(),
    member_id        uuid        not null,
    tag_id           uuid        not null,
    method           text        not null,
    reason           text        not null,
    granted_by       uuid        references admins (admin_id),
    client_id        text,
    starts_at        timestamptz not null,
    expires_at       timestamptz,
    term_days        integer,
    grace_days       integer     not null default 0,
    auto_renew       boolean     not null default false,
    renew_from       text        not null default 'expiry',
    -- active → grace → expired, or revoked at any time; auto-renewing grants renew.
    status           text        not null default 'active',
    -- The expiry a reminder was sent for (a renewal re-arms the reminder).
    reminded_for     timestamptz,
    revoked_at       timestamptz,
    revoked_by       uuid        references admins (admin_id),
    revoke_reason    text,
    ended_at         timestamptz,
    row_version      bigint      not null default 1,
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now(),
    constraint tag_grants_pkey primary key (tenant_id, grant_id),
    constraint tag_grants_profile_fkey foreign key (tenant_id, member_id)
        references member_profiles (tenant_id, member_id),
    constraint tag_grants_tag_fkey foreign key (tenant_id, tag_id) references tags (tenant_id, tag_id),
    constraint tag_grants_method check (method in ('manual', 'migration', 'purchase', 'api')),
    constraint tag_grants_reason check (char_length(btrim(reason)) between 1 and 500),
    constraint tag_grants_status check (status in ('active', 'grace', 'expired', 'revoked')),
    constraint tag_grants_period check (expires_at is null or expires_at > starts_at),
    constraint tag_grants_term check (term_days is null or term_days between 1 and 36500),
    constraint tag_grants_grace check (grace_days between 0 and 3650),
    constraint tag_grants_renew_from check (renew_from in ('expiry', 'now')),
    constraint tag_grants_auto_renew check (not auto_renew or (term_days is not null and expires_at is not null)),
    constraint tag_grants_revoked check ((status = 'revoked') = (revoked_at is not null))
);
-- A member holds a tag at most once at a time; granting again renews.
create unique index tag_grants_live_key on tag_grants (tenant_id, member_id, tag_id)
    where status in ('active', 'grace');
create index tag_grants_member_idx on tag_grants (tenant_id, member_id, created_at desc);
-- The lifecycle job and "expiring soon" scan live grants by expiry.
create index tag_grants_expiry_idx on tag_grants (tenant_id, expires_at) where status in ('active', 'grace');
create index tag_grants_due_idx on tag_grants (expires_at) where status in ('active', 'grace');

-- Every transition of a grant, with its cause.
create table grant_events (
    tenant_id   uuid        not null,
    event_id    bigint      generated always as identity,
    grant_id    uuid        not null,
    member_id   uuid        not null,
    kind        text        not null,
    from_status text,
    to_status   text        not null,
    expires_at  timestamptz,
    -- 'console', 'api', 'job', 'migration'
    cause       text        not null,
    actor_id    uuid        references admins (admin_id),
    note        text,
    created_at  timestamptz not null default now(),
    constraint grant_events_pkey primary key (tenant_id, event_id),
    constraint grant_events_grant_fkey foreign key (tenant_id, grant_id) references tag_grants (tenant_id, grant_id),
    constraint grant_events_kind check (kind in ('granted', 'renewed', 'grace', 'expired', 'revoked', 'reminder')),
    constraint grant_events_cause check (cause in ('console', 'api', 'job', 'migration'))
);
create index grant_events_grant_idx on grant_events (tenant_id, grant_id, event_id);

-- Per-tenant outbox: written in the transaction of the change, delivered afterwards.
create table outbox_events (
    tenant_id       uuid        not null references tenants (tenant_id),
    event_id        bigint      generated always as identity,
    topic           text        not null,
    payload         jsonb       not null,
    -- pending (to deliver), delivered, failed (gave up), skipped (no webhook configured)
    status          text        not null,
    attempts        integer     not null default 0,
    next_attempt_at timestamptz not null default now(),
    last_error      text,
    delivered_at    timestamptz,
    created_at      timestamptz not null default now(),
    constraint outbox_events_pkey primary key (tenant_id, event_id),
    constraint outbox_events_status check (status in ('pending', 'delivered', 'failed', 'skipped')),
    constraint outbox_events_topic check (char_length(topic) between 1 and 100)
);
create index outbox_events_due_idx on outbox_events (next_attempt_at) where status = 'pending';
create index outbox_events_recent_idx on outbox_events (tenant_id, event_id desc);

-- Every delivery attempt.
create table webhook_deliveries (
    tenant_id    uuid        not null,
    delivery_id  bigint      generated always as identity,
    event_id     bigint      not null,
    attempt      integer     not null,
    url          text        not null,
    status_code  integer,
    error        text,
    duration_ms  integer     not null,
    created_at   timestamptz not null default now(),
    constraint webhook_deliveries_pkey primary key (tenant_id, delivery_id),
    constraint webhook_deliveries_event_fkey foreign key (tenant_id, event_id) references outbox_events (tenant_id, event_id)
);
create index webhook_deliveries_recent_idx on webhook_deliveries (tenant_id, delivery_id desc);

-- Permission-cache coherence.
--
-- Every change that can alter a member's effective permissions (a level change, a
-- grant change, a tag or tier edit) bumps its tenant's epoch and sends a notification
-- `tenant epoch member,member,…|*` on channel tierdesk_cache, from triggers, in the
-- same transaction. The epoch row lock orders these transactions per tenant, so
-- notifications arrive in epoch order. Each server process (a cache node) listens,
-- invalidates, then records the epoch it has applied in cache_node_acks. A writer
-- returns only when every live node has applied its epoch; a node whose heartbeat is
-- older than the lease stops serving from its cache before writers stop waiting for it.
create table tenant_cache_epochs (
    tenant_id uuid   primary key,
    epoch     bigint not null
);

create table cache_nodes (
    node_id       uuid        primary key,
    started_at    timestamptz not null default now(),
    heartbeat_at  timestamptz not null default now(),
    description   text        not null
);

create table cache_node_acks (
    node_id  uuid   not null references cache_nodes (node_id) on delete cascade,
    tenant_id uuid  not null,
    epoch    bigint not null,
    constraint cache_node_acks_pkey primary key (node_id, tenant_id)
);

create function cache_invalidate(p_tenant uuid, p_members uuid[]) returns void
language plpgsql as $$
declare
    next_epoch bigint;
begin
    insert into tenant_cache_epochs as e (tenant_id, epoch) values (p_tenant, 1)
        on conflict (tenant_id) do update set epoch = e.epoch + 1
        returning epoch into next_epoch;
    if p_members is null or cardinality(p_members) > 100 then
        perform pg_notify('tierdesk_cache', p_tenant::text || ' ' || next_epoch::text || ' *');
    else
        perform pg_notify('tierdesk_cache',
            p_tenant::text || ' ' || next_epoch::text || ' ' || array_to_string(p_members, ','));
    end if;
end $$;

-- Members whose level changed (points or a tier edit).
create function cache_invalidate_members() returns trigger
language plpgsql as $$
declare
    r record;
begin
    for r in select tenant_id, array_agg(distinct member_id) as members from changed group by tenant_id loop
        perform cache_invalidate(r.tenant_id, r.members);
    end loop;
    return null;
end $$;

-- Tenant-wide: a tag's or a tier's privileges changed.
create function cache_invalidate_tenants() returns trigger
language plpgsql as $$
declare
    r record;
begin
    for r in select distinct tenant_id from changed loop
        perform cache_invalidate(r.tenant_id, null);
    end loop;
    return null;
end $$;

create trigger level_changes_cache after insert on level_changes
    referencing new table as changed for each statement execute function cache_invalidate_members();
create trigger tag_grants_cache_insert after insert on tag_grants
    referencing new table as changed for each statement execute function cache_invalidate_members();
create trigger tag_grants_cache_update after update on tag_grants
    referencing new table as changed for each statement execute function cache_invalidate_members();
create trigger tags_cache_update after update on tags
    referencing new table as changed for each statement execute function cache_invalidate_tenants();
create trigger level_tiers_cache_insert after insert on level_tiers
    referencing new table as changed for each statement execute function cache_invalidate_tenants();
create trigger level_tiers_cache_update after update on level_tiers
    referencing new table as changed for each statement execute function cache_invalidate_tenants();
create trigger level_tiers_cache_delete after delete on level_tiers
    referencing old table as changed for each statement execute function cache_invalidate_tenants();
