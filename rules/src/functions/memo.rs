//! Shared per-batch work: the result of a pure helper on the very same input arrays is reused.
//!
//! Rules run their filters one after the other on the same decoded batch, and several of them
//! call the same helper on the same column (`ua_class(user_agent)` in three rules of the pack,
//! the login-path regex in four). Each thread remembers the last few calls (helper, input
//! arrays by identity, literal arguments by value) and their results: the second rule asking
//! gets the first one's array. Inputs are held while remembered, so an identity can never be
//! reused by another array in the meantime; the memory is bounded by the few entries kept.

use std::cell::RefCell;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::ColumnarValue;

/// Calls remembered per thread.
const ENTRIES: usize = 16;

#[derive(Clone)]
enum Arg {
    Array(ArrayRef),
    Scalar(ScalarValue),
}

impl Arg {
    fn same(&self, v: &ColumnarValue) -> bool {
        match (self, v) {
            (Arg::Array(a), ColumnarValue::Array(b)) => {
                Arc::ptr_eq(a, b) && a.len() == b.len() && a.offset() == b.offset()
            }
            (Arg::Scalar(a), ColumnarValue::Scalar(b)) => a == b,
            _ => false,
        }
    }
}

struct Entry {
    name: &'static str,
    args: Vec<Arg>,
    out: ColumnarValue,
}

thread_local! {
    static MEMO: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
}

/// The remembered result of `name` on `args`, or `f()`'s, remembered.
pub fn memoized(
    name: &'static str,
    args: &[ColumnarValue],
    f: impl FnOnce() -> datafusion::error::Result<ColumnarValue>,
) -> datafusion::error::Result<ColumnarValue> {
    // Only worth it (and only safe to key on identity) for array inputs.
    if !args.iter().any(|a| matches!(a, ColumnarValue::Array(_))) {
        return f();
    }
    let hit = MEMO.with(|m| {
        let m = m.borrow();
        m.iter()
            .find(|e| {
                e.name == name
                    && e.args.len() == args.len()
                    && e.args.iter().zip(args).all(|(a, v)| a.same(v))
            })
            .map(|e| e.out.clone())
    });
    if let Some(out) = hit {
        return Ok(out);
    }
    let out = f()?;
    MEMO.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= ENTRIES {
            m.remove(0);
        }
        m.push(Entry {
            name,
            args: args
                .iter()
                .map(|a| match a {
                    ColumnarValue::Array(a) => Arg::Array(a.clone()),
                    ColumnarValue::Scalar(s) => Arg::Scalar(s.clone()),
                })
                .collect(),
            out: out.clone(),
        });
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::StringArray;
    use std::cell::Cell;

    #[test]
    fn the_same_array_is_computed_once_another_is_not() {
        let a: ArrayRef = Arc::new(StringArray::from(vec!["x", "y"]));
        let b: ArrayRef = Arc::new(StringArray::from(vec!["x", "y"]));
        let calls = Cell::new(0);
        let run = |arr: &ArrayRef| {
            memoized("t", &[ColumnarValue::Array(arr.clone())], || {
                calls.set(calls.get() + 1);
                Ok(ColumnarValue::Array(arr.clone()))
            })
            .unwrap()
        };
        run(&a);
        run(&a);
        assert_eq!(calls.get(), 1);
        run(&b);
        assert_eq!(calls.get(), 2, "equal values, another array: computed");
        let sliced = a.slice(1, 1);
        run(&sliced);
        assert_eq!(calls.get(), 3, "a slice is another input");
    }
}
