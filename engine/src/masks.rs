//! The rules' stateless filter results (computed by the decoder threads) on their way to the
//! tasks: which rows a group of rules may keep ([`candidates`]), and the bits of rows the
//! partition clock holds back.
//!
//! A held row's event time jumped ahead and awaits confirmation; the batch it is released into
//! is interleaved from rows of several decoded batches. Carrying each held row's filter bits
//! along keeps that batch's masks, where before every rule's filter ran again on the task
//! thread (the generated hour holds a few rows per 100k, and each one cost a batch's worth of
//! filters).

use std::sync::Arc;

use arrow::array::{Array, AsArray, BooleanArray, RecordBatch, UInt32Array};
use arrow::buffer::BooleanBuffer;
use arrow::compute::{interleave, take_record_batch};

use crate::operator::FilterMasks;

/// Of a batch's `rows` rows, those some of `rules` may keep: the union of their stateless
/// `masks` (every row without masks, or for a group of non-rule operators).
pub fn candidates(rules: Option<&[usize]>, masks: Option<&FilterMasks>, rows: usize) -> Vec<u32> {
    let every = || (0..rows as u32).collect();
    let (Some(rules), Some(m)) = (rules, masks) else {
        return every();
    };
    // The masks or-ed a word at a time, then their set bits (was: every rule's bit tested
    // per row).
    let mut union = BooleanBuffer::new_unset(rows);
    for &r in rules {
        let Some(Some(mask)) = m.masks.get(r) else {
            return every();
        };
        if mask.len() != rows {
            return every();
        }
        union = match mask.nulls() {
            Some(valid) => &union | &(mask.values() & valid.inner()),
            None => &union | mask.values(),
        };
    }
    union.set_indices().map(|i| i as u32).collect()
}

/// A held row and its filter results.
pub struct HeldRow {
    /// The row, as a batch of one.
    pub row: RecordBatch,
    /// Its masks (one row each), if its batch had them.
    pub masks: Option<FilterMasks>,
}

impl HeldRow {
    /// Row `i` of `batch`, with its bits of `masks`.
    pub fn take(batch: &RecordBatch, masks: Option<&FilterMasks>, i: usize) -> HeldRow {
        let row = take_record_batch(batch, &UInt32Array::from(vec![i as u32]))
            .unwrap_or_else(|_| batch.slice(i, 1));
        // The bits copied out (a slice would keep the batch's whole masks alive while held).
        let masks = masks.map(|m| FilterMasks {
            generation: m.generation,
            masks: (m.masks.iter())
                .map(|o| {
                    let bit = |a: &BooleanArray| a.is_valid(i).then(|| a.value(i));
                    o.as_ref().map(|a| BooleanArray::from(vec![bit(a)]))
                })
                .collect(),
            answers: Vec::new(),
        });
        HeldRow { row, masks }
    }
}

/// The masks of rows interleaved from `sources` (`order` as for [`interleave`]: source and
/// row), or `None` unless every source has masks for the same rule set.
pub fn interleave_masks(
    sources: &[Option<&FilterMasks>],
    order: &[(usize, usize)],
) -> Option<Arc<FilterMasks>> {
    let first = (*sources.first()?)?;
    let rules = first.masks.len();
    let all = sources
        .iter()
        .map(|s| s.filter(|m| m.generation == first.generation && m.masks.len() == rules))
        .collect::<Option<Vec<&FilterMasks>>>()?;
    let mut masks = Vec::with_capacity(rules);
    for r in 0..rules {
        let arrays: Vec<&dyn Array> = all
            .iter()
            .filter_map(|m| m.masks[r].as_ref().map(|a| a as &dyn Array))
            .collect();
        if arrays.is_empty() {
            // The rule keeps every row (no stateless filter): the same in every source.
            masks.push(None);
        } else if arrays.len() == all.len() {
            masks.push(Some(interleave(&arrays, order).ok()?.as_boolean().clone()));
        } else {
            return None;
        }
    }
    Some(Arc::new(FilterMasks {
        generation: first.generation,
        masks,
        answers: Vec::new(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int64Array;
    use arrow::datatypes::{DataType, Field, Schema};

    /// A group's candidates are the rows some of its rules keep (a NULL bit keeps nothing);
    /// a rule without a filter, or no masks at all, makes every row a candidate.
    #[test]
    fn candidates_are_the_union_of_the_group_rules_masks() {
        let m = FilterMasks {
            generation: 1,
            masks: vec![
                Some(BooleanArray::from(vec![
                    Some(true),
                    None,
                    Some(false),
                    Some(false),
                ])),
                Some(BooleanArray::from(vec![false, false, false, true])),
                None,
                Some(BooleanArray::from(vec![false, true, false, false])),
            ],
            answers: Vec::new(),
        };
        assert_eq!(candidates(Some(&[0, 1]), Some(&m), 4), [0, 3]);
        assert_eq!(candidates(Some(&[0, 3]), Some(&m), 4), [0, 1]);
        assert_eq!(candidates(Some(&[1]), Some(&m), 4), [3]);
        assert_eq!(candidates(Some(&[0, 2]), Some(&m), 4), [0, 1, 2, 3]);
        assert_eq!(candidates(Some(&[9]), Some(&m), 4), [0, 1, 2, 3]);
        assert_eq!(candidates(None, Some(&m), 4), [0, 1, 2, 3]);
        assert_eq!(candidates(Some(&[0]), None, 2), [0, 1]);
        assert!(candidates(Some(&[]), Some(&m), 4).is_empty());
    }

    fn masks(generation: u64, bits: &[Option<bool>], second: Option<&[bool]>) -> FilterMasks {
        FilterMasks {
            generation,
            masks: vec![
                Some(BooleanArray::from(bits.to_vec())),
                second.map(|b| BooleanArray::from(b.to_vec())),
            ],
            answers: Vec::new(),
        }
    }

    /// A held row keeps its own bits; interleaved with a batch, each row's bits follow it.
    #[test]
    fn each_row_keeps_its_bits_through_hold_and_interleave() {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        let earlier = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(Int64Array::from(vec![10, 11, 12]))],
        )
        .unwrap();
        let earlier_masks = masks(7, &[Some(false), None, Some(true)], None);
        let held = HeldRow::take(&earlier, Some(&earlier_masks), 2);
        assert_eq!(held.row.num_rows(), 1);
        let current = masks(7, &[Some(true), Some(false)], None);
        // Batch row 0, the held row, batch row 1.
        let order = [(0, 0), (1, 0), (0, 1)];
        let out = interleave_masks(&[Some(&current), held.masks.as_ref()], &order).unwrap();
        let first = out.masks[0].as_ref().unwrap();
        assert_eq!(
            (0..3).map(|i| first.value(i)).collect::<Vec<_>>(),
            [true, true, false]
        );
        assert!(out.masks[1].is_none(), "a rule without a filter stays so");
        // A held row without masks, or from another rule set: no masks (the task filters).
        let other = HeldRow::take(&earlier, Some(&masks(8, &[Some(true); 3], None)), 0);
        assert!(interleave_masks(&[Some(&current), other.masks.as_ref()], &order).is_none());
        let bare = HeldRow::take(&earlier, None, 0);
        assert!(interleave_masks(&[Some(&current), bare.masks.as_ref()], &order).is_none());
        // A NULL bit stays NULL.
        let nullish = HeldRow::take(&earlier, Some(&earlier_masks), 1);
        let out = interleave_masks(&[nullish.masks.as_ref()], &[(0, 0)]).unwrap();
        assert!(out.masks[0].as_ref().unwrap().is_null(0));
        // Masks present for one source only where the other has none: no masks.
        let mixed = masks(7, &[Some(true)], Some(&[true]));
        assert!(interleave_masks(&[Some(&current), Some(&mixed)], &[(0, 0), (1, 0)]).is_none());
    }
}
