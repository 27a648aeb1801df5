-- A requester may withdraw their own pending adjustment request. A withdrawn request
-- is closed without a decider (four eyes are about approving, not about changing one's
-- mind), so it carries decided_at but no decided_by.
alter table adjustment_requests
    drop constraint adjustment_requests_status,
    add constraint adjustment_requests_status
        check (status in ('pending', 'approved', 'rejected', 'withdrawn')),
    add constraint adjustment_requests_withdrawn_by_requester
        check (status <> 'withdrawn' or (decided_by is null and decided_at is not null));

-- The approvals page lists recently decided requests, newest first; the member page
-- lists a member's pending ones.
create index adjustment_requests_decided_idx
    on adjustment_requests (tenant_id, decided_at desc) where status <> 'pending';
create index adjustment_requests_member_pending_idx
    on adjustment_requests (tenant_id, member_id) where status = 'pending';
