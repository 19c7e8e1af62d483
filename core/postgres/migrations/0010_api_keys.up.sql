-- API keys (bridge/src/access/). A key is `lbk_<id>_<secret>`: the id is public (it names the key
-- in logs, lists and rate-limit buckets), the secret is 256 random bits, stored only as its
-- SHA-256. A slow password hash buys nothing for a secret that cannot be guessed, and would cost
-- every request a few milliseconds.
CREATE TABLE api_key (
  id            text PRIMARY KEY CHECK (id ~ '^[0-9a-z]{16}$'),
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  secret_sha256 bytea NOT NULL CHECK (length(secret_sha256) = 32),
  scopes        text[] NOT NULL CHECK (cardinality(scopes) > 0),
  -- Tenant isolation: NULL is no restriction; else the only assets (codes) or holders the key
  -- may read or move money on.
  assets        text[] CHECK (assets IS NULL OR cardinality(assets) > 0),
  holders       text[] CHECK (holders IS NULL OR cardinality(holders) > 0),
  created_at    timestamptz NOT NULL DEFAULT now(),
  -- Set by rotate (the old key's grace) or at creation; a key past it is refused.
  expires_at    timestamptz,
  revoked_at    timestamptz,
  -- The key that replaced this one (rotate), for the audit trail.
  replaced_by   text REFERENCES api_key (id)
);
