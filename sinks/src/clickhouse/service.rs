//! The ClickHouse destination: migrations before the first insert, then batched inserts
//! into the three tables.

use std::time::Duration;

use clickhouse::Client;

use super::config::ClickHouseTarget;
use super::encoder::{secs, Rows};
use super::health::migrate;
use crate::spool::{now_ms, Spooled};
use crate::spooled::{Destination, SendError};

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
        let rows = Rows::encode(records.iter().map(|r| &r.record), secs(now_ms()));
        // A retry re-inserts tables that had succeeded: ReplacingMergeTree keeps one copy.
        self.insert("alerts", &rows.alerts).await?;
        self.insert("entity_stats_1m", &rows.entities).await?;
        self.insert("api_inventory_1m", &rows.endpoints).await
    }
}
