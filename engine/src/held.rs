//! A row the partition clock holds back (its event time jumped ahead and awaits confirmation),
//! with the decoder threads' filter results for it. The batch a held row is released into is
//! interleaved from rows of several decoded batches; carrying each row's filter bits along
//! keeps that batch's masks, where before every rule's filter ran again on the task thread
//! (the generated hour holds a few rows per 100k, and each one cost a batch's worth of filters).

use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch, UInt32Array};
use arrow::compute::{interleave, take_record_batch};

use crate::operator::FilterMasks;

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
        let masks = masks.map(|m| FilterMasks {
            generation: m.generation,
            masks: (m.masks.iter())
                .map(|o| o.as_ref().map(|a| a.slice(i, 1)))
                .collect(),
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
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{BooleanArray, Int64Array};
    use arrow::datatypes::{DataType, Field, Schema};

    fn masks(generation: u64, bits: &[Option<bool>], second: Option<&[bool]>) -> FilterMasks {
        FilterMasks {
            generation,
            masks: vec![
                Some(BooleanArray::from(bits.to_vec())),
                second.map(|b| BooleanArray::from(b.to_vec())),
            ],
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
