//! `count(DISTINCT x)` per group, with state that grows with distinct values, not rows.
//!
//! Values are hashed to 64 bits with a fixed seed. Each group keeps its first three distinct
//! hashes in place (32 bytes per group: most entities of a counting rule show one to three
//! values in a window), up to 32 in a list of its own (8 to 16 bytes per value) and more in a
//! set of its own (about 9 to 18 bytes per value). The partial state of a group is the list of
//! its hashes, so states of several panes merge exactly (a set union). The count is exact up
//! to 64-bit hash collisions within one group: with n distinct values the probability of any
//! is about n² / 2^65 (10⁻⁸ for a million values).

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int64Array, ListArray, UInt64Array};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, FieldRef, UInt64Type};
use datafusion::common::hash_utils::{create_hashes, QualityRandomState};
use datafusion::common::Result;
use datafusion::logical_expr::{EmitTo, GroupsAccumulator};

/// The hasher of a group's set: seeded per set. The hashes it holds are fixed (states from
/// several panes and instances must agree), so a fixed table seed would let values chosen
/// offline pile into the same buckets of every set.
type Hasher = foldhash::fast::RandomState;

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

/// Distinct hashes kept in place before a group gets a list of its own.
const INLINE: usize = 3;
/// Distinct hashes kept in a group's list (searched one by one) before it gets a set.
const LIST: usize = 32;

/// The distinct hashes of one group.
#[derive(Debug, Clone)]
enum Hashes {
    /// Up to [`INLINE`], in place.
    Inline { len: u8, vals: [u64; INLINE] },
    /// Up to [`LIST`], in a list: a few more values cost 8 bytes each, not a hash table.
    List(Vec<u64>),
    /// More, in a set: boxed, so that every group's slot stays 32 bytes (an unboxed set would
    /// make every slot, spilled or not, the set's size).
    #[allow(clippy::box_collection)]
    Set(Box<HashSet<u64, Hasher>>),
}

impl Default for Hashes {
    fn default() -> Self {
        Hashes::Inline {
            len: 0,
            vals: [0; INLINE],
        }
    }
}

impl Hashes {
    fn insert(&mut self, hash: u64) {
        match self {
            Hashes::Inline { len, vals } => {
                let n = usize::from(*len);
                if vals[..n].contains(&hash) {
                    return;
                }
                if n < INLINE {
                    vals[n] = hash;
                    *len += 1;
                    return;
                }
                let mut list = Vec::with_capacity(INLINE + 1);
                list.extend_from_slice(vals);
                list.push(hash);
                *self = Hashes::List(list);
            }
            Hashes::List(list) => {
                if list.contains(&hash) {
                    return;
                }
                if list.len() < LIST {
                    list.push(hash);
                    return;
                }
                let mut set = HashSet::with_capacity_and_hasher(2 * LIST, Hasher::default());
                set.extend(list.iter().copied());
                set.insert(hash);
                *self = Hashes::Set(Box::new(set));
            }
            Hashes::Set(set) => {
                set.insert(hash);
            }
        }
    }

    fn len(&self) -> usize {
        match self {
            Hashes::Inline { len, .. } => usize::from(*len),
            Hashes::List(list) => list.len(),
            Hashes::Set(set) => set.len(),
        }
    }

    /// Bytes held outside the group's slot.
    fn heap_bytes(&self) -> usize {
        match self {
            Hashes::Inline { .. } => 0,
            Hashes::List(list) => list.capacity() * 8,
            Hashes::Set(set) => std::mem::size_of::<HashSet<u64, Hasher>>() + set.capacity() * 9,
        }
    }

    fn into_sorted(self) -> Vec<u64> {
        let mut out: Vec<u64> = match self {
            Hashes::Inline { len, vals } => vals[..usize::from(len)].to_vec(),
            Hashes::List(list) => list,
            Hashes::Set(set) => set.into_iter().collect(),
        };
        out.sort_unstable();
        out
    }
}

/// Distinct values per group, by hash.
#[derive(Default)]
pub struct DistinctCount {
    groups: Vec<Hashes>,
    /// Bytes of the groups' own lists and sets.
    heap: usize,
    hashes: Vec<u64>,
}

impl DistinctCount {
    fn grow(&mut self, total_num_groups: usize) {
        if self.groups.len() < total_num_groups {
            self.groups.resize_with(total_num_groups, Hashes::default);
        }
    }

    fn insert(&mut self, group: usize, hash: u64) {
        let g = &mut self.groups[group];
        let before = g.heap_bytes();
        g.insert(hash);
        self.heap = self.heap + g.heap_bytes() - before;
    }

    /// The groups `emit_to` names, taken out (the rest renumbered from 0).
    fn take(&mut self, emit_to: EmitTo) -> Vec<Hashes> {
        let n = match emit_to {
            EmitTo::All => self.groups.len(),
            EmitTo::First(n) => n.min(self.groups.len()),
        };
        let taken: Vec<Hashes> = self.groups.drain(..n).collect();
        let freed: usize = taken.iter().map(Hashes::heap_bytes).sum();
        self.heap = self.heap.saturating_sub(freed);
        taken
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
        self.grow(total_num_groups);
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
        let taken: Vec<Vec<u64>> = self
            .take(emit_to)
            .into_iter()
            .map(Hashes::into_sorted)
            .collect();
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
        self.grow(total_num_groups);
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
            + self.groups.capacity() * std::mem::size_of::<Hashes>()
            + self.heap
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

    #[test]
    fn a_group_past_three_values_gets_a_list_then_a_set_and_gives_them_back() {
        assert_eq!(std::mem::size_of::<Hashes>(), 32);
        let many: Vec<String> = (0..40).map(|i| format!("user{i}")).collect();
        let mut vals: Vec<&str> = many.iter().map(String::as_str).collect();
        vals.extend(["user3", "user7", "solo"]);
        let mut groups = vec![0usize; 42];
        groups.push(1);
        let arr: ArrayRef = Arc::new(StringArray::from(vals));
        let mut acc = DistinctCount::default();
        acc.update_batch(std::slice::from_ref(&arr), &groups, None, 2)
            .unwrap();
        let inline_only = std::mem::size_of::<DistinctCount>()
            + acc.groups.capacity() * std::mem::size_of::<Hashes>()
            + acc.hashes.capacity() * 8;
        assert!(acc.size() > inline_only, "the spilled set is counted");
        // A pane's state merged into another window: same counts, the set survives the trip.
        let state = acc.state(EmitTo::All).unwrap();
        assert_eq!(acc.size(), inline_only, "taking the state frees the set");
        let mut window = DistinctCount::default();
        window.merge_batch(&state, &[0, 1], 2).unwrap();
        window.merge_batch(&state, &[0, 1], 2).unwrap();
        let first = window.evaluate(EmitTo::First(1)).unwrap();
        assert_eq!(
            first.as_primitive::<arrow::datatypes::Int64Type>().values(),
            &[40]
        );
        assert_eq!(count(&mut window), [1]);
    }

    /// Two groups' sets hash the same value hash into unrelated buckets (seeded per set).
    #[test]
    fn spilled_sets_are_seeded_per_set() {
        use std::hash::BuildHasher;
        let spilled = || {
            let mut h = Hashes::default();
            (0..=LIST as u64).for_each(|v| h.insert(v));
            match h {
                Hashes::Set(set) => set,
                other => panic!("not spilled: {other:?}"),
            }
        };
        let (a, b) = (spilled(), spilled());
        assert_ne!(a.hasher().hash_one(7u64), b.hasher().hash_one(7u64));
    }

    #[test]
    fn every_tier_counts_the_same_as_a_set() {
        // 0..=40 distinct values per group, each sent twice: inline, list and set tiers.
        let mut vals = Vec::new();
        let mut groups = Vec::new();
        for g in 0..=40usize {
            for _ in 0..2 {
                for v in 0..g {
                    vals.push(format!("g{g}v{v}"));
                    groups.push(g);
                }
            }
        }
        let arr: ArrayRef = Arc::new(StringArray::from(vals));
        let mut acc = DistinctCount::default();
        acc.update_batch(&[arr], &groups, None, 41).unwrap();
        assert_eq!(count(&mut acc), (0..=40).collect::<Vec<i64>>());
    }
}
