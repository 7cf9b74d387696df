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
//!
//! One folder, Vector's shape: [`config`] (the `[clickhouse]` table and its checks), `encoder`
//! (records as rows), `service` (the destination), `health` (configuration errors told apart
//! from outages; migrations) and `schema` (the shipped SQL).

pub mod config;
mod encoder;
mod health;
mod schema;
mod service;

pub use config::{ClickHouseConfig, ClickHouseTarget};
pub use health::{classify, migrate, probe};
pub use schema::{statements, SchemaPath, MIGRATIONS};
pub use service::ClickHouseDestination;
