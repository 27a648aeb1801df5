-- Lock order for the permission-cache epochs.
--
-- A points change locks the member's profile and then (level_changes trigger) the
-- tenant's epoch row. A tier save used to lock the epoch first (level_tiers trigger)
-- and the profiles after (re-levelling): opposite orders, a possible deadlock. A
-- transaction may now defer its invalidations (`set local tierdesk.cache_defer = 'on'`)
-- and call cache_invalidate(tenant, null) as its last statement, after every profile
-- lock. Statements spanning several tenants (the lifecycle job) take epoch rows in
-- tenant order, so two of them cannot deadlock either.

create or replace function cache_invalidate_members() returns trigger
language plpgsql as $$
declare
    r record;
begin
    if current_setting('tierdesk.cache_defer', true) = 'on' then
        return null;
    end if;
    for r in select tenant_id, array_agg(distinct member_id) as members
             from changed group by tenant_id order by tenant_id loop
        perform cache_invalidate(r.tenant_id, r.members);
    end loop;
    return null;
end $$;

create or replace function cache_invalidate_tenants() returns trigger
language plpgsql as $$
declare
    r record;
begin
    if current_setting('tierdesk.cache_defer', true) = 'on' then
        return null;
    end if;
    for r in select distinct tenant_id from changed order by tenant_id loop
        perform cache_invalidate(r.tenant_id, null);
    end loop;
    return null;
end $$;
