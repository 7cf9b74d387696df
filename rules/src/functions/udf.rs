//! The helper functions as DataFusion UDFs and UDAFs, registered in every rule's context
//! from [`super::registry::HELPERS`] (which also gives them to Rhai).
//!
//! What each helper means is documented once, in [`super::registry::HELPERS`].

use std::cell::RefCell;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Float64Array, StringArray};
use arrow::buffer::BooleanBuffer;
use arrow::datatypes::{DataType, Int32Type, Int64Type, TimeUnit};
use datafusion::common::plan_err;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::{
    create_udf, ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;
use datafusion::prelude::{lit, Expr};

use super::classifier::Classifier;
use super::probe::path_changes_when_normalized;
use super::{
    cidr_contains, normalize_path, shannon_entropy, url_extension, with_api_spec, EndpointLearner,
};
use crate::remembered::{Bounds, Remembered};

/// Applies the pure helper `name` (`f`) to array arguments, keeping scalar-in/scalar-out so
/// constant folding works; a call on the very same arrays as a recent one reuses its result
/// (see [`super::memo`]).
fn map_args(
    name: &'static str,
    args: &[ColumnarValue],
    f: impl Fn(&[ArrayRef]) -> Result<ArrayRef>,
) -> Result<ColumnarValue> {
    super::memo::memoized(name, args, || {
        let all_scalar = args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let arrays = ColumnarValue::values_to_arrays(args)?;
        let out = f(&arrays)?;
        if all_scalar {
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
        } else {
            Ok(ColumnarValue::Array(out))
        }
    })
}

fn value_at(a: &StringArray, i: usize) -> Option<&str> {
    a.is_valid(i).then(|| a.value(i))
}

fn utf8(a: &ArrayRef) -> Result<ArrayRef> {
    Ok(arrow::compute::cast(a, &DataType::Utf8)?)
}

/// A SQL function of one text argument answering text (null for a null argument).
pub(super) fn string_fn(name: &'static str, f: fn(&str) -> String) -> ScalarUDF {
    text_fn(name, move |s| Some(f(s)))
}

/// A SQL function of one text argument answering a static string or null.
pub(super) fn optional_string_fn(
    name: &'static str,
    f: fn(&str) -> Option<&'static str>,
) -> ScalarUDF {
    text_fn(name, f)
}

/// A SQL function of one text argument answering true or false (null for a null argument).
pub(super) fn predicate_fn(name: &'static str, f: fn(&str) -> bool) -> ScalarUDF {
    create_udf(
        name,
        vec![DataType::Utf8],
        DataType::Boolean,
        Volatility::Immutable,
        Arc::new(move |args| {
            map_args(name, args, |a| {
                let s = utf8(&a[0])?;
                let out: BooleanArray = s.as_string::<i32>().iter().map(|v| v.map(f)).collect();
                Ok(Arc::new(out) as ArrayRef)
            })
        }),
    )
}

/// A SQL function of two text arguments answering true or false (null if either is null).
pub(super) fn predicate2_fn(name: &'static str, f: fn(&str, &str) -> bool) -> ScalarUDF {
    create_udf(
        name,
        vec![DataType::Utf8, DataType::Utf8],
        DataType::Boolean,
        Volatility::Immutable,
        Arc::new(move |args| {
            map_args(name, args, |a| {
                let (x, y) = (utf8(&a[0])?, utf8(&a[1])?);
                let out: BooleanArray = (x.as_string::<i32>().iter())
                    .zip(y.as_string::<i32>().iter())
                    .map(|(x, y)| Some(f(x?, y?)))
                    .collect();
                Ok(Arc::new(out) as ArrayRef)
            })
        }),
    )
}

/// A SQL function of one text argument answering text or null (null for a null argument).
fn text_fn<T: AsRef<str>>(
    name: &'static str,
    f: impl Fn(&str) -> Option<T> + Send + Sync + 'static,
) -> ScalarUDF {
    create_udf(
        name,
        vec![DataType::Utf8],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(move |args| {
            map_args(name, args, |a| {
                let s = utf8(&a[0])?;
                let out: StringArray = s
                    .as_string::<i32>()
                    .iter()
                    .map(|v| v.and_then(&f))
                    .collect();
                Ok(Arc::new(out) as ArrayRef)
            })
        }),
    )
}

/// `ua_class(user_agent)`: class names are static strings, so no per-row allocation.
pub(super) fn ua_class_udf() -> ScalarUDF {
    classifier_udf(Classifier::UaClass)
}

/// `probe_class(path, query, user_agent)`.
pub(super) fn probe_class_udf() -> ScalarUDF {
    classifier_udf(Classifier::ProbeClass)
}

/// `injected_code(path, query, user_agent)`.
pub(super) fn injected_code_udf() -> ScalarUDF {
    classifier_udf(Classifier::InjectedCode)
}

/// A [`Classifier`] as a SQL function of its text arguments, row by row.
fn classifier_udf(c: Classifier) -> ScalarUDF {
    create_udf(
        c.name(),
        vec![DataType::Utf8; c.arity()],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(move |args| {
            map_args(c.name(), args, |a| {
                let texts = a.iter().map(utf8).collect::<Result<Vec<ArrayRef>>>()?;
                let texts: Vec<&StringArray> = texts.iter().map(|t| t.as_string::<i32>()).collect();
                let rows = texts.first().map_or(0, |t| t.len());
                let mut values: Vec<Option<&str>> = Vec::with_capacity(texts.len());
                let out: StringArray = (0..rows)
                    .map(|i| {
                        values.clear();
                        values.extend(texts.iter().map(|t| value_at(t, i)));
                        c.answer(&values)
                    })
                    .collect();
                Ok(Arc::new(out) as ArrayRef)
            })
        }),
    )
}

/// `api_spec_status(method, route_template)`.
pub(super) fn api_spec_status_udf() -> ScalarUDF {
    create_udf(
        "api_spec_status",
        vec![DataType::Utf8, DataType::Utf8],
        DataType::Utf8,
        // The loaded spec can change between runs of one process (tests), never mid-batch.
        Volatility::Stable,
        Arc::new(|args| {
            map_args("api_spec_status", args, |a| {
                let (m, t) = (utf8(&a[0])?, utf8(&a[1])?);
                let (m, t) = (m.as_string::<i32>(), t.as_string::<i32>());
                let out: StringArray = with_api_spec(|spec| {
                    m.iter()
                        .zip(t.iter())
                        .map(|(m, t)| Some(spec?.status(m?, t?)))
                        .collect()
                });
                Ok(Arc::new(out) as ArrayRef)
            })
        }),
    )
}

/// The name of the one stateful helper: filters calling it are evaluated per task, in record
/// order, with a learner of their own (see `crate::filter`).
pub const ENDPOINT_IS_NEW: &str = "endpoint_is_new";

/// `endpoint_is_new(method, route_template, event_time, learning_ms)`, answering from
/// `learner`: stateful (volatile), so every task gets its own instance bound to its own learner.
pub fn endpoint_is_new_udf(learner: Arc<std::sync::Mutex<EndpointLearner>>) -> ScalarUDF {
    create_udf(
        ENDPOINT_IS_NEW,
        vec![
            DataType::Utf8,
            DataType::Utf8,
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            DataType::Int64,
        ],
        DataType::Boolean,
        Volatility::Volatile,
        Arc::new(move |args| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let (m, t) = (utf8(&arrays[0])?, utf8(&arrays[1])?);
            let (m, t) = (m.as_string::<i32>(), t.as_string::<i32>());
            let times = arrow::compute::cast(&arrays[2], &DataType::Int64)?;
            let times = times.as_primitive::<Int64Type>();
            let learning = arrow::compute::cast(&arrays[3], &DataType::Int64)?;
            let learning = learning.as_primitive::<Int64Type>();
            let mut l = EndpointLearner::lock(&learner)?;
            let mut key = String::new();
            let out: BooleanArray = (0..m.len())
                .map(|i| {
                    if m.is_null(i) || t.is_null(i) || times.is_null(i) {
                        return None;
                    }
                    key.clear();
                    key.push_str(m.value(i));
                    key.push(' ');
                    key.push_str(t.value(i));
                    Some(l.is_new(&key, times.value(i), learning.value(i)))
                })
                .collect();
            Ok(ColumnarValue::Array(Arc::new(out)))
        }),
    )
}

/// `url_extension(path)`.
pub(super) fn url_extension_udf() -> ScalarUDF {
    create_udf(
        "url_extension",
        vec![DataType::Utf8],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(|args| {
            map_args("url_extension", args, |a| {
                let s = utf8(&a[0])?;
                let out: StringArray = s
                    .as_string::<i32>()
                    .iter()
                    .map(|v| v.and_then(url_extension))
                    .collect();
                Ok(Arc::new(out) as ArrayRef)
            })
        }),
    )
}

/// `normalized_path(path)`: the input column itself when no row changes (the common case),
/// so a regex over it costs what one over `path` does.
pub(super) fn normalized_path_udf() -> ScalarUDF {
    create_udf(
        "normalized_path",
        vec![DataType::Utf8],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(|args| {
            map_args("normalized_path", args, |a| {
                let s = utf8(&a[0])?;
                let paths = s.as_string::<i32>();
                if !paths.iter().flatten().any(path_changes_when_normalized) {
                    return Ok(s);
                }
                // Some path changes: unchanged ones are copied into the column, not allocated.
                let mut out = arrow::array::StringBuilder::with_capacity(
                    paths.len(),
                    paths.value_data().len(),
                );
                for path in paths {
                    out.append_option(path.map(normalize_path));
                }
                Ok(Arc::new(out.finish()) as ArrayRef)
            })
        }),
    )
}

/// `cidr_contains(cidr, ip)`.
pub(super) fn cidr_contains_udf() -> ScalarUDF {
    create_udf(
        "cidr_contains",
        vec![DataType::Utf8, DataType::Utf8],
        DataType::Boolean,
        Volatility::Immutable,
        Arc::new(|args| {
            map_args("cidr_contains", args, |a| {
                let (c, i) = (utf8(&a[0])?, utf8(&a[1])?);
                let (c, i) = (c.as_string::<i32>(), i.as_string::<i32>());
                let out: BooleanArray = c
                    .iter()
                    .zip(i.iter())
                    .map(|(c, i)| Some(cidr_contains(c?, i?)))
                    .collect();
                Ok(Arc::new(out) as ArrayRef)
            })
        }),
    )
}

/// `crawler_verified(user_agent, client_ip)`: static strings, no per-row allocation.
pub(super) fn crawler_verified_udf() -> ScalarUDF {
    classifier_udf(Classifier::CrawlerVerified)
}

/// `missing(status)` / `refused(status)`: planned as `status IN (...)` of the statuses they
/// name (`simplify`; rule filters rewrite them so too, see `filter::PLANNER_ONLY`), so a rule
/// reads them as cheaply as the list written out; called directly (constant arguments), they
/// answer the same from [`super::status`].
#[derive(Debug, PartialEq, Eq, Hash)]
struct StatusSet {
    name: &'static str,
    statuses: &'static [i32],
    signature: Signature,
}

impl ScalarUDFImpl for StatusSet {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let statuses = self.statuses;
        map_args(self.name, &args.args, |a| {
            let out: BooleanArray = a[0]
                .as_primitive_opt::<Int32Type>()
                .ok_or_else(|| {
                    datafusion::error::DataFusionError::Execution(format!(
                        "{}(status): the status must be an integer column",
                        self.name
                    ))
                })?
                .iter()
                .map(|v| v.map(|s| statuses.contains(&s)))
                .collect();
            Ok(Arc::new(out) as ArrayRef)
        })
    }

    fn simplify(&self, args: Vec<Expr>, _info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        let Ok([status]) = <[Expr; 1]>::try_from(args) else {
            return plan_err!("{}(status) takes one argument", self.name);
        };
        let list = self.statuses.iter().map(|&s| lit(s)).collect();
        Ok(ExprSimplifyResult::Simplified(status.in_list(list, false)))
    }
}

/// The SQL function `name` of a status column, true for `statuses`.
pub(super) fn status_udf(name: &'static str, statuses: &'static [i32]) -> ScalarUDF {
    ScalarUDF::new_from_impl(StatusSet {
        name,
        statuses,
        signature: Signature::exact(vec![DataType::Int32], Volatility::Immutable),
    })
}

/// `linked(referer, path)`: planned as the test written out (`simplify`; rule filters rewrite
/// it so too), `referer IS NOT NULL AND strpos(referer, '://') > 0 AND strpos(lower(referer),
/// normalized_path(path)) = 0`, so filters evaluate it natively and share `normalized_path`;
/// called directly (constant arguments), it answers the same from [`super::linked`].
#[derive(Debug, PartialEq, Eq, Hash)]
struct Linked {
    signature: Signature,
}

impl ScalarUDFImpl for Linked {
    fn name(&self) -> &str {
        "linked"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        map_args("linked", &args.args, |a| {
            let (r, p) = (utf8(&a[0])?, utf8(&a[1])?);
            let (r, p) = (r.as_string::<i32>(), p.as_string::<i32>());
            let out: BooleanArray = r
                .iter()
                .zip(p.iter())
                .map(|(r, p)| p.map(|p| super::linked(r, p)))
                .collect();
            Ok(Arc::new(out) as ArrayRef)
        })
    }

    fn simplify(&self, args: Vec<Expr>, _info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        let Ok([referer, path]) = <[Expr; 2]>::try_from(args) else {
            return plan_err!("linked(referer, path) takes two arguments");
        };
        let normalized = Arc::new(normalized_path_udf()).call(vec![path]);
        let found = datafusion::functions::expr_fn::strpos(
            datafusion::functions::expr_fn::lower(referer.clone()),
            normalized,
        );
        Ok(ExprSimplifyResult::Simplified(
            referer
                .clone()
                .is_not_null()
                .and(datafusion::functions::expr_fn::strpos(referer, lit("://")).gt(lit(0)))
                .and(found.eq(lit(0))),
        ))
    }
}

/// `linked(referer, path)` (see [`Linked`]).
pub(super) fn linked_udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(Linked {
        signature: Signature::exact(vec![DataType::Utf8, DataType::Utf8], Volatility::Immutable),
    })
}

/// `shannon_entropy(text)`.
pub(super) fn shannon_entropy_udf() -> ScalarUDF {
    create_udf(
        "shannon_entropy",
        vec![DataType::Utf8],
        DataType::Float64,
        Volatility::Immutable,
        Arc::new(|args| {
            map_args("shannon_entropy", args, |a| {
                let s = utf8(&a[0])?;
                let out: Float64Array = s
                    .as_string::<i32>()
                    .iter()
                    .map(|v| v.map(shannon_entropy))
                    .collect();
                Ok(Arc::new(out) as ArrayRef)
            })
        }),
    )
}

/// Literal patterns whose answers `regexp_like` remembers per value, per thread; more empty
/// the table (see [`crate::remembered`]).
const LIKE_PATTERNS: usize = 32;

/// Values remembered per pattern and thread: 256 KiB each, 8 MiB for all of them at most.
const LIKE_VALUES: Bounds = Bounds {
    entries: 4096,
    bytes: 256 << 10,
    key_bytes: 256,
};

thread_local! {
    static LIKE: RefCell<foldhash::HashMap<String, Remembered<bool>>> =
        RefCell::new(foldhash::HashMap::default());
}

/// `is` of each row of `text` (NULL for NULL), remembered per value across batches under
/// `pattern` (the key of `is`): aggregates match paths against a rule's regex on most rows of
/// every batch (`browser-ua-automation`, `machine-regular-client`), and paths repeat. Values
/// too long to remember are still asked once per call: a client repeating a 100 KB path must
/// not cost a regex walk of it on every row.
fn once_per_value(
    pattern: &str,
    text: &arrow::array::StringArray,
    is: impl Fn(&str) -> bool,
) -> BooleanArray {
    LIKE.with(|table| {
        let mut table = table.borrow_mut();
        if table.len() >= LIKE_PATTERNS && !table.contains_key(pattern) {
            table.clear();
        }
        let memo =
            (table.entry(pattern.to_owned())).or_insert_with(|| Remembered::new(LIKE_VALUES));
        let mut long: foldhash::HashMap<&str, bool> = foldhash::HashMap::default();
        let values = BooleanBuffer::collect_bool(text.len(), |i| {
            let value = text.value(i);
            text.is_valid(i)
                && match value.len() > LIKE_VALUES.key_bytes {
                    true => *long.entry(value).or_insert_with(|| is(value)),
                    false => memo.answer(value, &is),
                }
        });
        BooleanArray::new(values, text.nulls().cloned())
    })
}

/// `regexp_like(text, pattern[, flags])` with the compiled pattern cached. DataFusion's own
/// compiles the pattern on every batch; rule filters call it on every batch of traffic, so the
/// cache matters (the pattern is nearly always a literal). Same results; flags as in Rust's
/// regex inline flags (`i`, `m`, `s`, `x`, ...). Cached per thread ([`crate::thread_regex`]).
pub(super) fn cached_regexp_like() -> ScalarUDF {
    use datafusion::logical_expr::{Signature, SimpleScalarUDF, TypeSignature};
    let key = |pattern: &str, flags: Option<&str>| match flags {
        Some(f) if !f.is_empty() => format!("(?{f}){pattern}"),
        _ => pattern.to_owned(),
    };
    let compile = |key: &str| -> Result<Arc<regex::Regex>> {
        crate::thread_regex::compiled(key)
            .map_err(|e| datafusion::error::DataFusionError::Execution(format!("regexp_like: {e}")))
    };
    let signature = Signature::one_of(
        vec![
            TypeSignature::Exact(vec![DataType::Utf8, DataType::Utf8]),
            TypeSignature::Exact(vec![DataType::Utf8, DataType::Utf8, DataType::Utf8]),
        ],
        Volatility::Immutable,
    );
    ScalarUDF::from(SimpleScalarUDF::new_with_signature(
        "regexp_like",
        signature,
        DataType::Boolean,
        Arc::new(move |args| {
            // A literal pattern (and flags), nearly always: compiled once and matched row by row,
            // never first expanded into a column of copies (a 1 KB pattern over an 8192-row
            // batch was 8 MB copied per call).
            if let [ColumnarValue::Array(text), ColumnarValue::Scalar(ScalarValue::Utf8(pattern)), rest @ ..] =
                args
            {
                let flags = match rest {
                    [] => Some(None),
                    [ColumnarValue::Scalar(ScalarValue::Utf8(f))] => Some(f.as_deref()),
                    _ => None,
                };
                if let Some(flags) = flags {
                    return super::memo::memoized("regexp_like", args, || {
                        let text = utf8(text)?;
                        let text = text.as_string::<i32>();
                        let out: BooleanArray = match pattern {
                            None => BooleanArray::new_null(text.len()),
                            Some(p) => {
                                let key = key(p, flags);
                                let re = compile(&key)?;
                                once_per_value(&key, text, |t| re.is_match(t))
                            }
                        };
                        Ok(ColumnarValue::Array(Arc::new(out)))
                    });
                }
            }
            map_args("regexp_like", args, |a| {
                let text = utf8(&a[0])?;
                let patterns = utf8(&a[1])?;
                let flags = a.get(2).map(utf8).transpose()?;
                let (text, patterns) = (text.as_string::<i32>(), patterns.as_string::<i32>());
                let flags = flags.as_ref().map(|f| f.as_string::<i32>());
                let mut out = arrow::array::BooleanBuilder::with_capacity(text.len());
                let mut last: Option<(String, Option<String>, Arc<regex::Regex>)> = None;
                for i in 0..text.len() {
                    let f = flags.and_then(|f| f.is_valid(i).then(|| f.value(i)));
                    if text.is_null(i) || patterns.is_null(i) {
                        out.append_null();
                        continue;
                    }
                    let p = patterns.value(i);
                    let re = match &last {
                        Some((lp, lf, re)) if lp == p && lf.as_deref() == f => re.clone(),
                        _ => {
                            let re = compile(&key(p, f))?;
                            last = Some((p.to_owned(), f.map(str::to_owned), re.clone()));
                            re
                        }
                    };
                    out.append_value(re.is_match(text.value(i)));
                }
                Ok(Arc::new(out.finish()) as ArrayRef)
            })
        }),
    ))
}

/// Registers every helper in a rule's SQL context (the table is [`super::registry::HELPERS`]).
pub fn register_all(ctx: &SessionContext) {
    super::registry::register_sql(ctx);
}

#[cfg(test)]
mod tests;
