//! What Sigma correlation rules need beyond plain SQL aggregates, evaluated over one window's
//! events of one group (see [`crate::sigma::correlation`]):
//!
//! * `temporal_ordered`: how many of the referenced rules matched *in the given order*;
//! * chains: a correlation that references another correlation, whose matches are events of
//!   the outer one;
//! * `value_percentile`: an exact nearest-rank percentile.
//!
//! Each event is `(event time ms, code, value)`: bit `i` of `code` is set when the event
//! matched leaf rule `i` of the correlation tree; `value` is the hashed (distinct counts) or
//! numeric (percentile) value of the correlation's field. Events are ordered by (time, code,
//! value) before evaluation, so the result depends on the window's events only, never on the
//! order they arrived in or on how partial states were merged.
//!
//! A referenced (inner) correlation *occurs* at every event at which its condition holds over
//! its own trailing timespan `(t - timespan, t]`, counting only events of the outer window: a
//! chain's events all fall within the outer correlation's timespan.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array};
use arrow::datatypes::{DataType, Field, FieldRef, Int64Type, TimeUnit};
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility,
};
use datafusion::physical_expr::expressions::Literal;
use serde::{Deserialize, Serialize};

/// A comparison of a correlation condition.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Cmp {
    /// `lt`
    Lt,
    /// `lte`
    Lte,
    /// `gt`
    Gt,
    /// `gte`
    Gte,
    /// `eq`
    Eq,
    /// `neq`
    Neq,
}

impl Cmp {
    /// Whether `x` satisfies `x <op> bound`.
    pub fn holds(self, x: f64, bound: f64) -> bool {
        match self {
            Cmp::Lt => x < bound,
            Cmp::Lte => x <= bound,
            Cmp::Gt => x > bound,
            Cmp::Gte => x >= bound,
            Cmp::Eq => x == bound,
            Cmp::Neq => x != bound,
        }
    }

    /// The SQL operator.
    pub fn sql(self) -> &'static str {
        match self {
            Cmp::Lt => "<",
            Cmp::Lte => "<=",
            Cmp::Gt => ">",
            Cmp::Gte => ">=",
            Cmp::Eq => "=",
            Cmp::Neq => "<>",
        }
    }
}

/// What a correlation node measures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Measure {
    /// Events of its children.
    EventCount,
    /// Distinct values among its children's events.
    ValueCount,
    /// Children that occurred.
    Temporal,
    /// Children that occurred in order (the longest ordered prefix of the list).
    TemporalOrdered,
    /// The nearest-rank percentile (0-100) of the numeric values.
    Percentile(u8),
}

/// One referenced rule of a correlation node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Child {
    /// A detection rule: events whose code has this bit.
    Rule(u32),
    /// Another correlation: its occurrences.
    Correlation(Box<Node>),
}

/// A correlation as the evaluator sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// What it measures.
    pub measure: Measure,
    /// Its referenced rules, in order.
    pub children: Vec<Child>,
    /// Its timespan (ms): only used when it is an inner node.
    pub span_ms: i64,
    /// All must hold (only used when it is an inner node: the outer one is the SQL's HAVING).
    pub condition: Vec<(Cmp, f64)>,
}

/// An event of a node: (time, position in the window's sorted events, value).
type Occ = (i64, usize, Option<i64>);

impl Node {
    fn holds(&self, x: f64) -> bool {
        self.condition.iter().all(|&(c, b)| c.holds(x, b))
    }

    /// Every child's events, merged in event order, tagged with the child's index.
    fn child_events(&self, rows: &[(i64, i64, Option<i64>)]) -> Vec<(Occ, usize)> {
        let mut out = Vec::new();
        for (ci, c) in self.children.iter().enumerate() {
            match c {
                Child::Rule(bit) => out.extend(
                    rows.iter()
                        .enumerate()
                        .filter(|(_, r)| r.1 >> bit & 1 == 1)
                        .map(|(i, r)| ((r.0, i, r.2), ci)),
                ),
                Child::Correlation(n) => {
                    out.extend(n.occurrences(rows).into_iter().map(|o| (o, ci)))
                }
            }
        }
        // Position first, then the later child first: a row matching two consecutive steps
        // of an ordered correlation counts for one of them only.
        out.sort_by(|a, b| (a.0 .1, b.1).cmp(&(b.0 .1, a.1)));
        out
    }

    /// The events at which this node's condition holds over its trailing timespan.
    pub fn occurrences(&self, rows: &[(i64, i64, Option<i64>)]) -> Vec<Occ> {
        let events = self.child_events(rows);
        let n = self.children.len();
        let mut out = Vec::new();
        let mut window: std::collections::VecDeque<&(Occ, usize)> = Default::default();
        let mut values: HashMap<i64, usize> = HashMap::new();
        let mut last: Vec<Option<i64>> = vec![None; n];
        let mut best: Vec<Option<i64>> = vec![None; n];
        for e in &events {
            let ((t, _, v), child) = *e;
            let floor = t.saturating_sub(self.span_ms);
            window.push_back(e);
            if let Some(v) = v {
                *values.entry(v).or_default() += 1;
            }
            while window.front().is_some_and(|f| f.0 .0 <= floor) {
                if let Some(((_, _, Some(v)), _)) = window.pop_front() {
                    if let Some(c) = values.get_mut(v) {
                        *c -= 1;
                        if *c == 0 {
                            values.remove(v);
                        }
                    }
                }
            }
            let x = match self.measure {
                Measure::EventCount => window.len() as f64,
                Measure::ValueCount => values.len() as f64,
                Measure::Temporal => {
                    last[child] = Some(t);
                    last.iter().filter(|l| l.is_some_and(|l| l > floor)).count() as f64
                }
                Measure::TemporalOrdered => {
                    best[child] = if child == 0 { Some(t) } else { best[child - 1] };
                    best.iter()
                        .take_while(|b| b.is_some_and(|b| b > floor))
                        .count() as f64
                }
                // Refused at load inside chains (a sort per event would be quadratic): never
                // occurs.
                Measure::Percentile(_) => f64::NAN,
            };
            if self.holds(x) {
                out.push(e.0);
            }
        }
        out
    }

    /// The node's measure over all of a window's events (the outer correlation).
    pub fn measure_window(&self, rows: &[(i64, i64, Option<i64>)]) -> Option<f64> {
        let events = self.child_events(rows);
        Some(match self.measure {
            Measure::EventCount => events.len() as f64,
            Measure::ValueCount => {
                let mut vs: Vec<i64> = events.iter().filter_map(|e| e.0 .2).collect();
                vs.sort_unstable();
                vs.dedup();
                vs.len() as f64
            }
            Measure::Temporal => {
                let mut seen = vec![false; self.children.len()];
                events.iter().for_each(|e| seen[e.1] = true);
                seen.iter().filter(|s| **s).count() as f64
            }
            Measure::TemporalOrdered => {
                // Greedy: the earliest event of each step after the previous step's.
                let (mut step, mut after) = (0usize, None::<usize>);
                for ((_, pos, _), child) in &events {
                    if *child == step && after.is_none_or(|a| *pos > a) {
                        step += 1;
                        after = Some(*pos);
                        if step == self.children.len() {
                            break;
                        }
                    }
                }
                step as f64
            }
            Measure::Percentile(p) => {
                let mut vs: Vec<f64> = events
                    .iter()
                    .filter_map(|e| e.0 .2.map(|v| f64::from_bits(v as u64)))
                    .collect();
                return percentile(&mut vs, p);
            }
        })
    }

    fn numeric(&self) -> bool {
        matches!(self.measure, Measure::Percentile(_))
            || self.children.iter().any(|c| match c {
                Child::Correlation(n) => n.numeric(),
                Child::Rule(_) => false,
            })
    }
}

/// Nearest-rank percentile `p` (0-100) of `vs`; `None` when empty.
pub fn percentile(vs: &mut [f64], p: u8) -> Option<f64> {
    if vs.is_empty() {
        return None;
    }
    vs.sort_by(f64::total_cmp);
    let rank = (f64::from(p.min(100)) / 100.0 * vs.len() as f64).ceil() as usize;
    Some(vs[rank.clamp(1, vs.len()) - 1])
}

/// A value of a counted field as it is kept in the state: the fixed-seed hash rows are routed
/// by, the same in every process, run and instance (states merge across them).
fn hash_value(s: &str) -> i64 {
    gatewatch_model::partition::key_hash(s.as_bytes()) as i64
}

/// `sigma_sequence(event_time, code, value, program)` (BIGINT) and
/// `sigma_percentile(...)` (DOUBLE): a correlation [`Node`] (the `program`, JSON) measured
/// over a group's window events. Their state is the events, 24 bytes each.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SequenceUdaf {
    name: &'static str,
    float: bool,
    signature: Signature,
}

impl SequenceUdaf {
    /// The two UDAFs.
    pub fn udafs() -> [AggregateUDF; 2] {
        let sig = || {
            Signature::exact(
                vec![
                    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
                    DataType::Int64,
                    DataType::Utf8,
                    DataType::Utf8,
                ],
                Volatility::Immutable,
            )
        };
        [
            AggregateUDF::from(SequenceUdaf {
                name: "sigma_sequence",
                float: false,
                signature: sig(),
            }),
            AggregateUDF::from(SequenceUdaf {
                name: "sigma_percentile",
                float: true,
                signature: sig(),
            }),
        ]
    }
}

/// The parsed program of the call: parsed once per distinct program text (one per correlation
/// rule) and shared, not once per group and window (DataFusion asks for an accumulator per
/// group).
fn program_of(args: &AccumulatorArgs) -> Result<Arc<Node>> {
    thread_local! {
        static PARSED: std::cell::RefCell<HashMap<String, Arc<Node>>> = Default::default();
    }
    let lit = args
        .exprs
        .get(3)
        .and_then(|e| e.downcast_ref::<Literal>())
        .ok_or_else(|| DataFusionError::Plan("sigma_sequence: program must be a literal".into()))?;
    match lit.value() {
        ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) => {
            if let Some(node) = PARSED.with(|m| m.borrow().get(s.as_str()).cloned()) {
                return Ok(node);
            }
            let node: Arc<Node> = Arc::new(
                serde_json::from_str(s.as_str())
                    .map_err(|e| DataFusionError::Plan(format!("sigma_sequence program: {e}")))?,
            );
            PARSED.with(|m| {
                let mut m = m.borrow_mut();
                // Reloads bring new program texts: keep the map bounded (a cleared one only
                // costs a parse per program again).
                if m.len() >= 1024 {
                    m.clear();
                }
                m.insert(s.clone(), Arc::clone(&node));
            });
            Ok(node)
        }
        v => Err(DataFusionError::Plan(format!(
            "sigma_sequence: program must be text, not {v:?}"
        ))),
    }
}

impl AggregateUDFImpl for SequenceUdaf {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(if self.float {
            DataType::Float64
        } else {
            DataType::Int64
        })
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let node = program_of(&args)?;
        Ok(Box::new(SequenceAcc {
            numeric: node.numeric(),
            node,
            float: self.float,
            events: Vec::new(),
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format!("{}[events]", args.name),
            DataType::List(Arc::new(Field::new("item", DataType::Int64, true))),
            true,
        ))])
    }
}

/// One group's events.
#[derive(Debug)]
struct SequenceAcc {
    node: Arc<Node>,
    numeric: bool,
    float: bool,
    events: Vec<(i64, i64, Option<i64>)>,
}

impl Accumulator for SequenceAcc {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let ts = arrow::compute::cast(&values[0], &DataType::Int64)?;
        let ts = ts.as_primitive::<Int64Type>();
        let code = values[1].as_primitive::<Int64Type>();
        let text = arrow::compute::cast(&values[2], &DataType::Utf8)?;
        let text = text.as_string::<i32>();
        for i in 0..ts.len() {
            if ts.is_null(i) || code.is_null(i) {
                continue;
            }
            let v = text.is_valid(i).then(|| text.value(i)).and_then(|s| {
                if self.numeric {
                    s.trim().parse::<f64>().ok().map(|f| f.to_bits() as i64)
                } else {
                    Some(hash_value(s))
                }
            });
            self.events.push((ts.value(i), code.value(i), v));
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let mut rows = std::mem::take(&mut self.events);
        rows.sort_unstable();
        let m = self.node.measure_window(&rows);
        Ok(if self.float {
            ScalarValue::Float64(m)
        } else {
            ScalarValue::Int64(m.map(|m| m as i64))
        })
    }

    fn size(&self) -> usize {
        std::mem::size_of::<Self>() + self.events.capacity() * 24
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        // Flattened triples; a missing value is stored as a null item.
        let mut flat: Vec<Option<i64>> = Vec::with_capacity(self.events.len() * 3);
        for (t, c, v) in std::mem::take(&mut self.events) {
            flat.extend([Some(t), Some(c), v]);
        }
        Ok(vec![super::collect::list_scalar(Int64Array::from(flat))])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let lists = states[0].as_list::<i32>();
        for i in 0..lists.len() {
            if lists.is_null(i) {
                continue;
            }
            let inner = lists.value(i);
            let inner = inner.as_primitive::<Int64Type>();
            for k in (0..inner.len().saturating_sub(2)).step_by(3) {
                if inner.is_valid(k) && inner.is_valid(k + 1) {
                    let v = inner.is_valid(k + 2).then(|| inner.value(k + 2));
                    self.events.push((inner.value(k), inner.value(k + 1), v));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(measure: Measure, children: Vec<Child>, span: i64, cond: Vec<(Cmp, f64)>) -> Node {
        Node {
            measure,
            children,
            span_ms: span,
            condition: cond,
        }
    }

    fn rows(xs: &[(i64, i64)]) -> Vec<(i64, i64, Option<i64>)> {
        let mut r: Vec<_> = xs.iter().map(|&(t, c)| (t, c, None)).collect();
        r.sort_unstable();
        r
    }

    #[test]
    fn ordered_steps_count_only_in_order() {
        let n = node(
            Measure::TemporalOrdered,
            vec![Child::Rule(0), Child::Rule(1), Child::Rule(2)],
            0,
            vec![],
        );
        assert_eq!(
            n.measure_window(&rows(&[(1, 1), (2, 2), (3, 4)])),
            Some(3.0)
        );
        // Reversed: only the first step is found before the others.
        assert_eq!(
            n.measure_window(&rows(&[(1, 4), (2, 2), (3, 1)])),
            Some(1.0)
        );
        // One row matching two steps counts once.
        assert_eq!(n.measure_window(&rows(&[(1, 1), (2, 6)])), Some(2.0));
    }

    #[test]
    fn an_inner_count_occurs_at_each_event_reaching_its_threshold_within_its_span() {
        let inner = node(
            Measure::EventCount,
            vec![Child::Rule(0)],
            10,
            vec![(Cmp::Gte, 3.0)],
        );
        // Three events within 10 ms at 5..7; the ones at 0 and 20 stand alone.
        let r = rows(&[(0, 1), (5, 1), (6, 1), (7, 1), (20, 1)]);
        let times: Vec<i64> = inner.occurrences(&r).iter().map(|o| o.0).collect();
        assert_eq!(times, vec![6, 7]);
        // Exactly the span apart: (t - span, t] excludes the first.
        let r = rows(&[(0, 1), (5, 1), (10, 1)]);
        assert!(inner.occurrences(&r).is_empty());
        let outer = node(
            Measure::TemporalOrdered,
            vec![Child::Correlation(Box::new(inner)), Child::Rule(1)],
            0,
            vec![],
        );
        assert_eq!(
            outer.measure_window(&rows(&[(1, 1), (2, 1), (3, 1), (4, 2)])),
            Some(2.0)
        );
        assert_eq!(
            outer.measure_window(&rows(&[(0, 2), (1, 1), (2, 1), (3, 1)])),
            Some(1.0)
        );
    }

    #[test]
    fn nearest_rank_percentiles() {
        let mut v = vec![5.0, 1.0, 3.0, 2.0, 4.0];
        assert_eq!(percentile(&mut v, 50), Some(3.0));
        assert_eq!(percentile(&mut v, 100), Some(5.0));
        assert_eq!(percentile(&mut v, 0), Some(1.0));
        assert_eq!(percentile(&mut [], 50), None);
    }
}
