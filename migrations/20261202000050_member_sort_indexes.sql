-- The member list can be ordered by name, registration or total points (each then by
-- external id, so the order is total). Each order reads one index in order and pages
-- by keyset on (value, external id); these replace the narrower indexes on the same
-- columns, which served only "new this week" and the points range scans.
drop index if exists member_profiles_total_idx;
create index member_profiles_total_idx
    on member_profiles (tenant_id, total_points, external_id);
drop index if exists member_profiles_registered_idx;
create index member_profiles_registered_idx
    on member_profiles (tenant_id, registered_at, external_id);
create index member_profiles_name_sort_idx
    on member_profiles (tenant_id, lower(display_name), external_id);
-- Within a level, by points ("the top gold members"): a level is a band of points, so
-- the points index alone would walk past every member of the higher levels first.
create index member_profiles_level_total_idx
    on member_profiles (tenant_id, level_tier_id, total_points, external_id);
