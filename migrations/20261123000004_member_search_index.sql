-- Prefix search on the tenant's external id, case-insensitive, like the name and email
-- indexes: each branch of the member search is then an index range scan, so a search
-- costs the same at a million members as at a thousand.
create index member_profiles_external_id_lower_idx
    on member_profiles (tenant_id, lower(external_id) text_pattern_ops);
