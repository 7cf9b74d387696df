//! A rule's window query, planned once at load into a DataFusion physical plan.
//!
//! The plan reads table `events`; closing a window runs it over that window's rows by swapping
//! the plan's in-memory scan for one holding the rows, so the same plan serves any number of
//! tasks on any number of threads at once (nothing is shared but the immutable plan). DataFusion
//! drives its operators through futures: each thread blocks on them with a small current-thread
//! runtime of its own, created once per thread.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::physical_plan::{collect, ExecutionPlan};

thread_local! {
    static RUNTIME: Option<tokio::runtime::Runtime> =
        tokio::runtime::Builder::new_current_thread().build().ok();
}

/// Runs a future to completion on this thread's runtime. Must not be called from inside
/// another tokio runtime.
pub fn block_on<F: std::future::Future>(f: F) -> Result<F::Output> {
    RUNTIME.with(|rt| match rt {
        Some(rt) => Ok(rt.block_on(f)),
        None => Err(DataFusionError::Execution(
            "cannot start a runtime for the rule's query".into(),
        )),
    })
}

/// A physical plan over table `events`, ready to run on any rows.
#[derive(Debug, Clone)]
pub struct WindowPlan {
    plan: Arc<dyn ExecutionPlan>,
    task: Arc<TaskContext>,
    /// Schema of the rows the plan scans.
    pub input: SchemaRef,
}

impl WindowPlan {
    /// Wraps a plan whose only leaf is an in-memory scan of `input`.
    pub fn new(plan: Arc<dyn ExecutionPlan>, task: Arc<TaskContext>, input: SchemaRef) -> Self {
        WindowPlan { plan, task, input }
    }

    /// The plan's output schema.
    pub fn schema(&self) -> SchemaRef {
        self.plan.schema()
    }

    /// Runs the plan over `rows` (batches of the input schema).
    ///
    /// Every operator is rebuilt with its run-time state reset: a hash join keeps the table it
    /// built from its first input across `with_new_children` (DataFusion's `reset_state`), so
    /// a plan run again would join the new window's rows against the first window's (a join
    /// rule alerted in its first window only).
    pub fn run(&self, rows: Vec<RecordBatch>) -> Result<Vec<RecordBatch>> {
        let rows = Arc::new(rows);
        let plan = self
            .plan
            .clone()
            .transform_up(|node| {
                let Some(scan) = node.downcast_ref::<DataSourceExec>() else {
                    return Ok(Transformed::yes(node.reset_state()?));
                };
                let Some(memory) = scan.data_source().downcast_ref::<MemorySourceConfig>() else {
                    return Ok(Transformed::no(node));
                };
                let fresh = MemorySourceConfig::try_new_exec(
                    &[rows.as_ref().clone()],
                    memory.original_schema(),
                    memory.projection().clone(),
                )?;
                Ok(Transformed::yes(fresh as Arc<dyn ExecutionPlan>))
            })?
            .data;
        let task = self.task.clone();
        block_on(collect(plan, task))?
    }
}
