//! Group keys held compactly and hashed with a seed of this process: one text column
//! (`GROUP BY client_ip`) or several text and integer columns (`GROUP BY client_ip,
//! username`): [`Keys`].
//!
//! Nearly every rule groups by one text column, and the group keys are most of a counting
//! rule's state: DataFusion's map for them keeps a 32-byte entry per hash-table bucket (about
//! 80 bytes per key at a million keys). Here a bucket holds the 4-byte group index; a key's
//! bytes sit once in one buffer, and its hash is recomputed from them when the table grows
//! (about 30 bytes per short key). The hash is seeded per process: group keys are written by
//! clients (an address from `X-Forwarded-For`, a user name), and a fixed seed would let values
//! chosen offline pile into one bucket chain.
//!
//! Groups are numbered in order of first appearance, as [`GroupValues`] requires; the key of
//! group `g` is `bytes[offsets[g]..offsets[g + 1]]`. For one text column that is the text
//! itself (empty for the NULL group), so emitting is handing the buffers to a `StringArray`
//! without a copy; several columns are written into one byte string per row (module `rows`).
//! A hash-flooding attempt needs keys that collide under a seed it cannot know.

use std::hash::BuildHasher;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, StringArray};
use arrow::buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, SchemaRef};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::EmitTo;
use datafusion::physical_plan::aggregates::group_values::GroupValues;
use hashbrown::HashTable;

mod rows;

/// Byte strings numbered in order of first appearance: the map under both key kinds. Key `g`
/// is `bytes[offsets[g]..offsets[g + 1]]`.
struct ByteMap {
    /// Key number per occupied bucket.
    table: HashTable<u32>,
    /// Starts with 0; one more entry per key.
    offsets: Vec<i32>,
    bytes: Vec<u8>,
    state: foldhash::fast::RandomState,
}

impl Default for ByteMap {
    fn default() -> Self {
        ByteMap {
            table: HashTable::new(),
            offsets: vec![0],
            bytes: Vec::new(),
            state: foldhash::fast::RandomState::default(),
        }
    }
}

/// Key `g` of `offsets` and `bytes`.
fn key<'a>(offsets: &[i32], bytes: &'a [u8], g: u32) -> &'a [u8] {
    let g = g as usize;
    // Offsets only grow and were checked to fit when pushed: the casts are lossless.
    &bytes[offsets[g] as usize..offsets[g + 1] as usize]
}

fn exhausted(what: &str) -> DataFusionError {
    DataFusionError::ResourcesExhausted(format!(
        "a window's group keys exceed {what}; lower the state limits (--max-state-bytes, \
         --max-groups) so that windows shed load before this"
    ))
}

impl ByteMap {
    fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Closes the key whose bytes were just appended (none for the NULL group of one column,
    /// which is never looked up): its number.
    fn close_key(&mut self) -> Result<u32> {
        let (Ok(end), Ok(g)) = (i32::try_from(self.bytes.len()), u32::try_from(self.len())) else {
            self.bytes.truncate(self.offsets[self.len()] as usize);
            return Err(exhausted("2 GiB or 4 billion groups"));
        };
        self.offsets.push(end);
        Ok(g)
    }

    /// The number of `key`, given a new one if it is new.
    fn intern(&mut self, key: &[u8]) -> Result<u32> {
        let hash = self.state.hash_one(key);
        let (offsets, bytes) = (&self.offsets, &self.bytes);
        if let Some(&g) = self
            .table
            .find(hash, |&g| self::key(offsets, bytes, g) == key)
        {
            return Ok(g);
        }
        self.bytes.extend_from_slice(key);
        let g = self.close_key()?;
        let (offsets, bytes, state) = (&self.offsets, &self.bytes, &self.state);
        self.table
            .insert_unique(hash, g, |&g| state.hash_one(self::key(offsets, bytes, g)));
        Ok(g)
    }

    /// The keys' offsets and bytes, taken out (the map is emptied; its seed stays).
    fn take(&mut self) -> (Vec<i32>, Vec<u8>) {
        self.table = HashTable::new();
        (
            std::mem::replace(&mut self.offsets, vec![0]),
            std::mem::take(&mut self.bytes),
        )
    }

    fn size(&self) -> usize {
        self.table.allocation_size()
            + self.offsets.capacity() * std::mem::size_of::<i32>()
            + self.bytes.capacity()
    }
}

/// Group keys of one text column, or of several text and integer columns (see the module
/// documentation), for DataFusion's aggregation.
pub struct Keys {
    map: ByteMap,
    layout: Layout,
}

/// How a row's key is written.
enum Layout {
    /// One text column: the text itself; NULL is a group of its own, never looked up.
    Text {
        /// The group of NULL keys, once one arrived.
        null: Option<u32>,
    },
    /// Several columns, written into one byte string.
    Rows(rows::Rows),
}

impl Keys {
    /// Keys for a group-by of `schema`'s columns: one `Utf8` column, or several columns each
    /// `Utf8` or `Int64`. Other shapes are left to DataFusion's group values (`None`).
    pub fn for_schema(schema: &SchemaRef) -> Option<Keys> {
        let layout = match schema.fields().as_ref() {
            [f] if f.data_type() == &DataType::Utf8 => Layout::Text { null: None },
            [_, _, ..] => Layout::Rows(rows::Rows::for_schema(schema)?),
            _ => return None,
        };
        Some(Keys {
            map: ByteMap::default(),
            layout,
        })
    }

    /// Everything held, one array per column (the keys are emptied).
    fn emit_all(&mut self) -> Result<Vec<ArrayRef>> {
        let null = match &mut self.layout {
            Layout::Rows(rows) => return rows.emit_all(&mut self.map),
            Layout::Text { null } => null.take(),
        };
        let len = self.map.len();
        let (offsets, bytes) = self.map.take();
        let nulls = null.map(|n| NullBuffer::from_iter((0..len).map(|g| g != n as usize)));
        let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
        Ok(vec![Arc::new(StringArray::try_new(
            offsets,
            Buffer::from_vec(bytes),
            nulls,
        )?)])
    }
}

/// Numbers the rows of one text column.
fn intern_text(
    map: &mut ByteMap,
    null: &mut Option<u32>,
    cols: &[ArrayRef],
    groups: &mut Vec<usize>,
) -> Result<()> {
    let [col] = cols else {
        return Err(DataFusionError::Internal(format!(
            "text group keys take one column, got {}",
            cols.len()
        )));
    };
    let arr = col.as_string_opt::<i32>().ok_or_else(|| {
        DataFusionError::Internal(format!("text group keys got {}", col.data_type()))
    })?;
    groups.clear();
    groups.reserve(arr.len());
    for row in 0..arr.len() {
        let g = if arr.is_null(row) {
            match *null {
                Some(g) => g,
                None => *null.insert(map.close_key()?),
            }
        } else {
            map.intern(arr.value(row).as_bytes())?
        };
        groups.push(g as usize);
    }
    Ok(())
}

impl GroupValues for Keys {
    fn intern(&mut self, cols: &[ArrayRef], groups: &mut Vec<usize>) -> Result<()> {
        match &mut self.layout {
            Layout::Text { null } => intern_text(&mut self.map, null, cols, groups),
            Layout::Rows(rows) => rows.intern(&mut self.map, cols, groups),
        }
    }

    fn size(&self) -> usize {
        let rows = match &self.layout {
            Layout::Text { .. } => 0,
            Layout::Rows(rows) => rows.size(),
        };
        std::mem::size_of::<Self>() + self.map.size() + rows
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn len(&self) -> usize {
        self.map.len()
    }

    fn emit(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let all = self.emit_all()?;
        reintern_rest(self, all, emit_to)
    }

    fn clear_shrink(&mut self, _num_rows: usize) {
        self.map.take();
        match &mut self.layout {
            Layout::Text { null } => *null = None,
            Layout::Rows(rows) => rows.clear(),
        }
    }
}

/// `emit_to`'s part of `all` (everything the keys held, just emitted); the rest is interned
/// again. The rest are distinct, so in order they are numbered 0, 1, ...
fn reintern_rest(
    keys: &mut dyn GroupValues,
    all: Vec<ArrayRef>,
    emit_to: EmitTo,
) -> Result<Vec<ArrayRef>> {
    let len = all.first().map_or(0, |a| a.len());
    let n = match emit_to {
        EmitTo::First(n) if n < len => n,
        _ => return Ok(all),
    };
    let rest: Vec<ArrayRef> = all.iter().map(|a| a.slice(n, len - n)).collect();
    let mut idx = Vec::new();
    keys.intern(&rest, &mut idx)?;
    Ok(all.iter().map(|a| a.slice(0, n)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::physical_plan::aggregates::group_values::new_group_values;
    use datafusion::physical_plan::aggregates::order::GroupOrdering;

    fn text_keys() -> Keys {
        let schema = Arc::new(Schema::new(vec![Field::new("k", DataType::Utf8, true)]));
        Keys::for_schema(&schema).unwrap()
    }

    fn strings(v: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(v.to_vec()))
    }

    fn datafusion_keys() -> Box<dyn GroupValues> {
        let schema = Arc::new(Schema::new(vec![Field::new("k", DataType::Utf8, true)]));
        new_group_values(schema, &GroupOrdering::None).unwrap()
    }

    /// Same group numbers and the same emitted keys as DataFusion's own map, over batches with
    /// repeats, NULLs, the empty string and long keys; also after emitting the first groups.
    #[test]
    fn numbers_and_emits_groups_as_datafusion_does() {
        let long = "x".repeat(300);
        let batches = [
            strings(&[
                Some("10.0.0.1"),
                None,
                Some(""),
                Some("10.0.0.1"),
                Some(&long),
            ]),
            strings(&[Some("a"), Some(&long), None, Some("b"), Some("")]),
            strings(&[]),
            strings(&[Some("c"), Some("a"), Some("d")]),
        ];
        let mut ours = text_keys();
        let mut theirs = datafusion_keys();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for (i, batch) in batches.iter().enumerate() {
            ours.intern(std::slice::from_ref(batch), &mut a).unwrap();
            theirs.intern(std::slice::from_ref(batch), &mut b).unwrap();
            assert_eq!(a, b, "batch {i}");
            assert_eq!(ours.len(), theirs.len());
            if i == 1 {
                let x = ours.emit(EmitTo::First(2)).unwrap();
                let y = theirs.emit(EmitTo::First(2)).unwrap();
                assert_eq!(x[0].as_ref(), y[0].as_ref(), "first two groups");
            }
        }
        let x = ours.emit(EmitTo::All).unwrap();
        let y = theirs.emit(EmitTo::All).unwrap();
        assert_eq!(x[0].as_ref(), y[0].as_ref());
        assert!(ours.is_empty());
        // Usable again after emitting everything.
        ours.intern(&[strings(&[Some("z"), None])], &mut a).unwrap();
        assert_eq!(a, [0, 1]);
    }

    #[test]
    fn a_million_short_keys_take_about_thirty_bytes_each() {
        let mut keys = text_keys();
        let mut idx = Vec::new();
        for chunk in 0..125u32 {
            let vals: Vec<String> = (0..8000u32)
                .map(|i| {
                    let e = chunk * 8000 + i;
                    format!("10.{}.{}.{}", e >> 16, (e >> 8) & 255, e & 255)
                })
                .collect();
            let arr: ArrayRef = Arc::new(StringArray::from_iter_values(vals));
            keys.intern(&[arr], &mut idx).unwrap();
        }
        assert_eq!(keys.len(), 1_000_000);
        let per_key = keys.size() / keys.len();
        assert!(per_key <= 40, "{per_key} bytes per key");
    }

    /// Two instances place the same key in unrelated buckets: no value chosen offline collides
    /// in every process.
    #[test]
    fn the_hash_is_seeded_per_instance() {
        let (a, b) = (text_keys(), text_keys());
        assert_ne!(
            a.map.state.hash_one(b"10.0.0.1"),
            b.map.state.hash_one(b"10.0.0.1")
        );
    }
}
