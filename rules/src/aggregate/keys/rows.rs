//! Group keys of several columns (`GROUP BY client_ip, username`), each text or a 64-bit
//! integer: a row's values are written into one byte string (per column a presence byte, then
//! a text's length and bytes or an integer's 8 bytes: no two rows share a string unless they
//! share every value), and the strings are numbered by the seeded map of [`super::ByteMap`].

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Int64Array, Int64Builder, StringArray, StringBuilder,
};
use arrow::datatypes::{DataType, Int64Type, SchemaRef};
use datafusion::error::{DataFusionError, Result};

use super::{key, ByteMap};

/// How one column of a key is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Utf8,
    Int64,
}

/// How the keys of several `Utf8` / `Int64` columns are written (see the module documentation).
pub(super) struct Rows {
    kinds: Vec<Kind>,
    /// The row being written.
    scratch: Vec<u8>,
}

impl Rows {
    /// The layout for the columns of `schema`, if every one is `Utf8` or `Int64`.
    pub(super) fn for_schema(schema: &SchemaRef) -> Option<Self> {
        let kinds = schema
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Utf8 => Some(Kind::Utf8),
                DataType::Int64 => Some(Kind::Int64),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Rows {
            kinds,
            scratch: Vec::new(),
        })
    }

    /// Everything `map` held, one array per column (`map` is emptied).
    pub(super) fn emit_all(&self, map: &mut ByteMap) -> Result<Vec<ArrayRef>> {
        let len = map.len();
        let (offsets, bytes) = map.take();
        let mut out: Vec<Column> = self
            .kinds
            .iter()
            .map(|k| match k {
                Kind::Utf8 => Column::Utf8(StringBuilder::with_capacity(len, 0)),
                Kind::Int64 => Column::Int64(Int64Builder::with_capacity(len)),
            })
            .collect();
        for g in 0..len {
            let mut rest = key(&offsets, &bytes, g as u32);
            for col in &mut out {
                rest = col.read(rest)?;
            }
        }
        Ok(out.into_iter().map(Column::finish).collect())
    }
}

/// A column being written into keys.
enum Col<'a> {
    Utf8(&'a StringArray),
    Int64(&'a Int64Array),
}

impl Col<'_> {
    fn len(&self) -> usize {
        match self {
            Col::Utf8(a) => a.len(),
            Col::Int64(a) => a.len(),
        }
    }

    /// Appends row `row`'s value to `out`.
    fn write(&self, row: usize, out: &mut Vec<u8>) -> Result<()> {
        let valid = match self {
            Col::Utf8(a) => a.is_valid(row),
            Col::Int64(a) => a.is_valid(row),
        };
        if !valid {
            out.push(0);
            return Ok(());
        }
        out.push(1);
        match self {
            Col::Utf8(a) => {
                let v = a.value(row).as_bytes();
                // A value longer than 4 GiB cannot be in an Arrow string array.
                let len = u32::try_from(v.len()).map_err(|_| corrupt())?;
                out.extend_from_slice(&len.to_le_bytes());
                out.extend_from_slice(v);
            }
            Col::Int64(a) => out.extend_from_slice(&a.value(row).to_le_bytes()),
        }
        Ok(())
    }
}

/// A column being rebuilt from the keys.
enum Column {
    Utf8(StringBuilder),
    Int64(Int64Builder),
}

fn corrupt() -> DataFusionError {
    DataFusionError::Internal("a group key could not be read back".into())
}

/// The first `n` bytes of `b` and the rest.
fn split(b: &[u8], n: usize) -> Result<(&[u8], &[u8])> {
    b.split_at_checked(n).ok_or_else(corrupt)
}

impl Column {
    /// Reads this column's value off the front of `b`; returns the rest.
    fn read<'a>(&mut self, b: &'a [u8]) -> Result<&'a [u8]> {
        let (present, b) = split(b, 1)?;
        if present[0] == 0 {
            match self {
                Column::Utf8(c) => c.append_null(),
                Column::Int64(c) => c.append_null(),
            }
            return Ok(b);
        }
        match self {
            Column::Utf8(c) => {
                let (len, b) = split(b, 4)?;
                let len = u32::from_le_bytes(len.try_into().map_err(|_| corrupt())?) as usize;
                let (text, b) = split(b, len)?;
                c.append_value(std::str::from_utf8(text).map_err(|_| corrupt())?);
                Ok(b)
            }
            Column::Int64(c) => {
                let (v, b) = split(b, 8)?;
                c.append_value(i64::from_le_bytes(v.try_into().map_err(|_| corrupt())?));
                Ok(b)
            }
        }
    }

    fn finish(self) -> ArrayRef {
        match self {
            Column::Utf8(mut c) => Arc::new(c.finish()),
            Column::Int64(mut c) => Arc::new(c.finish()),
        }
    }
}

impl Rows {
    /// Numbers the rows of `cols` in `map`.
    pub(super) fn intern(
        &mut self,
        map: &mut ByteMap,
        cols: &[ArrayRef],
        groups: &mut Vec<usize>,
    ) -> Result<()> {
        if cols.len() != self.kinds.len() {
            return Err(DataFusionError::Internal(format!(
                "group keys of {} columns got {}",
                self.kinds.len(),
                cols.len()
            )));
        }
        let cols = cols
            .iter()
            .zip(&self.kinds)
            .map(|(c, k)| {
                let col = match k {
                    Kind::Utf8 => c.as_string_opt::<i32>().map(Col::Utf8),
                    Kind::Int64 => c.as_primitive_opt::<Int64Type>().map(Col::Int64),
                };
                col.ok_or_else(|| {
                    DataFusionError::Internal(format!(
                        "group key column {k:?} got {}",
                        c.data_type()
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let rows = cols.first().map_or(0, Col::len);
        groups.clear();
        groups.reserve(rows);
        for row in 0..rows {
            self.scratch.clear();
            for c in &cols {
                c.write(row, &mut self.scratch)?;
            }
            groups.push(map.intern(&self.scratch)? as usize);
        }
        Ok(())
    }

    /// Bytes held besides the map.
    pub(super) fn size(&self) -> usize {
        self.kinds.capacity() + self.scratch.capacity()
    }

    pub(super) fn clear(&mut self) {
        self.scratch = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::keys::Keys;
    use arrow::datatypes::{Field, Schema};
    use datafusion::logical_expr::EmitTo;
    use datafusion::physical_plan::aggregates::group_values::new_group_values;
    use datafusion::physical_plan::aggregates::group_values::GroupValues;
    use datafusion::physical_plan::aggregates::order::GroupOrdering;

    /// Same group numbers and the same emitted keys as DataFusion's own group values, for a
    /// (text, text) and a (text, integer) key with NULLs in either place, values that would
    /// run together if simply concatenated ("ab"+"c" and "a"+"bc"), and a front emit.
    #[test]
    fn numbers_and_emits_groups_as_datafusion_does() {
        let text = |v: &[Option<&str>]| -> ArrayRef { Arc::new(StringArray::from(v.to_vec())) };
        let int = |v: &[Option<i64>]| -> ArrayRef { Arc::new(Int64Array::from(v.to_vec())) };
        let a = [
            Some("ab"),
            Some("a"),
            None,
            Some("ab"),
            Some(""),
            None,
            Some("a"),
        ];
        let b = [
            Some("c"),
            Some("bc"),
            Some("x"),
            Some("c"),
            None,
            None,
            Some("bc"),
        ];
        let n = [
            Some(1),
            Some(-1),
            None,
            Some(1),
            Some(i64::MAX),
            None,
            Some(-1),
        ];
        for (second, dt) in [(text(&b), DataType::Utf8), (int(&n), DataType::Int64)] {
            let schema = Arc::new(Schema::new(vec![
                Field::new("a", DataType::Utf8, true),
                Field::new("b", dt, true),
            ]));
            let mut ours = Keys::for_schema(&schema).unwrap();
            let mut theirs = new_group_values(schema, &GroupOrdering::None).unwrap();
            let cols = [text(&a), second];
            let (mut x, mut y) = (Vec::new(), Vec::new());
            ours.intern(&cols, &mut x).unwrap();
            theirs.intern(&cols, &mut y).unwrap();
            assert_eq!(x, y);
            let (e, f) = (
                ours.emit(EmitTo::First(2)).unwrap(),
                theirs.emit(EmitTo::First(2)).unwrap(),
            );
            assert_eq!(e.len(), 2);
            for (p, q) in e.iter().zip(&f) {
                assert_eq!(p.as_ref(), q.as_ref());
            }
            ours.intern(&cols, &mut x).unwrap();
            theirs.intern(&cols, &mut y).unwrap();
            assert_eq!(x, y, "after the front emit");
            let (e, f) = (
                ours.emit(EmitTo::All).unwrap(),
                theirs.emit(EmitTo::All).unwrap(),
            );
            for (p, q) in e.iter().zip(&f) {
                assert_eq!(p.as_ref(), q.as_ref());
            }
            assert!(ours.is_empty());
        }
    }

    #[test]
    fn other_column_types_are_left_to_datafusion() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Utf8, true),
            Field::new("b", DataType::Float64, true),
        ]));
        assert!(Keys::for_schema(&schema).is_none());
    }
}
