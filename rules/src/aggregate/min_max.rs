//! `min` and `max` of a text column, per group. The pack keeps `max(user_agent)` and
//! `max(consumer_username)` for the alert in nine rules, several on nearly every row.
//! DataFusion's accumulator finds each batch's best value per group through a SipHash map of
//! group to row (~140 instructions a row); here each row is compared with its group's value in
//! place, and the value is replaced (its buffer reused) only when the row's is better. Rows
//! rarely improve on their group (a client repeats its user agent); increasing values, the
//! worst case, cost a copy each, bounded by the row.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, StringArray};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{EmitTo, GroupsAccumulator};

/// The smallest (`max: false`) or largest text value per group, NULLs ignored, as SQL's `min`
/// and `max` order text: by bytes.
#[derive(Debug, Default)]
pub struct TextMinMax {
    max: bool,
    values: Vec<Option<String>>,
    /// Heap bytes of the values (their capacities).
    heap: usize,
}

impl TextMinMax {
    /// `max` when `max`, else `min`.
    pub fn new(max: bool) -> TextMinMax {
        TextMinMax {
            max,
            ..Default::default()
        }
    }

    fn emit(&mut self, emit_to: EmitTo) -> ArrayRef {
        let taken = emit_to.take_needed(&mut self.values);
        let freed: usize = taken.iter().flatten().map(String::capacity).sum();
        self.heap = self.heap.saturating_sub(freed);
        Arc::new(taken.into_iter().collect::<StringArray>())
    }
}

fn text_arg(values: &[ArrayRef]) -> Result<&StringArray> {
    values
        .first()
        .and_then(|a| a.as_string_opt::<i32>())
        .ok_or_else(|| DataFusionError::Internal("text min/max of a non-text argument".into()))
}

impl GroupsAccumulator for TextMinMax {
    /// Folds `values[0]` (text) into the groups: each counted, non-NULL row replaces its
    /// group's value when better.
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        let text = text_arg(values)?;
        if self.values.len() < total_num_groups {
            self.values.resize(total_num_groups, None);
        }
        for (row, &g) in group_indices.iter().enumerate() {
            if text.is_null(row) || !super::counted(opt_filter, row) {
                continue;
            }
            let v = text.value(row);
            let slot = self.values.get_mut(g).ok_or_else(|| {
                DataFusionError::Internal(format!("group {g} of {total_num_groups}"))
            })?;
            match slot {
                None => {
                    let owned = v.to_owned();
                    self.heap += owned.capacity();
                    *slot = Some(owned);
                }
                Some(cur) => {
                    let better = if self.max {
                        v > cur.as_str()
                    } else {
                        v < cur.as_str()
                    };
                    if better {
                        let before = cur.capacity();
                        cur.clear();
                        cur.push_str(v);
                        self.heap = self.heap + cur.capacity() - before;
                    }
                }
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        Ok(self.emit(emit_to))
    }

    /// The state is the value itself, as DataFusion's `min`/`max` state of text is.
    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        Ok(vec![self.emit(emit_to)])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.update_batch(values, group_indices, None, total_num_groups)
    }

    /// Each row's state: its value, NULL where the filter does not count it.
    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let text = text_arg(values)?;
        let state: StringArray = (0..text.len())
            .map(|row| {
                (text.is_valid(row) && super::counted(opt_filter, row)).then(|| text.value(row))
            })
            .collect();
        Ok(vec![Arc::new(state)])
    }

    fn size(&self) -> usize {
        self.values.capacity() * std::mem::size_of::<Option<String>>() + self.heap
    }
}

#[cfg(test)]
mod tests;
