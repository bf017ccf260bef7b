-- Privacy officers' console sessions (PostgreSQL; keep in step with migrations/sqlite). A session
-- is what a privacy_officer token was exchanged for once: the cookie holds a random secret of
-- which only the SHA-256 is stored, bound to the client certificate that signed in. Shared by
-- every instance, so signing out ends the session everywhere at once.
CREATE TABLE console_sessions (
    id_hash     TEXT PRIMARY KEY,
    oin         TEXT NOT NULL,
    thumbprint  TEXT NOT NULL,
    claims      TEXT NOT NULL,
    csrf        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions(expires_at);
