//! Rhai scripts in rules, sandboxed.
//!
//! A rule's `script` defines one of two functions:
//! * `fn on_event(e)` — a per-event rule: runs on each row the rule's `filter` kept (columns as
//!   map keys); returning `true` flags the event. Flagged events are windowed and alerted per
//!   entity like a SQL rule.
//! * `fn on_window(row)` — post-processes each result row of the rule's `sql`; returns `false`
//!   or `()` to drop the alert, `true` to keep it, or a map to keep it with extra fields
//!   (`severity` and `title` keys override the rule's).
//!
//! Scripts are compiled once at load on an engine started from `Engine::new_raw()` with the
//! standard (pure) packages only: no file, network, `eval` or module import. Operation count,
//! call depth, expression depth and string/array/map sizes are limited, so a runaway script is
//! stopped with an error (counted and logged by the engine), never hangs the pipeline.

use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float64Type, Int32Type, Int64Type, TimestampMillisecondType};
use rhai::packages::{Package, StandardPackage};
use rhai::{Dynamic, Engine, Map, Scope, AST};

/// Limits every rule script runs under.
#[derive(Debug, Clone, Copy)]
pub struct ScriptLimits {
    /// Operations per call (a loop iteration is a few).
    pub max_operations: u64,
    /// Longest string a script may build, in bytes.
    pub max_string_size: usize,
    /// Largest array.
    pub max_array_size: usize,
    /// Largest map.
    pub max_map_size: usize,
    /// Deepest function call nesting.
    pub max_call_levels: usize,
}

impl Default for ScriptLimits {
    fn default() -> Self {
        ScriptLimits {
            max_operations: 200_000,
            max_string_size: 64 * 1024,
            max_array_size: 10_000,
            max_map_size: 1_000,
            max_call_levels: 32,
        }
    }
}

/// Which hook a script defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptKind {
    /// `on_event(e)`.
    PerEvent,
    /// `on_window(row)`.
    PerWindow,
}

/// What an `on_window` call decided.
#[derive(Debug, Clone)]
pub enum WindowVerdict {
    /// No alert for this row.
    Drop,
    /// Alert, with these extra fields (may be empty).
    Keep(Map),
}

/// A compiled rule script.
pub struct RuleScript {
    engine: Arc<Engine>,
    ast: AST,
    /// The hook it defines.
    pub kind: ScriptKind,
    limits: ScriptLimits,
}

impl std::fmt::Debug for RuleScript {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleScript")
            .field("kind", &self.kind)
            .finish()
    }
}

/// A compile error with its position in the script (1-based; 0 if unknown).
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptCompileError {
    /// Line in the script text.
    pub line: usize,
    /// Column in that line.
    pub col: usize,
    /// What is wrong.
    pub message: String,
}

/// The sandboxed engine every script runs on.
pub fn sandbox(limits: ScriptLimits) -> Engine {
    let mut engine = Engine::new_raw();
    engine.register_global_module(StandardPackage::new().as_shared_module());
    engine
        .set_max_operations(limits.max_operations)
        .set_max_string_size(limits.max_string_size)
        .set_max_array_size(limits.max_array_size)
        .set_max_map_size(limits.max_map_size)
        .set_max_call_levels(limits.max_call_levels)
        .set_max_expr_depths(64, 32);
    engine.disable_symbol("eval");
    engine.on_print(|_| {});
    engine.on_debug(|_, _, _| {});
    crate::functions::registry::register_rhai(&mut engine);
    engine
}

impl RuleScript {
    /// Compiles a script; it must define exactly one of `on_event(e)` or `on_window(row)`.
    pub fn compile(source: &str, limits: ScriptLimits) -> Result<RuleScript, ScriptCompileError> {
        let engine = sandbox(limits);
        let ast = engine.compile(source).map_err(|e| {
            let pos = e.position();
            ScriptCompileError {
                line: pos.line().unwrap_or(0),
                col: pos.position().unwrap_or(0),
                message: e.to_string(),
            }
        })?;
        let has = |name: &str| {
            ast.iter_functions()
                .any(|f| f.name == name && f.params.len() == 1)
        };
        let kind = match (has("on_event"), has("on_window")) {
            (true, false) => ScriptKind::PerEvent,
            (false, true) => ScriptKind::PerWindow,
            _ => {
                return Err(ScriptCompileError {
                    line: 1,
                    col: 1,
                    message: "a rule script must define exactly one of `fn on_event(e)` or `fn on_window(row)`".into(),
                })
            }
        };
        Ok(RuleScript {
            engine: Arc::new(engine),
            ast,
            kind,
            limits,
        })
    }

    /// Longest text value a script receives: a quarter of its string limit, so a script can
    /// still lowercase or concatenate what it gets without hitting the limit.
    pub fn field_limit(&self) -> usize {
        (self.limits.max_string_size / 4).max(1)
    }

    /// One row as the map a script receives: text values longer than
    /// [`field_limit`](Self::field_limit) are cut to it, and `_truncated` lists their names
    /// (absent when nothing was cut). Attacker-sized input can therefore not make a script
    /// fail, and so never fail open.
    pub fn row_map(&self, batch: &RecordBatch, row: usize) -> Map {
        row_to_map_limited(batch, row, self.field_limit())
    }

    /// Runs `on_event`; `Ok(true)` flags the event.
    pub fn on_event(&self, event: Map) -> Result<bool, String> {
        let out: Dynamic = self
            .engine
            .call_fn(&mut Scope::new(), &self.ast, "on_event", (event,))
            .map_err(|e| e.to_string())?;
        Ok(truthy(&out))
    }

    /// Runs `on_window` on one SQL result row.
    pub fn on_window(&self, row: Map) -> Result<WindowVerdict, String> {
        let out: Dynamic = self
            .engine
            .call_fn(&mut Scope::new(), &self.ast, "on_window", (row,))
            .map_err(|e| e.to_string())?;
        if let Some(map) = out.clone().try_cast::<Map>() {
            return Ok(WindowVerdict::Keep(map));
        }
        Ok(if truthy(&out) {
            WindowVerdict::Keep(Map::new())
        } else {
            WindowVerdict::Drop
        })
    }
}

fn truthy(d: &Dynamic) -> bool {
    d.as_bool().unwrap_or(false)
}

/// Column names that appear as words in a script: the columns it may read, so ingest decodes them.
pub fn referenced_columns(source: &str) -> Vec<gatewatch_ingest::Column> {
    gatewatch_ingest::Column::ALL
        .iter()
        .copied()
        .filter(|c| {
            source.match_indices(c.name()).any(|(i, m)| {
                let before = source[..i].chars().next_back();
                let after = source[i + m.len()..].chars().next();
                let word =
                    |ch: Option<char>| ch.is_some_and(|ch| ch.is_alphanumeric() || ch == '_');
                !word(before) && !word(after)
            })
        })
        .collect()
}

/// One row of a batch as a Rhai map: text as strings, numbers as numbers, times as epoch ms,
/// lists as arrays, nulls as `()`. Text is cut to the default script field limit (see
/// [`RuleScript::row_map`]).
pub fn row_to_map(batch: &RecordBatch, row: usize) -> Map {
    row_to_map_limited(batch, row, ScriptLimits::default().max_string_size / 4)
}

/// [`row_to_map`] with text cut to `max_text` bytes (at a character boundary); the names of
/// cut fields are listed in `_truncated`.
pub fn row_to_map_limited(batch: &RecordBatch, row: usize, max_text: usize) -> Map {
    let schema = batch.schema();
    let mut map = Map::new();
    let mut truncated: rhai::Array = Vec::new();
    for (field, col) in schema.fields().iter().zip(batch.columns()) {
        let value = if *col.data_type() == DataType::Utf8 && !col.is_null(row) {
            let text = col.as_string::<i32>().value(row);
            if text.len() > max_text {
                let mut end = max_text;
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                truncated.push(field.name().as_str().into());
                text[..end].into()
            } else {
                text.into()
            }
        } else {
            cell(col.as_ref(), row)
        };
        map.insert(field.name().as_str().into(), value);
    }
    if !truncated.is_empty() {
        map.insert("_truncated".into(), truncated.into());
    }
    map
}

fn cell(col: &dyn Array, row: usize) -> Dynamic {
    if col.is_null(row) {
        return Dynamic::UNIT;
    }
    match col.data_type() {
        DataType::Utf8 => col.as_string::<i32>().value(row).into(),
        DataType::Int32 => Dynamic::from_int(i64::from(col.as_primitive::<Int32Type>().value(row))),
        DataType::Int64 => Dynamic::from_int(col.as_primitive::<Int64Type>().value(row)),
        DataType::Float64 => Dynamic::from_float(col.as_primitive::<Float64Type>().value(row)),
        DataType::Boolean => Dynamic::from_bool(col.as_boolean().value(row)),
        DataType::Timestamp(..) => match arrow::compute::cast(
            &col.slice(row, 1),
            &DataType::Timestamp(arrow::datatypes::TimeUnit::Millisecond, None),
        ) {
            Ok(a) => Dynamic::from_int(a.as_primitive::<TimestampMillisecondType>().value(0)),
            Err(_) => Dynamic::UNIT,
        },
        DataType::List(_) => {
            let inner = col.as_list::<i32>().value(row);
            let arr: rhai::Array = (0..inner.len()).map(|i| cell(inner.as_ref(), i)).collect();
            arr.into()
        }
        DataType::UInt64
        | DataType::UInt32
        | DataType::Int16
        | DataType::Int8
        | DataType::UInt16
        | DataType::UInt8 => match arrow::compute::cast(&col.slice(row, 1), &DataType::Int64) {
            Ok(a) => Dynamic::from_int(a.as_primitive::<Int64Type>().value(0)),
            Err(_) => Dynamic::UNIT,
        },
        _ => match arrow::util::display::ArrayFormatter::try_new(col, &Default::default()) {
            Ok(f) => f.value(row).to_string().into(),
            Err(_) => Dynamic::UNIT,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(status: i64, ua: &str) -> Map {
        let mut m = Map::new();
        m.insert("status".into(), Dynamic::from_int(status));
        m.insert("user_agent".into(), ua.into());
        m
    }

    #[test]
    fn per_event_script_with_helpers() {
        let s = RuleScript::compile(
            r#"fn on_event(e) { e.status == 401 && ua_class(e.user_agent) == "tool" }"#,
            ScriptLimits::default(),
        )
        .unwrap();
        assert_eq!(s.kind, ScriptKind::PerEvent);
        assert!(s.on_event(event(401, "curl/8")).unwrap());
        assert!(!s
            .on_event(event(401, "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"))
            .unwrap());
    }

    #[test]
    fn per_window_script_can_drop_keep_or_annotate() {
        let s = RuleScript::compile(
            r#"fn on_window(row) { if row.n < 5 { return (); } if row.n > 100 { #{severity: "critical", score: row.n * 2} } else { true } }"#,
            ScriptLimits::default(),
        )
        .unwrap();
        let row = |n: i64| {
            let mut m = Map::new();
            m.insert("n".into(), Dynamic::from_int(n));
            m
        };
        assert!(matches!(s.on_window(row(1)).unwrap(), WindowVerdict::Drop));
        assert!(matches!(s.on_window(row(50)).unwrap(), WindowVerdict::Keep(m) if m.is_empty()));
        match s.on_window(row(200)).unwrap() {
            WindowVerdict::Keep(m) => assert_eq!(m["score"].as_int().unwrap(), 400),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_huge_field_reaches_the_script_cut_and_flagged_not_failing() {
        use arrow::array::StringArray;
        let script = RuleScript::compile(
            r#"fn on_event(e) { let ua = e.user_agent.to_lower(); ua.contains("sqlmap") && "user_agent" in e._truncated }"#,
            ScriptLimits::default(),
        )
        .unwrap();
        let ua = format!("sqlmap/1.8 {}", "A".repeat(70_000));
        let batch = RecordBatch::try_from_iter(vec![(
            "user_agent",
            Arc::new(StringArray::from(vec![ua.as_str()])) as _,
        )])
        .unwrap();
        assert_eq!(script.on_event(script.row_map(&batch, 0)), Ok(true));
    }

    #[test]
    fn runaway_scripts_are_stopped() {
        let looping =
            RuleScript::compile("fn on_event(e) { loop { } }", ScriptLimits::default()).unwrap();
        let err = looping.on_event(Map::new()).unwrap_err();
        assert!(err.contains("Too many operations"), "{err}");

        let huge = RuleScript::compile(
            r#"fn on_event(e) { let s = "x"; loop { s += s; } }"#,
            ScriptLimits::default(),
        )
        .unwrap();
        let err = huge.on_event(Map::new()).unwrap_err();
        assert!(err.to_lowercase().contains("length of string"), "{err}");

        let array = RuleScript::compile(
            "fn on_event(e) { let a = []; loop { a.push(1); } }",
            ScriptLimits::default(),
        )
        .unwrap();
        let err = array.on_event(Map::new()).unwrap_err();
        assert!(
            err.contains("Size of array") || err.contains("Too many operations"),
            "{err}"
        );

        let deep = RuleScript::compile(
            "fn f(x) { f(x + 1) } fn on_event(e) { f(0) }",
            ScriptLimits::default(),
        )
        .unwrap();
        assert!(deep.on_event(Map::new()).is_err());
    }

    #[test]
    fn no_eval_and_clear_compile_errors() {
        let err = RuleScript::compile(
            "fn on_event(e) {\n  eval(\"1\")\n}",
            ScriptLimits::default(),
        )
        .unwrap_err();
        assert_eq!(err.line, 2, "{err:?}");
        let err = RuleScript::compile("fn on_event(e) {\n  let = 3;\n}", ScriptLimits::default())
            .unwrap_err();
        assert_eq!(err.line, 2, "{err:?}");
        let err = RuleScript::compile("fn other(x) { x }", ScriptLimits::default()).unwrap_err();
        assert!(err.message.contains("on_event"));
    }

    #[test]
    fn referenced_columns_are_whole_words() {
        let cols = referenced_columns(
            "fn on_event(e) { e.status == 401 && e.user_agent != \"\" && e.upstream_status_x }",
        );
        let names: Vec<_> = cols.iter().map(|c| c.name()).collect();
        assert_eq!(names, ["status", "user_agent"]);
    }
}
