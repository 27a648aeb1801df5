-- The reports of legacy imports (issue #12): each upload or `tierdesk legacy import` of a
-- user-types or members CSV file keeps what it did (rows read, inserted, updated,
-- unchanged, and the bad rows with line, column and problem), so the console can show
-- the latest imports and an operator can go back to one. Written on the import's own
-- transaction: a report exists exactly when its rows were committed.
create table legacy_imports (
    tenant_id   uuid        not null references tenants (tenant_id),
    import_id   uuid        not null,
    -- Which file: the legacy user types or the legacy members.
    kind        text        not null,
    -- The uploaded file's name as the client gave it (cleaned, for people to recognise).
    file_name   text        not null,
    -- model::migration::legacy::ImportReport as JSON (the first 1,000 bad rows; all are
    -- counted).
    report      jsonb       not null,
    -- Null when the command line imported.
    imported_by uuid        references admins (admin_id),
    imported_at timestamptz not null default now(),
    constraint legacy_imports_pkey primary key (tenant_id, import_id),
    constraint legacy_imports_kind check (kind in ('user_types', 'members')),
    constraint legacy_imports_file_name check (char_length(file_name) between 1 and 200),
    constraint legacy_imports_report check (jsonb_typeof(report) = 'object')
);
-- The console lists a tenant's latest imports.
create index legacy_imports_recent_idx on legacy_imports (tenant_id, imported_at desc, import_id);
