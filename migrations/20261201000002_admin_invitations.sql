-- Memberships added from the console are invitations until the account's owner accepts
-- them: a tenant admin adding an email must learn nothing about an account that already
-- exists (not that it exists, not its name). Until `accepted_at` is set a membership
-- grants nothing; the inviting tenant sees the email and the name its admin typed.
--
-- Memberships made by the command line, platform administrators and the demo seed are
-- accepted when they are made (the column's default).
alter table tenant_admins
    add column accepted_at timestamptz,
    -- The name the inviting admin typed; shown to that tenant until the invitation is
    -- accepted (after that, the account's own name).
    add column invited_name text,
    -- Set when the invitation created the account (with the password the inviting admin
    -- chose): the first sign-in with that password accepts it.
    add column accept_on_sign_in boolean not null default false;

update tenant_admins set accepted_at = created_at;

alter table tenant_admins
    alter column accepted_at set default now(),
    add constraint tenant_admins_invited_name_length
        check (invited_name is null or char_length(btrim(invited_name)) between 1 and 200),
    add constraint tenant_admins_pending_has_name
        check (accepted_at is not null or invited_name is not null);

-- The pending invitations of an account (shown to its owner after signing in).
create index tenant_admins_pending_idx on tenant_admins (admin_id) where accepted_at is null;
