-- Member search matches any part of the external id, the name or the email (not only
-- the start), still index-backed at a million members: trigram GIN indexes, keyed by
-- tenant first (btree_gin) like every other index here. Both extensions are "trusted":
-- a database owner may create them without superuser rights.
create extension if not exists pg_trgm;
create extension if not exists btree_gin;

create index member_profiles_external_id_trgm_idx
    on member_profiles using gin (tenant_id, lower(external_id) gin_trgm_ops);
create index member_profiles_name_trgm_idx
    on member_profiles using gin (tenant_id, lower(display_name) gin_trgm_ops);
create index member_profiles_email_trgm_idx
    on member_profiles using gin (tenant_id, lower(email) gin_trgm_ops);
