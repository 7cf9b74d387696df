-- gatewatch migration 003: the observed API inventory, per endpoint and minute, and a view
-- with one row per endpoint (first seen, last seen, volume) for shadow-API work.
CREATE TABLE IF NOT EXISTS api_inventory_1m
(
    minute            DateTime('UTC'),
    source            LowCardinality(String),
    partition         Int32,
    service           LowCardinality(String),
    method            LowCardinality(String),
    route_template    String,
    first_seen        DateTime('UTC'),
    last_seen         DateTime('UTC'),
    requests          UInt64,
    status_2xx        UInt64,
    status_3xx        UInt64,
    status_4xx        UInt64,
    status_5xx        UInt64,
    distinct_clients  UInt64,
    inserted_at       DateTime('UTC')
)
ENGINE = ReplacingMergeTree(inserted_at)
PARTITION BY toYYYYMM(minute)
ORDER BY (service, method, route_template, minute, source, partition);

CREATE VIEW IF NOT EXISTS api_inventory AS
SELECT
    service,
    method,
    route_template,
    min(first_seen) AS first_seen,
    max(last_seen) AS last_seen,
    sum(requests) AS requests,
    sum(status_4xx) AS status_4xx,
    sum(status_5xx) AS status_5xx
FROM api_inventory_1m FINAL
GROUP BY service, method, route_template;
