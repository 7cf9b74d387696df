-- gatewatch migration 002: per-minute traffic of each client address to each endpoint.
-- Rows are keyed by source partition as well: each partition has one owner at a time and is
-- replayed from a commit point before any open minute, so a recomputed row is identical and
-- ReplacingMergeTree keeps one. Sum over partitions in queries (they split traffic, not rows).
CREATE TABLE IF NOT EXISTS entity_stats_1m
(
    minute          DateTime('UTC'),
    source          LowCardinality(String),
    partition       Int32,
    entity          String,
    service         LowCardinality(String),
    route_template  String,
    method          LowCardinality(String),
    requests        UInt64,
    failures        UInt64,
    auth_failures   UInt64,
    server_errors   UInt64,
    bytes_sent      UInt64,
    distinct_paths  UInt64,
    inserted_at     DateTime('UTC')
)
ENGINE = ReplacingMergeTree(inserted_at)
PARTITION BY toYYYYMMDD(minute)
ORDER BY (minute, entity, service, route_template, method, source, partition)
TTL minute + INTERVAL 30 DAY
;
