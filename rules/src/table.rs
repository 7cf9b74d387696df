//! The `events` table a rule's SQL reads: a DataFusion table whose rows are swapped for each
//! window. The SQL is planned once against it at load; closing a window only sets the rows.

use std::sync::{Arc, Mutex, PoisonError};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::Result;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;

/// An in-memory table whose contents are replaced per window.
#[derive(Debug)]
pub struct WindowTable {
    schema: SchemaRef,
    rows: Mutex<Vec<RecordBatch>>,
}

impl WindowTable {
    /// An empty table of this schema.
    pub fn new(schema: SchemaRef) -> Self {
        WindowTable {
            schema,
            rows: Mutex::new(Vec::new()),
        }
    }

    /// Replaces the rows; the batches must have the table's schema.
    pub fn set_rows(&self, batches: Vec<RecordBatch>) {
        *self.rows.lock().unwrap_or_else(PoisonError::into_inner) = batches;
    }
}

#[async_trait]
impl TableProvider for WindowTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let rows = self
            .rows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        Ok(MemorySourceConfig::try_new_exec(
            &[rows],
            self.schema.clone(),
            projection.cloned(),
        )?)
    }
}
