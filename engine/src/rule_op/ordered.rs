//! Rules whose filter keeps state: rows wait for the watermark and meet the stateful filter in
//! event-time order (see [`crate::reorder`]), then go into their panes like any other rule's.

use std::collections::BTreeMap;

use arrow::array::RecordBatch;

use super::RuleOperator;
use crate::error::EngineError;
use crate::operator::{OpCtx, RowsIn};
use crate::stats::EngineStats;

impl RuleOperator {
    /// Rows past the stateless part of the filter wait for the watermark (windows close in
    /// [`RuleOperator::release_through`], after the rows before them are released). Rows late
    /// for their window are counted late now and wait too: the stateful filter still learns
    /// from them (an endpoint seen late was still seen), no pane takes them.
    pub(super) fn wait_for_watermark(
        &mut self,
        input: &RowsIn<'_>,
        projected: &RecordBatch,
        ctx: &mut OpCtx<'_>,
    ) -> Result<(), EngineError> {
        let kept = self.stateless_rows(input, projected)?;
        if kept.is_empty() {
            return Ok(());
        }
        let offsets = super::source_offsets(projected)?;
        let mut is_late = vec![false; projected.num_rows()];
        let mut place = None;
        for &i in &kept {
            let (t, own) = (input.times[i as usize], input.own_wm[i as usize]);
            place = self.windows.place(t, place);
            is_late[i as usize] = self.windows.late_at(place, own);
        }
        let late = is_late.iter().filter(|l| **l).count() as u64;
        if late > 0 {
            EngineStats::bump(&mut ctx.stats.late_by_rule, self.rule.id(), late);
        }
        if let Some(r) = self.reorder.as_mut() {
            match input.ledger {
                Some((tp, o)) => r.add(
                    projected,
                    &kept,
                    input.times,
                    input.upstream,
                    tp,
                    |_| o,
                    |i| is_late[i as usize],
                ),
                None => r.add(
                    projected,
                    &kept,
                    input.times,
                    input.upstream,
                    input.upstream,
                    |i| offsets.value(i as usize),
                    |i| is_late[i as usize],
                ),
            }
        }
        Ok(())
    }

    /// Releases the rows before `wm` in event-time order through the stateful filter into
    /// their panes.
    pub(super) fn release_through(
        &mut self,
        wm: i64,
        ctx: &mut OpCtx<'_>,
    ) -> Result<(), EngineError> {
        let (max_rows, max_bytes) = (ctx.cfg.limits.max_groups, ctx.cfg.limits.max_bytes);
        let Some(reorder) = self.reorder.as_mut() else {
            return Ok(());
        };
        let before = reorder.shed;
        let Some(released) = reorder.release(wm, max_rows, max_bytes)? else {
            return Ok(());
        };
        let shed = reorder.shed - before;
        if shed > 0 {
            EngineStats::bump(&mut ctx.stats.shed_by_rule, self.rule.id(), shed);
        }
        let all: Vec<u32> = (0..released.batch.num_rows() as u32).collect();
        let kept = self.stateful_rows(&released.batch, all, ctx.stats)?;
        // Per partition held, the rows by pane.
        let mut segments: BTreeMap<u32, BTreeMap<i64, Vec<u32>>> = BTreeMap::new();
        let mut place = None;
        for i in kept {
            if released.late[i as usize] {
                continue;
            }
            place = self.windows.place(released.times[i as usize], place);
            let Some(at) = place else {
                continue;
            };
            segments
                .entry(released.hold_parts[i as usize])
                .or_default()
                .entry(at.pane)
                .or_default()
                .push(i);
        }
        for (part, mut segment) in segments {
            let tp = &released.parts[part as usize];
            let offsets = &released.hold_offsets;
            // Released rows form a batch of their own: no upstream answers for it.
            self.flush_segment(
                &released.batch,
                offsets,
                (tp, None),
                &mut segment,
                None,
                ctx,
            )?;
        }
        Ok(())
    }
}
