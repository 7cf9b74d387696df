//! `longest_id_run(object_id)` and `interarrival_cv(event_time)`: aggregates that need every
//! value of a group, not a running summary. Their state is the group's values (8 bytes each),
//! so partial states from several panes or partitions merge exactly; both are evaluated at
//! window close over the merged, sorted values. A [`GroupsAccumulator`] keeps each group's
//! values in place while it has one, in a vector of its own beyond (no per-group boxed
//! accumulator), and a plain [`Accumulator`] serves DataFusion's own execution of the same query.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, ListArray};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, FieldRef, Int64Type, TimeUnit};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature, Volatility,
};

use super::{interarrival_cv, longest_id_run};

/// Which reduction a collecting aggregate applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reduce {
    /// `longest_id_run`: numeric ids as text -> Int64.
    IdRun,
    /// `interarrival_cv`: timestamps -> Float64 (null with fewer than 3 events).
    InterarrivalCv,
}

impl Reduce {
    fn finish(self, values: Vec<i64>) -> ScalarValue {
        match self {
            Reduce::IdRun => ScalarValue::Int64(Some(longest_id_run(values))),
            Reduce::InterarrivalCv => ScalarValue::Float64(interarrival_cv(values)),
        }
    }

    fn output(self) -> DataType {
        match self {
            Reduce::IdRun => DataType::Int64,
            Reduce::InterarrivalCv => DataType::Float64,
        }
    }

    /// Calls `each(row, value)` for every row of an input array with a value, in row order:
    /// times as stored, ids parsed from text (non-numeric ids have no order to walk and are
    /// skipped); NULLs skipped. No list of values is built: this runs on every row of a rule
    /// without a filter.
    fn for_each(self, array: &ArrayRef, mut each: impl FnMut(usize, i64)) -> Result<()> {
        match self {
            Reduce::IdRun => {
                let s = arrow::compute::cast(array, &DataType::Utf8)?;
                for (row, v) in s.as_string::<i32>().iter().enumerate() {
                    if let Some(v) = v.and_then(|v| v.parse::<i64>().ok()) {
                        each(row, v);
                    }
                }
            }
            Reduce::InterarrivalCv => {
                let a = arrow::compute::cast(array, &DataType::Int64)?;
                let a = a.as_primitive::<Int64Type>();
                for (row, &v) in a.values().iter().enumerate() {
                    if a.is_valid(row) {
                        each(row, v);
                    }
                }
            }
        }
        Ok(())
    }
}

fn list_field() -> FieldRef {
    Arc::new(Field::new("item", DataType::Int64, true))
}

/// One list value holding `values` (an aggregate's state of one group).
pub(crate) fn list_scalar(values: Int64Array) -> ScalarValue {
    let list = ListArray::new(
        list_field(),
        OffsetBuffer::from_lengths([values.len()]),
        Arc::new(values),
        None,
    );
    ScalarValue::List(Arc::new(list))
}

fn list_of_i64() -> DataType {
    DataType::List(list_field())
}

/// A collecting aggregate as a DataFusion UDAF.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CollectUdaf {
    name: &'static str,
    reduce: Reduce,
    signature: Signature,
}

impl CollectUdaf {
    /// The UDAF for `reduce`.
    pub fn udaf(reduce: Reduce) -> AggregateUDF {
        let (name, input) = match reduce {
            Reduce::IdRun => ("longest_id_run", DataType::Utf8),
            Reduce::InterarrivalCv => (
                "interarrival_cv",
                DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            ),
        };
        AggregateUDF::from(CollectUdaf {
            name,
            reduce,
            signature: Signature::exact(vec![input], Volatility::Immutable),
        })
    }
}

impl AggregateUDFImpl for CollectUdaf {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(self.reduce.output())
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(CollectOne {
            values: Vec::new(),
            reduce: self.reduce,
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format!("{}[values]", args.name),
            list_of_i64(),
            true,
        ))])
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        _args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(CollectGroups {
            values: Vec::new(),
            reduce: self.reduce,
            heap: 0,
        }))
    }
}

/// One group's values (DataFusion's per-group path).
#[derive(Debug)]
struct CollectOne {
    values: Vec<i64>,
    reduce: Reduce,
}

impl Accumulator for CollectOne {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let reduce = self.reduce;
        reduce.for_each(&values[0], |_, v| self.values.push(v))
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(self.reduce.finish(std::mem::take(&mut self.values)))
    }

    fn size(&self) -> usize {
        std::mem::size_of::<Self>() + self.values.capacity() * 8
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![list_scalar(Int64Array::from(std::mem::take(
            &mut self.values,
        )))])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let lists = states[0].as_list::<i32>();
        for i in 0..lists.len() {
            if lists.is_valid(i) {
                let inner = lists.value(i);
                self.values
                    .extend(inner.as_primitive::<Int64Type>().iter().flatten());
            }
        }
        Ok(())
    }
}

/// One group's values: up to two held in place (most entities of a window send one or two
/// requests), more in a vector of their own. 24 bytes, as a bare vector.
#[derive(Debug, Default)]
enum Held {
    #[default]
    Empty,
    One(i64),
    Two(i64, i64),
    Many(Vec<i64>),
}

impl Held {
    /// Adds `v`; returns the heap bytes the group's values took on (a new or grown vector).
    fn push(&mut self, v: i64) -> usize {
        match self {
            Held::Empty => {
                *self = Held::One(v);
                0
            }
            Held::One(first) => {
                *self = Held::Two(*first, v);
                0
            }
            Held::Two(first, second) => {
                let mut list = Vec::with_capacity(4);
                list.extend([*first, *second, v]);
                let bytes = list.capacity() * 8;
                *self = Held::Many(list);
                bytes
            }
            Held::Many(list) => {
                let before = list.capacity();
                list.push(v);
                (list.capacity() - before) * 8
            }
        }
    }

    /// Heap bytes held (a vector's capacity).
    fn heap_bytes(&self) -> usize {
        match self {
            Held::Many(list) => list.capacity() * 8,
            _ => 0,
        }
    }

    fn into_vec(self) -> Vec<i64> {
        match self {
            Held::Empty => Vec::new(),
            Held::One(v) => vec![v],
            Held::Two(first, second) => vec![first, second],
            Held::Many(list) => list,
        }
    }
}

/// Every group's values.
struct CollectGroups {
    values: Vec<Held>,
    reduce: Reduce,
    /// Heap bytes of the groups' vectors (for `size`, which must not walk the groups).
    heap: usize,
}

impl CollectGroups {
    fn grow(&mut self, total: usize) {
        if self.values.len() < total {
            self.values.resize_with(total, Held::default);
        }
    }

    fn push(&mut self, group: usize, v: i64) {
        self.heap += self.values[group].push(v);
    }

    fn take(&mut self, emit_to: EmitTo) -> Vec<Vec<i64>> {
        let taken = emit_to.take_needed(&mut self.values);
        let freed: usize = taken.iter().map(Held::heap_bytes).sum();
        self.heap = self.heap.saturating_sub(freed);
        taken.into_iter().map(Held::into_vec).collect()
    }
}

impl GroupsAccumulator for CollectGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.grow(total_num_groups);
        let reduce = self.reduce;
        reduce.for_each(&values[0], |row, v| {
            if crate::aggregate::counted(opt_filter, row) {
                if let Some(&g) = group_indices.get(row) {
                    self.push(g, v);
                }
            }
        })
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let groups = self.take(emit_to);
        let reduce = self.reduce;
        Ok(match reduce {
            Reduce::IdRun => Arc::new(
                groups
                    .into_iter()
                    .map(|v| Some(longest_id_run(v)))
                    .collect::<Int64Array>(),
            ),
            Reduce::InterarrivalCv => Arc::new(
                groups
                    .into_iter()
                    .map(interarrival_cv)
                    .collect::<Float64Array>(),
            ),
        })
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let groups = self.take(emit_to);
        let lengths: Vec<usize> = groups.iter().map(Vec::len).collect();
        let flat: Int64Array = groups.into_iter().flatten().map(Some).collect();
        let list = ListArray::new(
            list_field(),
            OffsetBuffer::from_lengths(lengths),
            Arc::new(flat),
            None,
        );
        Ok(vec![Arc::new(list)])
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
                for v in inner.as_primitive::<Int64Type>().iter().flatten() {
                    self.push(g, v);
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
        let rows = values[0].len();
        let mut lengths = vec![0usize; rows];
        let mut flat = Vec::with_capacity(rows);
        self.reduce.for_each(&values[0], |row, v| {
            if crate::aggregate::counted(opt_filter, row) {
                flat.push(v);
                lengths[row] = 1;
            }
        })?;
        let list = ListArray::new(
            list_field(),
            OffsetBuffer::from_lengths(lengths),
            Arc::new(Int64Array::from(flat)),
            None,
        );
        Ok(vec![Arc::new(list)])
    }

    fn size(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.values.capacity() * std::mem::size_of::<Held>()
            + self.heap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A group costs a bare vector's 24 bytes; one or two values are held without a heap
    /// allocation, and every vector's capacity is counted, in the order values came.
    #[test]
    fn one_value_is_held_in_place_and_every_vector_is_counted() {
        assert!(std::mem::size_of::<Held>() <= 24);
        let mut g = CollectGroups {
            values: Vec::new(),
            reduce: Reduce::IdRun,
            heap: 0,
        };
        g.grow(3);
        g.push(0, 7);
        assert_eq!(g.heap, 0, "one value: in place");
        g.push(1, 1);
        g.push(1, 2);
        assert_eq!(g.heap, 0, "two values: in place");
        g.push(1, 3);
        assert_eq!(g.heap, 4 * 8, "three values: a vector of 4");
        for v in 4..=5 {
            g.push(1, v);
        }
        assert_eq!(g.heap, 8 * 8, "five values: grown to 8");
        let counted: usize = g.values.iter().map(Held::heap_bytes).sum();
        assert_eq!(g.heap, counted);
        let taken = g.take(EmitTo::First(2));
        assert_eq!(taken, vec![vec![7], vec![1, 2, 3, 4, 5]]);
        assert_eq!(g.heap, 0, "taken groups leave the count");
        assert_eq!(g.take(EmitTo::All), vec![Vec::<i64>::new()]);
    }

    /// A batch's values go to their groups, NULL values and rows the aggregate's filter does
    /// not count (false or NULL) left out: times as stored, ids parsed from text.
    #[test]
    fn a_batch_adds_the_counted_non_null_values_to_their_groups() {
        use arrow::array::{StringArray, TimestampMillisecondArray};
        let filter =
            BooleanArray::from(vec![Some(true), Some(true), Some(false), None, Some(true)]);
        let groups = [0, 1, 0, 1, 1];
        let times: ArrayRef = Arc::new(TimestampMillisecondArray::from(vec![
            Some(10),
            None,
            Some(30),
            Some(40),
            Some(50),
        ]));
        let ids: ArrayRef = Arc::new(StringArray::from(vec![
            Some("7"),
            Some("x"),
            Some("9"),
            Some("11"),
            None,
        ]));
        for (reduce, input, counted, all) in [
            (
                Reduce::InterarrivalCv,
                &times,
                vec![vec![10], vec![50]],
                vec![vec![10, 30], vec![40, 50]],
            ),
            (
                Reduce::IdRun,
                &ids,
                vec![vec![7], vec![]],
                vec![vec![7, 9], vec![11]],
            ),
        ] {
            for (filter, want) in [(Some(&filter), counted), (None, all)] {
                let mut g = CollectGroups {
                    values: Vec::new(),
                    reduce,
                    heap: 0,
                };
                g.update_batch(std::slice::from_ref(input), &groups, filter, 2)
                    .unwrap();
                assert_eq!(
                    g.take(EmitTo::All),
                    want,
                    "{reduce:?}, filter {}",
                    filter.is_some()
                );
            }
        }
    }
}
