//! Health: whether the server accepts the configuration (credentials, rights, names), told
//! apart from an outage, and the migrations that run before the first insert.

use std::time::Duration;

use super::config::ClickHouseTarget;
use super::schema::{statements, SchemaPath, MIGRATIONS};
use crate::spooled::SendError;

/// Asks the server, waiting at most `wait`, whether it accepts the configuration: runs the
/// migrations once. A refusal (see [`PERMANENT_CODES`]) is an error now, instead of records
/// retried for `give_up_after`; an unreachable or silent server is only logged (the spool
/// absorbs outages).
pub fn probe(target: &ClickHouseTarget, wait: Duration) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    match rt.block_on(async { tokio::time::timeout(wait, migrate(target)).await }) {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) if !e.retryable => Err(format!(
            "{} (ClickHouse refused the configuration: fix the URL, user, password or grants in [clickhouse] / --clickhouse; this is not retried)",
            e.reason
        )),
        Ok(Err(e)) => {
            tracing::warn!(sink = "clickhouse", "not reachable yet ({}); alerts are spooled until it is", e.reason);
            Ok(())
        }
        Err(_) => {
            tracing::warn!(sink = "clickhouse", "no answer within {wait:?}; alerts are spooled until it answers");
            Ok(())
        }
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

#[cfg(test)]
mod tests {
    use super::*;

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
