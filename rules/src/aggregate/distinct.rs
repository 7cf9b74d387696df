//! `count(DISTINCT x)` per group, with state that grows with distinct values, not rows.
//!
//! Values are hashed to 64 bits with a fixed seed and kept in one set of (group, hash) pairs
//! for all groups: about 16 bytes per distinct value per group, plus 8 per group. The partial
//! state of a group is the list of its hashes, so states of several panes merge exactly (a set
//! union). The count is exact up to 64-bit hash collisions within one group: with n distinct
//! values the probability of any is about n² / 2^65 (10⁻⁸ for a million values).

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int64Array, ListArray, UInt64Array};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, FieldRef, UInt64Type};
use datafusion::common::hash_utils::{create_hashes, QualityRandomState};
use datafusion::common::Result;
use datafusion::logical_expr::{EmitTo, GroupsAccumulator};

type Hasher = datafusion::common::hash_utils::RandomState;

/// The seed every distinct-count hash uses: the same in every process, so partial states from
/// different tasks or runs merge.
const SEED: QualityRandomState = QualityRandomState::with_seed(0x6761_7465_7761_7463);

/// The state field type: a list of value hashes.
pub fn state_type() -> DataType {
    DataType::List(item())
}

fn item() -> FieldRef {
    Arc::new(Field::new("item", DataType::UInt64, true))
}

/// Distinct values per group, by hash.
pub struct DistinctCount {
    counts: Vec<i64>,
    seen: HashSet<(u32, u64), Hasher>,
    hashes: Vec<u64>,
}

impl Default for DistinctCount {
    fn default() -> Self {
        DistinctCount {
            counts: Vec::new(),
            seen: HashSet::with_hasher(Hasher::with_seed(7)),
            hashes: Vec::new(),
        }
    }
}

impl DistinctCount {
    fn insert(&mut self, group: usize, hash: u64) {
        if self.seen.insert((group as u32, hash)) {
            self.counts[group] += 1;
        }
    }

    /// Removes the groups `emit_to` takes and returns their hashes, per group.
    fn take(&mut self, emit_to: EmitTo) -> Vec<Vec<u64>> {
        let n = match emit_to {
            EmitTo::All => self.counts.len(),
            EmitTo::First(n) => n.min(self.counts.len()),
        };
        let mut per_group: Vec<Vec<u64>> = vec![Vec::new(); n];
        let mut kept = HashSet::with_capacity_and_hasher(
            self.seen.len().saturating_sub(n),
            Hasher::with_seed(7),
        );
        for (g, h) in self.seen.drain() {
            let g = g as usize;
            if g < n {
                per_group[g].push(h);
            } else {
                kept.insert(((g - n) as u32, h));
            }
        }
        self.seen = kept;
        self.counts.drain(..n);
        for hashes in per_group.iter_mut() {
            hashes.sort_unstable();
        }
        per_group
    }
}

impl GroupsAccumulator for DistinctCount {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        if self.counts.len() < total_num_groups {
            self.counts.resize(total_num_groups, 0);
        }
        let array = &values[0];
        self.hashes.clear();
        self.hashes.resize(array.len(), 0);
        let mut hashes = std::mem::take(&mut self.hashes);
        create_hashes([array], &SEED, &mut hashes)?;
        for (row, &g) in group_indices.iter().enumerate() {
            if array.is_null(row) || opt_filter.is_some_and(|f| !(f.is_valid(row) && f.value(row)))
            {
                continue;
            }
            self.insert(g, hashes[row]);
        }
        self.hashes = hashes;
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let taken = self.take(emit_to);
        Ok(Arc::new(
            taken
                .iter()
                .map(|h| Some(h.len() as i64))
                .collect::<Int64Array>(),
        ))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let taken = self.take(emit_to);
        let lengths: Vec<usize> = taken.iter().map(Vec::len).collect();
        let flat: UInt64Array = taken.into_iter().flatten().map(Some).collect();
        Ok(vec![Arc::new(ListArray::new(
            item(),
            OffsetBuffer::from_lengths(lengths),
            Arc::new(flat),
            None,
        ))])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        if self.counts.len() < total_num_groups {
            self.counts.resize(total_num_groups, 0);
        }
        let lists = values[0].as_list::<i32>();
        for (row, &g) in group_indices.iter().enumerate() {
            if lists.is_valid(row) {
                let inner = lists.value(row);
                for h in inner.as_primitive::<UInt64Type>().iter().flatten() {
                    self.insert(g, h);
                }
            }
        }
        Ok(())
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let array = &values[0];
        let mut hashes = vec![0u64; array.len()];
        create_hashes([array], &SEED, &mut hashes)?;
        let mut lengths = Vec::with_capacity(array.len());
        let mut flat = Vec::with_capacity(array.len());
        for (row, h) in hashes.into_iter().enumerate() {
            let keep =
                !array.is_null(row) && opt_filter.is_none_or(|f| f.is_valid(row) && f.value(row));
            if keep {
                flat.push(h);
                lengths.push(1);
            } else {
                lengths.push(0);
            }
        }
        Ok(vec![Arc::new(ListArray::new(
            item(),
            OffsetBuffer::from_lengths(lengths),
            Arc::new(UInt64Array::from(flat)),
            None,
        ))])
    }

    fn size(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.counts.capacity() * 8
            + self.seen.capacity() * 17
            + self.hashes.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::StringArray;

    fn count(acc: &mut DistinctCount) -> Vec<i64> {
        let a = acc.evaluate(EmitTo::All).unwrap();
        a.as_primitive::<arrow::datatypes::Int64Type>()
            .values()
            .to_vec()
    }

    #[test]
    fn counts_distinct_values_per_group_and_merges_states() {
        let vals: ArrayRef = Arc::new(StringArray::from(vec![
            Some("a"),
            Some("b"),
            Some("a"),
            None,
            Some("c"),
            Some("a"),
        ]));
        let groups = [0, 0, 0, 0, 1, 1];
        let mut one = DistinctCount::default();
        one.update_batch(std::slice::from_ref(&vals), &groups, None, 2)
            .unwrap();
        let mut pane = DistinctCount::default();
        pane.update_batch(&[vals], &groups, None, 2).unwrap();
        let state = pane.state(EmitTo::All).unwrap();
        // Merging the same values again changes nothing: a set union.
        one.merge_batch(&state, &[0, 1], 2).unwrap();
        assert_eq!(count(&mut one), [2, 2]);
    }

    #[test]
    fn emitting_the_first_groups_renumbers_the_rest() {
        let vals: ArrayRef = Arc::new(StringArray::from(vec!["x", "y", "z", "z"]));
        let mut acc = DistinctCount::default();
        acc.update_batch(&[vals], &[0, 1, 2, 2], None, 3).unwrap();
        let first = acc.evaluate(EmitTo::First(1)).unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(count(&mut acc), [1, 1]);
    }
}
