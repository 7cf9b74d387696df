-- gatewatch migration 001: alerts, one row per alert id.
-- Replays deliver the same alert again (same id, same content): ReplacingMergeTree keeps one.
-- Query with FINAL (or GROUP BY id) for exact counts before background merges run.
CREATE TABLE IF NOT EXISTS alerts
(
    id            String,
    rule_id       LowCardinality(String),
    title         String,
    severity      LowCardinality(String),
    severity_rank UInt8,
    entity_type   LowCardinality(String),
    entity        String,
    window_start  DateTime('UTC'),
    window_end    DateTime('UTC'),
    first_seen    DateTime('UTC'),
    last_seen     DateTime('UTC'),
    event_count   Int64,
    tags          Array(String),
    evidence      String,
    fields        String,
    inserted_at   DateTime('UTC')
)
ENGINE = ReplacingMergeTree(inserted_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (rule_id, window_start, entity, id);
