-- The points ledger is append-only: a correction is a new entry (reversal or
-- adjustment), never an update or a delete. The domain never issues either; this
-- trigger makes the database refuse them from anyone else too (a psql session, a
-- future bug), so the ledger check can trust history.
create function points_ledger_append_only() returns trigger
language plpgsql as $$
begin
    raise exception 'points_ledger is append-only: % refused (correct with a new entry)', tg_op
        using errcode = 'P0001';
end;
$$;

create trigger points_ledger_append_only
    before update or delete on points_ledger
    for each row execute function points_ledger_append_only();
