//! `count(DISTINCT x)` per group, with state that grows with distinct values, not rows.
//!
//! Values are hashed to 64 bits with a fixed seed. Each group keeps its first three distinct
//! hashes in place (24 bytes per group: most entities of a counting rule show one to three
//! values in a window); a group with more gets a list, in a block of 4 to 32 hashes carved
//! from one buffer of the accumulator (8 to 16 bytes per value), then a set of its own (about
//! 9 to 18 bytes per value); its slot then says where. The partial state of a group is the
//! list of its hashes, so states of several panes merge exactly (a set union). The count is
//! exact up to 64-bit hash collisions within one group: with n distinct values the probability
//! of any is about n² / 2^65 (10⁻⁸ for a million values).

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
/// List sizes of spilled groups: blocks of 4, 8, 16 and 32 hashes (searched one by one); a
/// group with more gets a set.
const CLASSES: usize = 4;
/// The class of a spilled group held in a set.
const SET: usize = CLASSES;

/// Hashes in a list block of `class`.
fn block_len(class: usize) -> usize {
    (INLINE + 1) << class
}

/// An empty place in a [`Slot`].
const EMPTY: u64 = 0;
/// `slot[0]` of a spilled group; `slot[1]` is where its hashes are (a block's offset in
/// [`Pool::words`], or an index in [`Pool::sets`]), `slot[2]` their count and class
/// (`len | class << 32`).
const SPILLED: u64 = 1;

/// A value's hash as held: 0 and 1 mark an empty place and a spilled slot, so hashes 0 and 1
/// are counted as 2 and 3 (a collision chance of 2⁻⁶³ per value, beside the 2⁻⁶⁴ of any two
/// hashes). Idempotent, so merged states keep their hashes.
fn stored(hash: u64) -> u64 {
    if hash <= SPILLED {
        hash + 2
    } else {
        hash
    }
}

/// One group's hashes in place: up to [`INLINE`], [`EMPTY`] after the last; or a spilled
/// group's marker, place and count. 24 bytes: most groups never need more.
type Slot = [u64; INLINE];

/// Where the hashes of groups that outgrew their slot live: lists in blocks carved from one
/// buffer (no allocation or bookkeeping per group), sets boxed one per group.
#[derive(Default)]
struct Pool {
    words: Vec<u64>,
    /// Offsets of freed blocks, per class.
    free: [Vec<u64>; CLASSES],
    #[allow(clippy::box_collection)]
    sets: Vec<Option<Box<HashSet<u64, Hasher>>>>,
    free_sets: Vec<u64>,
    /// Bytes of the sets' own memory.
    set_bytes: usize,
    /// Spilled groups held: when none is left, the pool is let go.
    live: usize,
}

fn set_bytes(set: &HashSet<u64, Hasher>) -> usize {
    std::mem::size_of::<HashSet<u64, Hasher>>() + set.capacity() * 9
}

impl Pool {
    fn alloc(&mut self, class: usize) -> usize {
        if let Some(at) = self.free[class].pop() {
            return at as usize;
        }
        let at = self.words.len();
        self.words.resize(at + block_len(class), EMPTY);
        at
    }

    fn alloc_set(&mut self, set: HashSet<u64, Hasher>) -> usize {
        self.set_bytes += set_bytes(&set);
        let set = Some(Box::new(set));
        match self.free_sets.pop() {
            Some(at) => {
                self.sets[at as usize] = set;
                at as usize
            }
            None => {
                self.sets.push(set);
                self.sets.len() - 1
            }
        }
    }

    /// Adds `hash` to a spilled group's hashes; `slot` is updated if they move.
    fn insert(&mut self, slot: &mut Slot, hash: u64) {
        let at = slot[1] as usize;
        let (len, class) = ((slot[2] & 0xffff_ffff) as usize, (slot[2] >> 32) as usize);
        if class == SET {
            if let Some(set) = self.sets[at].as_mut() {
                let before = set_bytes(set);
                set.insert(hash);
                self.set_bytes = self.set_bytes + set_bytes(set) - before;
            }
            return;
        }
        if self.words[at..at + len].contains(&hash) {
            return;
        }
        if len < block_len(class) {
            self.words[at + len] = hash;
            slot[2] += 1;
            return;
        }
        self.free[class].push(at as u64);
        if class + 1 < CLASSES {
            let to = self.alloc(class + 1);
            self.words.copy_within(at..at + len, to);
            self.words[to + len] = hash;
            *slot = [
                SPILLED,
                to as u64,
                (len as u64 + 1) | ((class as u64 + 1) << 32),
            ];
        } else {
            let mut set = HashSet::with_capacity_and_hasher(2 * len, Hasher::default());
            set.extend(self.words[at..at + len].iter().copied());
            set.insert(hash);
            let to = self.alloc_set(set);
            *slot = [SPILLED, to as u64, (SET as u64) << 32];
        }
    }

    /// A group's first spill: its slot's hashes and `hash`.
    fn spill(&mut self, slot: &mut Slot, hash: u64) {
        let at = self.alloc(0);
        self.words[at..at + INLINE].copy_from_slice(slot);
        self.words[at + INLINE] = hash;
        *slot = [SPILLED, at as u64, INLINE as u64 + 1];
        self.live += 1;
    }

    /// Appends a spilled group's hashes to `out` and frees their place.
    fn take(&mut self, slot: &Slot, out: &mut Vec<u64>) {
        let at = slot[1] as usize;
        let (len, class) = ((slot[2] & 0xffff_ffff) as usize, (slot[2] >> 32) as usize);
        if class == SET {
            if let Some(set) = self.sets[at].take() {
                self.set_bytes = self.set_bytes.saturating_sub(set_bytes(&set));
                out.extend(set.iter().copied());
            }
            self.free_sets.push(at as u64);
        } else {
            out.extend_from_slice(&self.words[at..at + len]);
            self.free[class].push(at as u64);
        }
        self.live -= 1;
        if self.live == 0 {
            *self = Pool::default();
        }
    }

    fn size(&self) -> usize {
        let lists: usize = self.free.iter().map(Vec::capacity).sum();
        (self.words.capacity() + lists + self.sets.capacity() + self.free_sets.capacity()) * 8
            + self.set_bytes
    }
}

/// Distinct values per group, by hash.
#[derive(Default)]
pub struct DistinctCount {
    groups: Vec<Slot>,
    pool: Pool,
    hashes: Vec<u64>,
}

impl DistinctCount {
    fn grow(&mut self, total_num_groups: usize) {
        if self.groups.len() < total_num_groups {
            self.groups.resize(total_num_groups, [EMPTY; INLINE]);
        }
    }

    fn insert(&mut self, group: usize, hash: u64) {
        let hash = stored(hash);
        let slot = &mut self.groups[group];
        if slot[0] == SPILLED {
            return self.pool.insert(slot, hash);
        }
        for place in slot.iter_mut() {
            if *place == hash {
                return;
            }
            if *place == EMPTY {
                *place = hash;
                return;
            }
        }
        self.pool.spill(slot, hash);
    }

    /// Takes the groups `emit_to` names out (the rest renumbered from 0), handing each one's
    /// hashes to `each` in turn.
    fn drain(&mut self, emit_to: EmitTo, mut each: impl FnMut(&mut Vec<u64>)) {
        let n = match emit_to {
            EmitTo::All => self.groups.len(),
            EmitTo::First(n) => n.min(self.groups.len()),
        };
        let mut values = Vec::new();
        for slot in self.groups.drain(..n) {
            values.clear();
            if slot[0] == SPILLED {
                self.pool.take(&slot, &mut values);
            } else {
                values.extend(slot.iter().copied().take_while(|&h| h != EMPTY));
            }
            each(&mut values);
        }
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
            if array.is_null(row) || !super::counted(opt_filter, row) {
                continue;
            }
            self.insert(g, hashes[row]);
        }
        self.hashes = hashes;
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let mut counts = Vec::new();
        self.drain(emit_to, |values| counts.push(values.len() as i64));
        Ok(Arc::new(Int64Array::from(counts)))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let (mut lengths, mut flat) = (Vec::new(), Vec::new());
        self.drain(emit_to, |values| {
            values.sort_unstable();
            lengths.push(values.len());
            flat.extend_from_slice(values);
        });
        Ok(vec![Arc::new(ListArray::new(
            item(),
            OffsetBuffer::from_lengths(lengths),
            Arc::new(UInt64Array::from(flat)),
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
            let keep = !array.is_null(row) && super::counted(opt_filter, row);
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
            + self.groups.capacity() * std::mem::size_of::<Slot>()
            + self.pool.size()
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
        assert_eq!(std::mem::size_of::<Slot>(), 24);
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
            + acc.groups.capacity() * std::mem::size_of::<Slot>()
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
        let mut acc = DistinctCount::default();
        acc.grow(2);
        for g in 0..2 {
            (2..40u64).for_each(|v| acc.insert(g, v));
        }
        let [Some(a), Some(b)] = &acc.pool.sets[..] else {
            panic!("not two sets: {}", acc.pool.sets.len());
        };
        assert_ne!(a.hasher().hash_one(7u64), b.hasher().hash_one(7u64));
    }

    /// The two hashes that mark empty and spilled places are counted as other values, and a
    /// spilled group's block is reused once the group is emitted.
    #[test]
    fn marker_hashes_count_and_list_blocks_are_reused() {
        let mut acc = DistinctCount::default();
        acc.grow(3);
        for h in [EMPTY, SPILLED, 2, 3, 4, 5] {
            acc.insert(0, h);
        }
        (10..14).for_each(|h| acc.insert(1, h));
        acc.insert(2, EMPTY);
        let first = acc.evaluate(EmitTo::First(1)).unwrap();
        // 0 and 2 are one value, as are 1 and 3: {2, 3, 4, 5}.
        let first = first.as_primitive::<arrow::datatypes::Int64Type>();
        assert_eq!(first.values(), &[4]);
        assert_eq!((acc.pool.live, acc.pool.free[0].len()), (1, 1));
        // The groups left are renumbered 0 and 1; a new group 2 spills into the freed block.
        acc.grow(3);
        (20..24).for_each(|h| acc.insert(2, h));
        assert_eq!((acc.pool.live, acc.pool.free[0].len()), (2, 0));
        assert_eq!(acc.pool.words.len(), 8, "two blocks of four");
        assert_eq!(count(&mut acc), [4, 1, 4]);
        let slots = acc.groups.capacity() * std::mem::size_of::<Slot>();
        assert_eq!(acc.size(), std::mem::size_of::<DistinctCount>() + slots);
    }

    /// Random values into random groups, with groups emitted from the front on the way and
    /// states merged into a second accumulator: every count equals a plain set's.
    #[test]
    fn random_inserts_emits_and_merges_count_as_sets_do() {
        use std::collections::{HashMap, VecDeque};
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut acc = DistinctCount::default();
        let mut merged = DistinctCount::default();
        let mut want: VecDeque<std::collections::HashSet<u64>> = VecDeque::new();
        let mut merged_want: HashMap<usize, std::collections::HashSet<u64>> = HashMap::new();
        for round in 0..200 {
            let groups = want.len() + next(5) as usize;
            want.resize_with(groups, Default::default);
            let rows = next(300) as usize;
            let vals: Vec<String> = (0..rows).map(|_| format!("v{}", next(60))).collect();
            let idx: Vec<usize> = (0..rows)
                .map(|_| next(groups.max(1) as u64) as usize)
                .collect();
            if groups == 0 {
                continue;
            }
            for (v, &g) in vals.iter().zip(&idx) {
                want[g].insert(super::stored(hash_of(v)));
            }
            let arr: ArrayRef = Arc::new(StringArray::from(vals));
            acc.update_batch(&[arr], &idx, None, groups).unwrap();
            if round % 7 == 6 {
                let n = next(groups as u64 + 1) as usize;
                let state = acc.state(EmitTo::First(n)).unwrap();
                let target: Vec<usize> = (0..n).map(|i| i % 3).collect();
                merged.merge_batch(&state, &target, 3).unwrap();
                for (i, set) in want.drain(..n).enumerate() {
                    merged_want.entry(i % 3).or_default().extend(set);
                }
            }
        }
        let got = count(&mut acc);
        let expect: Vec<i64> = want.iter().map(|s| s.len() as i64).collect();
        assert_eq!(got, expect);
        merged.grow(3);
        let got = count(&mut merged);
        let expect: Vec<i64> = (0..3)
            .map(|g| merged_want.get(&g).map_or(0, |s| s.len() as i64))
            .collect();
        assert_eq!(got, expect);
        assert_eq!(merged.pool.live + acc.pool.live, 0);
    }

    fn hash_of(v: &str) -> u64 {
        let arr: ArrayRef = Arc::new(StringArray::from(vec![v]));
        let mut h = vec![0u64];
        create_hashes([&arr], &SEED, &mut h).unwrap();
        h[0]
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
