//! ClickHouse tables: alerts, per-minute entity statistics and the observed API inventory.
//!
//! The schema lives in `deploy/clickhouse/NNN_name.sql` and is applied at start-up, in order,
//! recording each version in `gatewatch_schema_migrations`: idempotent (every statement is
//! `IF NOT EXISTS`) and versioned (a migration runs once per database).
//!
//! The files are written for current ClickHouse (23.x–26.x). Servers older than 21.8 (such
//! as Debian's 18.16) take the *legacy* path: `LowCardinality(String)` becomes `String` and
//! `TTL` clauses are dropped, the only two features the schema uses that they lack. Which
//! path was taken is logged at start-up. Inserts use RowBinary without the client's schema
//! validation, which old servers cannot answer; every column is sent as `String`, integers
//! or `DateTime` (epoch seconds), which all versions read the same way.

use std::time::Duration;

use clickhouse::{Client, Row};
use serde::Serialize;

use crate::route::severity_rank;
use crate::spool::{now_ms, Record, Spooled};
use crate::spooled::{Destination, SendError};

/// The shipped migrations, in order.
pub const MIGRATIONS: &[(u32, &str, &str)] = &[
    (
        1,
        "alerts",
        include_str!("../../deploy/clickhouse/001_alerts.sql"),
    ),
    (
        2,
        "entity_stats",
        include_str!("../../deploy/clickhouse/002_entity_stats.sql"),
    ),
    (
        3,
        "api_inventory",
        include_str!("../../deploy/clickhouse/003_api_inventory.sql"),
    ),
];

/// Which dialect of the schema a server gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaPath {
    /// `LowCardinality` and `TTL` (ClickHouse 21.8 and later).
    Modern,
    /// The common subset for old servers.
    Legacy,
}

impl SchemaPath {
    /// The path for a server reporting `version` (e.g. `18.16.1`, `24.8.4.13`).
    pub fn for_version(version: &str) -> SchemaPath {
        let mut it = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        let (major, minor) = (it.next().unwrap_or(0), it.next().unwrap_or(0));
        if (major, minor) >= (21, 8) {
            SchemaPath::Modern
        } else {
            SchemaPath::Legacy
        }
    }
}

/// The statements of a migration file for a schema path: comments dropped, split on `;`.
pub fn statements(sql: &str, path: SchemaPath) -> Vec<String> {
    let mut text = String::new();
    for line in sql.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("--") {
            continue;
        }
        if path == SchemaPath::Legacy && trimmed.starts_with("TTL ") {
            if trimmed.trim_end().ends_with(';') {
                text.push_str(";\n");
            }
            continue;
        }
        text.push_str(line);
        text.push('\n');
    }
    if path == SchemaPath::Legacy {
        text = text.replace("LowCardinality(String)", "String");
    }
    text.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Where and how to connect.
#[derive(Clone)]
pub struct ClickHouseTarget {
    /// `http(s)://host:port` without credentials or path.
    pub endpoint: String,
    /// Database (created if missing).
    pub database: String,
    /// User, if not `default`.
    pub user: Option<String>,
    /// Password (a secret: never logged).
    pub password: Option<String>,
}

impl std::fmt::Debug for ClickHouseTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClickHouseTarget")
            .field("endpoint", &self.endpoint)
            .field("database", &self.database)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

impl ClickHouseTarget {
    /// Parses `http://[user[:password]@]host:port[/database]` (database `gatewatch` if none).
    pub fn parse(url: &str) -> Result<ClickHouseTarget, String> {
        let (scheme, rest) = url
            .split_once("://")
            .filter(|(s, _)| *s == "http" || *s == "https")
            .ok_or_else(|| {
                "expected http://HOST:PORT/DATABASE (or https://), e.g. http://127.0.0.1:8123/gatewatch".to_owned()
            })?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (creds, host) = match authority.rsplit_once('@') {
            Some((c, h)) => (Some(c), h),
            None => (None, authority),
        };
        if host.is_empty() {
            return Err("the URL has no host".into());
        }
        let (user, password) = match creds {
            Some(c) => match c.split_once(':') {
                Some((u, p)) => (Some(u.to_owned()), Some(p.to_owned())),
                None => (Some(c.to_owned()), None),
            },
            None => (None, None),
        };
        let database = path.trim_matches('/');
        let database = if database.is_empty() {
            "gatewatch"
        } else {
            database
        };
        if !database
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(format!(
                "database name {database:?}: use letters, digits and _"
            ));
        }
        Ok(ClickHouseTarget {
            endpoint: format!("{scheme}://{host}"),
            database: database.to_owned(),
            user,
            password,
        })
    }

    fn client(&self) -> Client {
        let mut c = Client::default()
            .with_url(&self.endpoint)
            // Old servers do not know the settings the client's validation queries use.
            .with_validation(false);
        if let Some(u) = &self.user {
            c = c.with_user(u);
        }
        if let Some(p) = &self.password {
            c = c.with_password(p);
        }
        c
    }
}

#[derive(Row, Serialize)]
struct AlertRow {
    id: String,
    rule_id: String,
    title: String,
    severity: String,
    severity_rank: u8,
    entity_type: String,
    entity: String,
    window_start: u32,
    window_end: u32,
    first_seen: u32,
    last_seen: u32,
    event_count: i64,
    tags: Vec<String>,
    evidence: String,
    fields: String,
    inserted_at: u32,
}

#[derive(Row, Serialize)]
struct EntityRow {
    minute: u32,
    source: String,
    partition: i32,
    entity: String,
    service: String,
    route_template: String,
    method: String,
    requests: u64,
    failures: u64,
    auth_failures: u64,
    server_errors: u64,
    bytes_sent: u64,
    distinct_paths: u64,
    inserted_at: u32,
}

#[derive(Row, Serialize)]
struct EndpointRow {
    minute: u32,
    source: String,
    partition: i32,
    service: String,
    method: String,
    route_template: String,
    first_seen: u32,
    last_seen: u32,
    requests: u64,
    status_2xx: u64,
    status_3xx: u64,
    status_4xx: u64,
    status_5xx: u64,
    distinct_clients: u64,
    inserted_at: u32,
}

fn secs(ms: i64) -> u32 {
    (ms.div_euclid(1000)).clamp(0, u32::MAX as i64) as u32
}

/// The ClickHouse destination.
pub struct ClickHouseDestination {
    target: ClickHouseTarget,
    client: Client,
    batch_rows: usize,
    linger: Duration,
    traffic: bool,
}

impl ClickHouseDestination {
    /// Inserts in batches of up to `batch_rows` rows, waiting up to `linger` to fill one;
    /// with `traffic`, statistics rows are stored too.
    pub fn new(
        target: ClickHouseTarget,
        batch_rows: usize,
        linger: Duration,
        traffic: bool,
    ) -> Self {
        let client = target.client().with_database(&target.database);
        ClickHouseDestination {
            target,
            client,
            batch_rows: batch_rows.max(1),
            linger,
            traffic,
        }
    }

    async fn insert<R: clickhouse::RowOwned + clickhouse::RowWrite>(
        &self,
        table: &str,
        rows: &[R],
    ) -> Result<(), SendError> {
        if rows.is_empty() {
            return Ok(());
        }
        let err =
            |e: clickhouse::error::Error| SendError::retry(format!("insert into {table}: {e}"));
        let mut insert = self.client.insert::<R>(table).await.map_err(err)?;
        for r in rows {
            insert.write(r).await.map_err(err)?;
        }
        insert.end().await.map_err(err)
    }
}

/// ClickHouse exception codes that retrying cannot fix: the credentials, the user's rights or
/// the names in the configuration are wrong (`UNKNOWN_TABLE`, `UNKNOWN_DATABASE`, `READONLY`,
/// `UNKNOWN_USER`, `WRONG_PASSWORD` (servers before 20.x), `REQUIRED_PASSWORD`,
/// `ACCESS_DENIED`, `AUTHENTICATION_FAILED`).
const PERMANENT_CODES: [u32; 8] = [60, 81, 164, 192, 193, 194, 497, 516];

/// The exception code of a ClickHouse error response (`Code: 516. DB::Exception: ...`).
fn exception_code(text: &str) -> Option<u32> {
    let rest = &text[text.find("Code: ")? + 6..];
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    rest[..end].parse().ok()
}

/// A failed set-up step as a [`SendError`]: permanent when ClickHouse says the configuration
/// is wrong (see [`PERMANENT_CODES`]), else worth retrying (network, server starting, ...).
pub fn classify(what: &str, e: clickhouse::error::Error) -> SendError {
    let text = format!("{what}: {e}");
    match &e {
        clickhouse::error::Error::BadResponse(r)
            if exception_code(r).is_some_and(|c| PERMANENT_CODES.contains(&c)) =>
        {
            SendError::permanent(text)
        }
        _ => SendError::retry(text),
    }
}

/// Applies the migrations not yet recorded; returns the schema path taken.
pub async fn migrate(target: &ClickHouseTarget) -> Result<SchemaPath, SendError> {
    let err = classify;
    let root = target.client();
    let version: String = root
        .query("SELECT version()")
        .fetch_one()
        .await
        .map_err(|e| err("connecting", e))?;
    let path = SchemaPath::for_version(&version);
    tracing::info!(
        server_version = %version,
        schema_path = ?path,
        database = %target.database,
        "ClickHouse connected; schema path {}",
        match path {
            SchemaPath::Modern => "modern (LowCardinality, TTL)",
            SchemaPath::Legacy => "legacy (server older than 21.8: String for LowCardinality, no TTL)",
        }
    );
    root.query(&format!(
        "CREATE DATABASE IF NOT EXISTS {}",
        target.database
    ))
    .execute()
    .await
    .map_err(|e| err("creating the database", e))?;
    let db = root.with_database(&target.database);
    db.query(
        "CREATE TABLE IF NOT EXISTS gatewatch_schema_migrations \
         (version UInt32, name String, applied_at DateTime) \
         ENGINE = ReplacingMergeTree ORDER BY version",
    )
    .execute()
    .await
    .map_err(|e| err("creating gatewatch_schema_migrations", e))?;
    let applied: Vec<u32> = db
        .query("SELECT version FROM gatewatch_schema_migrations")
        .fetch_all()
        .await
        .map_err(|e| err("reading gatewatch_schema_migrations", e))?;
    for (version, name, sql) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        for statement in statements(sql, path) {
            db.query(&statement)
                .execute()
                .await
                .map_err(|e| err(&format!("migration {version:03} {name}"), e))?;
        }
        db.query(&format!(
            "INSERT INTO gatewatch_schema_migrations (version, name, applied_at) VALUES ({version}, '{name}', now())"
        ))
        .execute()
        .await
        .map_err(|e| err("recording a migration", e))?;
        tracing::info!(version, name, "ClickHouse migration applied");
    }
    Ok(path)
}

impl Destination for ClickHouseDestination {
    fn batch_max(&self) -> usize {
        self.batch_rows
    }

    fn batch_linger(&self) -> Duration {
        self.linger
    }

    fn wants_traffic(&self) -> bool {
        self.traffic
    }

    async fn prepare(&mut self) -> Result<(), SendError> {
        migrate(&self.target).await.map(|_| ())
    }

    async fn send(&mut self, records: &[Spooled]) -> Result<(), SendError> {
        let now = secs(now_ms());
        let mut alerts = Vec::new();
        let mut entities = Vec::new();
        let mut endpoints = Vec::new();
        for r in records {
            match &r.record {
                Record::Alert(a) => alerts.push(AlertRow {
                    id: a.id.clone(),
                    rule_id: a.rule_id.clone(),
                    title: a.title.clone(),
                    severity: a.severity.clone(),
                    severity_rank: severity_rank(&a.severity),
                    entity_type: a.entity_type.clone(),
                    entity: a.entity.clone(),
                    window_start: secs(a.window_start),
                    window_end: secs(a.window_end),
                    first_seen: secs(a.first_seen),
                    last_seen: secs(a.last_seen),
                    event_count: a.event_count,
                    tags: a.tags.clone(),
                    evidence: serde_json::to_string(&a.evidence).unwrap_or_default(),
                    fields: serde_json::to_string(&a.fields).unwrap_or_default(),
                    inserted_at: now,
                }),
                Record::EntityMinute(e) => entities.push(EntityRow {
                    minute: secs(e.minute),
                    source: e.source.clone(),
                    partition: e.partition,
                    entity: e.entity.clone(),
                    service: e.service.clone(),
                    route_template: e.route_template.clone(),
                    method: e.method.clone(),
                    requests: e.requests,
                    failures: e.failures,
                    auth_failures: e.auth_failures,
                    server_errors: e.server_errors,
                    bytes_sent: e.bytes_sent,
                    distinct_paths: e.distinct_paths,
                    inserted_at: now,
                }),
                Record::EndpointMinute(e) => endpoints.push(EndpointRow {
                    minute: secs(e.minute),
                    source: e.source.clone(),
                    partition: e.partition,
                    service: e.service.clone(),
                    method: e.method.clone(),
                    route_template: e.route_template.clone(),
                    first_seen: secs(e.first_seen),
                    last_seen: secs(e.last_seen),
                    requests: e.requests,
                    status_2xx: e.status_2xx,
                    status_3xx: e.status_3xx,
                    status_4xx: e.status_4xx,
                    status_5xx: e.status_5xx,
                    distinct_clients: e.distinct_clients,
                    inserted_at: now,
                }),
            }
        }
        // A retry re-inserts tables that had succeeded: ReplacingMergeTree keeps one copy.
        self.insert("alerts", &alerts).await?;
        self.insert("entity_stats_1m", &entities).await?;
        self.insert("api_inventory_1m", &endpoints).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls_without_leaking_the_password() {
        let t = ClickHouseTarget::parse("http://soc:s3cret@127.0.0.1:8123/sec").expect("parse");
        assert_eq!(t.endpoint, "http://127.0.0.1:8123");
        assert_eq!(t.database, "sec");
        assert_eq!(t.user.as_deref(), Some("soc"));
        assert!(!format!("{t:?}").contains("s3cret"));
        assert_eq!(
            ClickHouseTarget::parse("http://h:1")
                .expect("parse")
                .database,
            "gatewatch"
        );
        assert!(ClickHouseTarget::parse("h:1").is_err());
        assert!(ClickHouseTarget::parse("http://h:1/a-b").is_err());
    }

    #[test]
    fn legacy_path_drops_ttl_and_low_cardinality() {
        assert_eq!(SchemaPath::for_version("18.16.1"), SchemaPath::Legacy);
        assert_eq!(SchemaPath::for_version("24.8.4.13"), SchemaPath::Modern);
        assert_eq!(SchemaPath::for_version("21.8.1"), SchemaPath::Modern);
        for (_, _, sql) in MIGRATIONS {
            let legacy = statements(sql, SchemaPath::Legacy).join(";");
            assert!(!legacy.contains("LowCardinality") && !legacy.contains("TTL"));
            let modern = statements(sql, SchemaPath::Modern);
            assert_eq!(modern.len(), statements(sql, SchemaPath::Legacy).len());
        }
        let stats = statements(MIGRATIONS[1].2, SchemaPath::Modern).join(";");
        assert!(stats.contains("TTL minute + INTERVAL 30 DAY"));
    }

    #[test]
    fn authentication_and_unknown_names_are_permanent_network_errors_are_not() {
        let bad = |text: &str| clickhouse::error::Error::BadResponse(text.to_owned());
        let auth = "Code: 516. DB::Exception: gw: Authentication failed: password is incorrect. (AUTHENTICATION_FAILED)";
        assert_eq!(exception_code(auth), Some(516));
        assert!(!classify("connecting", bad(auth)).retryable);
        let old = "Code: 193, e.displayText() = DB::Exception: Wrong password for user default";
        assert!(!classify("connecting", bad(old)).retryable);
        assert!(
            !classify(
                "insert",
                bad("Code: 60. DB::Exception: Table x doesn't exist")
            )
            .retryable
        );
        assert!(
            classify(
                "insert",
                bad("Code: 241. DB::Exception: Memory limit exceeded")
            )
            .retryable
        );
        assert!(classify("connecting", bad("502 Bad Gateway")).retryable);
        assert!(classify("connecting", clickhouse::error::Error::TimedOut).retryable);
    }
}
