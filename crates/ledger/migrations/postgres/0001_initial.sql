-- Schema version 1 of a PostgreSQL ledger (issue 14). Applied by `migrate` in one
-- transaction, under the schema advisory lock, with its row in ledger_schema.
--
-- Text columns that are keys are COLLATE "C": byte order, equal to sled's, and an index that
-- no locale (libc/ICU) upgrade can silently reorder.

-- The raw inputs, each once, by the SHA-256 of its bytes: zstd-compressed (level 3) by the
-- writer, so the column's own compression is off (EXTERNAL: out of line, not compressed again).
CREATE TABLE raw (
    sha256 bytea PRIMARY KEY CHECK (length(sha256) = 32),
    size bigint NOT NULL CHECK (size >= 0),
    zstd bytea NOT NULL
);
ALTER TABLE raw ALTER COLUMN zstd SET STORAGE EXTERNAL;

-- The log: one row per event, never updated or deleted. `stored` is the event's stored form
-- (a LEVT envelope, ledger_event::stored); the other columns are what the indexes and the
-- de-duplication need, copied out of it by the writer.
CREATE TABLE events (
    seq bigint PRIMARY KEY CHECK (seq > 0),
    stored bytea NOT NULL,
    order_id text COLLATE "C",
    domain text COLLATE "C",
    dedup_key bytea NOT NULL CHECK (length(dedup_key) = 32),
    own_time timestamptz,
    raw_sha bytea NOT NULL REFERENCES raw (sha256)
);
CREATE INDEX events_order_id ON events (order_id, seq) WHERE order_id IS NOT NULL;
CREATE INDEX events_domain ON events (domain, seq) WHERE domain IS NOT NULL;
CREATE INDEX events_dedup_key ON events (dedup_key);

-- The quarantine: inputs that did not parse or failed the trust policy. `record` is the
-- engine's record (origin, reason, times, dismissal); the raw bytes are in `raw`. The
-- response columns are the record_response context (NULL ctid: an ingested item), kept
-- apart so a delivery of the same rejected input finds its entry by (raw_sha, context).
CREATE TABLE quarantine (
    id bigint PRIMARY KEY CHECK (id > 0),
    raw_sha bytea NOT NULL REFERENCES raw (sha256),
    response_ctid text COLLATE "C",
    response_command text COLLATE "C",
    response_domain text COLLATE "C",
    record bytea NOT NULL,
    CHECK (response_ctid IS NOT NULL OR (response_command IS NULL AND response_domain IS NULL))
);
CREATE INDEX quarantine_raw_sha ON quarantine (raw_sha, id);

-- The projections' records: a projection is a pinned id, its records bincode bytes under
-- byte keys (prefix scans are key ranges).
CREATE TABLE views (
    projection smallint NOT NULL CHECK (projection >= 0),
    key bytea NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (projection, key)
);

-- One row: the counters every writer takes under FOR UPDATE (the seq lock), the last seq the
-- views hold, the shape of the views' records, and what a sled ledger keeps in files beside
-- its databases (the trust policy).
CREATE TABLE ledger_meta (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    next_seq bigint NOT NULL CHECK (next_seq > 0),
    next_quarantine bigint NOT NULL CHECK (next_quarantine > 0),
    checkpoint bigint NOT NULL CHECK (checkpoint >= 0),
    views_version integer NOT NULL DEFAULT 0,
    trust_policy text,
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO ledger_meta (next_seq, next_quarantine, checkpoint) VALUES (1, 1, 0);
