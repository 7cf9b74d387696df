//! The state of one pane of one rule: per-group partial aggregates (or the raw rows for a rule
//! whose query has no split, see `gatewatch_rules::aggregate`), what it saw of each entity
//! (see [`crate::evidence`]), the lowest offset it holds per partition, and what it costs.

use std::collections::BTreeMap;

use arrow::array::RecordBatch;
use gatewatch_ingest::TopicPartition;
use gatewatch_rules::aggregate::{AggPlan, AggState, Answers};

use crate::error::EngineError;
use crate::evidence::Evidence;

/// How a pane holds its rows.
pub enum PaneData {
    /// The rows themselves (rules whose query cannot be split).
    Rows(Vec<RecordBatch>),
    /// Partial aggregates: the state accumulating now, and states sealed earlier (a sliding
    /// window's pane is sealed each time one of its windows closes, and may still grow after).
    Agg {
        /// Accumulating state.
        state: AggState,
        /// States taken out for windows already merged, kept for the windows still to close.
        sealed: Vec<RecordBatch>,
    },
}

/// One pane of one rule.
pub struct Pane {
    /// Its rows or aggregates.
    pub data: PaneData,
    /// Rows folded in.
    pub rows: usize,
    /// Per entity: counts, times, evidence.
    pub evidence: Evidence,
    /// Lowest source offset held, per partition: what the commit point must not pass.
    pub min_offset: BTreeMap<TopicPartition, i64>,
    bytes_data: usize,
    /// Of `bytes_data`, what aggregates that keep every value hold.
    bytes_kept_values: usize,
}

impl Pane {
    /// An empty pane: aggregates when the rule has an [`AggPlan`], else rows.
    pub fn new(agg: Option<&AggPlan>) -> Result<Self, EngineError> {
        let data = match agg {
            Some(plan) => PaneData::Agg {
                state: plan
                    .new_state()
                    .map_err(|e| EngineError::Internal(e.to_string()))?,
                sealed: Vec::new(),
            },
            None => PaneData::Rows(Vec::new()),
        };
        Ok(Pane {
            data,
            rows: 0,
            evidence: Evidence::default(),
            min_offset: BTreeMap::new(),
            bytes_data: 0,
            bytes_kept_values: 0,
        })
    }

    /// An empty raw-row pane (infallible).
    pub fn empty_rows() -> Self {
        Pane {
            data: PaneData::Rows(Vec::new()),
            rows: 0,
            evidence: Evidence::default(),
            min_offset: BTreeMap::new(),
            bytes_data: 0,
            bytes_kept_values: 0,
        }
    }

    /// Bytes held (approximate but not shared with anything else).
    pub fn bytes(&self) -> usize {
        self.bytes_data + self.evidence.bytes()
    }

    /// Of [`Pane::bytes`], the values kept by aggregates that need every value
    /// (`longest_id_run`, `interarrival_cv`) in the accumulating state.
    pub fn kept_values_bytes(&self) -> usize {
        self.bytes_kept_values
    }

    /// Groups (entities) tracked.
    pub fn groups(&self) -> usize {
        self.evidence.entities()
    }

    /// Notes the lowest offset of rows just added from `upstream`.
    pub fn hold(&mut self, upstream: &TopicPartition, min_offset: i64) {
        self.min_offset
            .entry(upstream.clone())
            .and_modify(|o| *o = (*o).min(min_offset))
            .or_insert(min_offset);
    }

    /// Adds raw rows (a compact batch of the rule's columns) to a raw-row pane.
    pub fn add_rows(&mut self, rows: RecordBatch) -> Result<(), EngineError> {
        let PaneData::Rows(batches) = &mut self.data else {
            return Err(EngineError::Internal(
                "raw rows added to an aggregate pane".into(),
            ));
        };
        self.rows += rows.num_rows();
        self.bytes_data += rows.get_array_memory_size();
        batches.push(rows);
        Ok(())
    }

    /// Folds `pre` (the aggregate's input, from [`AggPlan::prepare`], out of `rows` rows that
    /// passed the rule's filter) into an aggregate pane, with the batch's answered inputs where
    /// they were computed upstream.
    pub fn add_aggregated(
        &mut self,
        plan: &AggPlan,
        rows: usize,
        pre: &RecordBatch,
        answers: Option<&Answers<'_>>,
    ) -> Result<(), EngineError> {
        let PaneData::Agg { state, sealed } = &mut self.data else {
            return Err(EngineError::Internal(
                "aggregate input added to a raw-row pane".into(),
            ));
        };
        self.rows += rows;
        state
            .update(plan, pre, answers)
            .map_err(|e| EngineError::Internal(e.to_string()))?;
        self.bytes_kept_values = state.kept_values_size(plan);
        self.bytes_data = state.size()
            + sealed
                .iter()
                .map(RecordBatch::get_array_memory_size)
                .sum::<usize>();
        Ok(())
    }

    /// The raw rows of a raw-row pane.
    pub fn batches(&self) -> &[RecordBatch] {
        match &self.data {
            PaneData::Rows(b) => b,
            PaneData::Agg { .. } => &[],
        }
    }

    /// Takes the accumulating state out as a state batch kept for merging (sliding windows).
    pub fn seal(&mut self, plan: &AggPlan) -> Result<(), EngineError> {
        if let PaneData::Agg { state, sealed } = &mut self.data {
            if !state.is_empty() {
                let batch = state
                    .take_state(plan)
                    .map_err(|e| EngineError::Internal(e.to_string()))?;
                sealed.push(batch);
            }
            self.bytes_kept_values = state.kept_values_size(plan);
            self.bytes_data = state.size()
                + sealed
                    .iter()
                    .map(RecordBatch::get_array_memory_size)
                    .sum::<usize>();
        }
        Ok(())
    }
}
