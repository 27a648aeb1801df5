-- Webhook URLs may carry credentials (`https://user:secret@host/…`). From now on they are
-- written redacted (`https://***@host/…`) everywhere but the tenant's settings, which
-- the sender needs (domain::webhooks::redact_url). This removes them from what was
-- written before: the delivery log's URLs and errors (the HTTP client's errors quoted
-- the URL), outbox errors, and the webhook settings' audit rows.
--
-- The pattern is redact_url's rule: after the scheme and its slashes, the authority
-- runs to the first `/`, `\`, `?` or `#`, and its userinfo to its last `@`.

update webhook_deliveries
set url = regexp_replace(url, '^([A-Za-z][A-Za-z0-9+.-]*:[/\\]*)[^/\\?#]*@', '\1***@'),
    error = regexp_replace(error, '([A-Za-z][A-Za-z0-9+.-]*://)[^/\\?#\s()]*@', '\1***@', 'g')
where url like '%@%' or error like '%@%';

update outbox_events
set last_error = regexp_replace(last_error, '([A-Za-z][A-Za-z0-9+.-]*://)[^/\\?#\s()]*@', '\1***@', 'g')
where last_error like '%@%';

update audit_log
set before = case when jsonb_typeof(before -> 'url') = 'string'
        then jsonb_set(before, '{url}', to_jsonb(regexp_replace(before ->> 'url',
            '^([A-Za-z][A-Za-z0-9+.-]*:[/\\]*)[^/\\?#]*@', '\1***@')))
        else before end,
    after = case when jsonb_typeof(after -> 'url') = 'string'
        then jsonb_set(after, '{url}', to_jsonb(regexp_replace(after ->> 'url',
            '^([A-Za-z][A-Za-z0-9+.-]*:[/\\]*)[^/\\?#]*@', '\1***@')))
        else after end
where action = 'webhook.update' and (before ->> 'url' like '%@%' or after ->> 'url' like '%@%');
