-- API keys get a scope (issue 15): 'read' may call every tvmaze.v1 method but
-- Ingest/StartIngest (and Auth/CheckApiKey); 'ingest' may call every method.
-- Existing keys become 'read'. A revocation (or a deletion made by hand)
-- NOTIFYs channel api_keys, so every server drops its in-process key cache at
-- once (server/auth/key_cache.c).
ALTER TABLE api_keys
  ADD COLUMN scope text NOT NULL DEFAULT 'read' CHECK (scope IN ('read', 'ingest'));

CREATE FUNCTION api_keys_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('api_keys', '');
  RETURN NULL;
END;
$$;

CREATE TRIGGER api_keys_changed
  AFTER UPDATE OR DELETE ON api_keys
  FOR EACH STATEMENT EXECUTE FUNCTION api_keys_notify();
