//! Legacy SigmaHQ aggregation conditions (`selection | count() by c-ip > 10` with
//! `timeframe: 1m`), which Sigma 2 expresses as correlation rules: converted on load into a
//! detection rule (the condition before `|`, id `ID:events`) and a correlation of the
//! original id, title and metadata, with a lint note. Converted when the meaning is clear:
//! `count()` (event_count), `count(field)` (value_count), `sum(field)` (value_sum),
//! `avg(field)` (value_avg), one optional `by` field, a comparison with a number and a
//! `timeframe`. Anything else is skipped with the reason.

use yaml_serde::{Mapping, Value};

/// What a legacy aggregation becomes.
pub enum Legacy {
    /// Two YAML documents (detection rule, correlation) replacing the file's text, and the
    /// note to show.
    Converted {
        /// The replacement text.
        text: String,
        /// The lint note.
        note: String,
    },
    /// Not convertible: why.
    Skipped {
        /// The rule's id.
        rule_id: String,
        /// Its title.
        title: String,
        /// Why it is not converted.
        reason: String,
    },
}

fn aggregation_re() -> regex::Regex {
    regex::Regex::new(
        r"^\s*(count|sum|avg|min|max)\(\s*([\w.-]*)\s*\)\s*(?:by\s+([\w.-]+)\s*)?(<=|>=|==|=|<|>)\s*(\d+)\s*$",
    )
    .expect("static regex")
}

/// Converts the file's legacy aggregation, if its condition has one.
pub fn convert(text: &str) -> Option<Legacy> {
    let doc: Value = yaml_serde::from_str(text).ok()?;
    let condition = doc.get("detection")?.get("condition")?;
    let conditions: Vec<&str> = match condition {
        Value::String(s) => vec![s.as_str()],
        Value::Sequence(xs) => xs.iter().filter_map(|x| x.as_str()).collect(),
        _ => return None,
    };
    let aggregation = *conditions.iter().find(|c| c.contains('|'))?;
    let field = |k: &str| doc.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    let rule_id = field("id").unwrap_or_else(|| "sigma-legacy".to_owned());
    let title = field("title").unwrap_or_default();
    let skip = |reason: String| {
        Some(Legacy::Skipped {
            rule_id: rule_id.clone(),
            title: title.clone(),
            reason: format!("legacy aggregation condition `{aggregation}`: {reason}"),
        })
    };
    if conditions.len() > 1 {
        return skip("several conditions with an aggregation: write a correlation rule".into());
    }
    let (selection, agg) = aggregation.split_once('|')?;
    let Some(caps) = aggregation_re().captures(agg) else {
        return skip(
            "not of the form `count(field) by group > N`: write a correlation rule".into(),
        );
    };
    let (func, arg, by, op, n) = (
        &caps[1],
        caps.get(2).map_or("", |m| m.as_str()),
        caps.get(3).map(|m| m.as_str()),
        &caps[4],
        &caps[5],
    );
    let kind = match (func, arg.is_empty()) {
        ("count", true) => "event_count",
        ("count", false) => "value_count",
        ("sum", false) => "value_sum",
        ("avg", false) => "value_avg",
        _ => return skip(format!("{func}() has no Sigma correlation equivalent")),
    };
    let Some(timeframe) = field("timeframe").or_else(|| {
        doc.get("detection")?
            .get("timeframe")?
            .as_str()
            .map(str::to_owned)
    }) else {
        return skip("no `timeframe`: over what time would it count?".into());
    };
    let op = match op {
        ">" => "gt",
        ">=" => "gte",
        "<" => "lt",
        "<=" => "lte",
        _ => "eq",
    };

    let mut base = doc.clone();
    let map = base.as_mapping_mut()?;
    let base_id = format!("{rule_id}:events");
    map.insert("id".into(), Value::String(base_id.clone()));
    map.remove("timeframe");
    if let Some(det) = map.get_mut("detection").and_then(Value::as_mapping_mut) {
        det.insert(
            "condition".into(),
            Value::String(selection.trim().to_owned()),
        );
        det.remove("timeframe");
    }
    let mut corr = Mapping::new();
    for k in [
        "title",
        "id",
        "status",
        "description",
        "author",
        "references",
        "falsepositives",
        "level",
        "tags",
    ] {
        if let Some(v) = doc.get(k) {
            corr.insert(k.into(), v.clone());
        }
    }
    let mut cond = Mapping::new();
    cond.insert(op.into(), Value::Number(n.parse::<u64>().ok()?.into()));
    if !arg.is_empty() {
        cond.insert("field".into(), Value::String(arg.to_owned()));
    }
    let mut c = Mapping::new();
    c.insert("type".into(), kind.into());
    c.insert(
        "rules".into(),
        Value::Sequence(vec![base_id.clone().into()]),
    );
    c.insert(
        "group-by".into(),
        Value::Sequence(by.map(|b| b.into()).into_iter().collect()),
    );
    c.insert("timespan".into(), timeframe.clone().into());
    c.insert("condition".into(), Value::Mapping(cond));
    corr.insert("correlation".into(), Value::Mapping(c));
    let text = format!(
        "{}---\n{}",
        yaml_serde::to_string(&base).ok()?,
        yaml_serde::to_string(&Value::Mapping(corr)).ok()?
    );
    Some(Legacy::Converted {
        text,
        note: format!(
            "legacy aggregation `{}` converted to a correlation rule (type {kind}, timespan {timeframe}) \
             (detection rule {base_id}); consider rewriting it as a Sigma 2 correlation rule",
            aggregation.trim()
        ),
    })
}
