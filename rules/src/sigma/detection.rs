//! A Sigma rule's `detection` as one SQL boolean expression over `events`: the rule's row
//! filter, planned by DataFusion like a native rule's `filter`, so projection and pushdown
//! work the same way.
//!
//! Semantics, per the Sigma specification (v2.1):
//! - plain values match the whole field, case-insensitively; `*` and `?` are wildcards and
//!   `\*`, `\?`, `\\` their escapes (compiled to `ILIKE`, with `%`, `_` and `\` escaped);
//! - `contains`, `startswith`, `endswith` anchor the pattern; `cased` makes it case-sensitive;
//! - `re` is a case-sensitive, unanchored regular expression (flags `i`, `m`, `s`);
//! - `all` ANDs a list of values (the default ORs them); `cidr`, `exists`, `gt`, `gte`, `lt`,
//!   `lte`, `neq` as specified;
//! - `null` means the field is absent (NGINX `-`), which is not the empty string;
//! - a field that is absent in an event matches no pattern, so `not selection` holds for it
//!   (every comparison is two-valued, never SQL NULL);
//! - a keyword (field-less) value matches when any keyword column contains it.

use std::collections::HashMap;

use rsigma_parser::value::{SpecialChar, StringPart};
use rsigma_parser::{
    ConditionExpr, Detection, DetectionItem, Modifier, Quantifier, SelectorPattern, SigmaString,
    SigmaValue,
};

use super::fields::{lookup, FieldKind, KEYWORD_COLUMNS};
use super::matcher::{self, Anchor};

/// A SQL string literal.
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The `LIKE` pattern of a Sigma string: wildcards become `%`/`_`, LIKE's own special
/// characters are escaped with `\` (DataFusion's implicit LIKE escape).
fn like_pattern(s: &SigmaString, anchor: Anchor) -> String {
    let mut out = String::new();
    if matches!(anchor, Anchor::Contains | Anchor::EndsWith) {
        out.push('%');
    }
    for part in &s.parts {
        match part {
            StringPart::Plain(text) => {
                for c in text.chars() {
                    if matches!(c, '%' | '_' | '\\') {
                        out.push('\\');
                    }
                    out.push(c);
                }
            }
            StringPart::Special(SpecialChar::WildcardMulti) => out.push('%'),
            StringPart::Special(SpecialChar::WildcardSingle) => out.push('_'),
        }
    }
    if matches!(anchor, Anchor::Contains | Anchor::StartsWith) {
        out.push('%');
    }
    out
}

/// A plain value (wildcards at its ends only, which just widen the anchor) registered for the
/// shared multi-pattern pass of [`matcher`]: its id and anchor.
fn shared_pass(col: &str, s: &SigmaString, anchor: Anchor) -> Option<(u32, Anchor)> {
    let (mut open_left, mut open_right) = match anchor {
        Anchor::Whole => (false, false),
        Anchor::Contains => (true, true),
        Anchor::StartsWith => (false, true),
        Anchor::EndsWith => (true, false),
    };
    let mut parts = &s.parts[..];
    while let Some((StringPart::Special(SpecialChar::WildcardMulti), rest)) = parts.split_first() {
        open_left = true;
        parts = rest;
    }
    while let Some((StringPart::Special(SpecialChar::WildcardMulti), rest)) = parts.split_last() {
        open_right = true;
        parts = rest;
    }
    let mut text = String::new();
    for p in parts {
        match p {
            StringPart::Plain(t) => text.push_str(t),
            StringPart::Special(_) => return None,
        }
    }
    let anchor = match (open_left, open_right) {
        (false, false) => Anchor::Whole,
        (true, true) => Anchor::Contains,
        (false, true) => Anchor::StartsWith,
        (true, false) => Anchor::EndsWith,
    };
    matcher::register(col, &text).map(|id| (id, anchor))
}

/// A necessary condition for a wildcard value, from the shared pass: its longest literal run
/// must be in the field, so the `ILIKE` only runs on rows that have it. Runs holding `k` or `s`
/// are cut there: `ILIKE` folds case by Unicode, where the Kelvin sign is a `k` and the long
/// `ſ` an `s`, which the ASCII pass would not see. `None` when no run of 3 characters is left.
fn prefilter(col: &str, s: &SigmaString) -> Option<String> {
    let mut best = "";
    for part in &s.parts {
        if let StringPart::Plain(text) = part {
            for run in text.split(['k', 'K', 's', 'S']) {
                if run.len() > best.len() && run.is_ascii() {
                    best = run;
                }
            }
        }
    }
    if best.len() < 3 {
        return None;
    }
    let id = matcher::register(col, best)?;
    Some(shared_call(col, Anchor::Contains, &[id], false))
}

/// One `sigma_match` call: whether any (or, with `all`, every) of the values `ids` sits in
/// `col` as `anchor` says.
fn shared_call(col: &str, anchor: Anchor, ids: &[u32], all: bool) -> String {
    let ids: Vec<String> = ids.iter().map(u32::to_string).collect();
    format!(
        "sigma_match({col}, '{col}', {}, '{}', {all})",
        anchor as u8,
        ids.join(",")
    )
}

/// The values of one item on a text column, as few predicates as possible: the values that
/// can use the shared pass become one call per anchor, the others one predicate each.
fn text_values(col: &str, values: &[SigmaValue], m: &Mods) -> Result<Vec<String>, String> {
    let plain = m.re.is_none() && !m.cidr && !m.exists && m.compare.is_none() && !m.cased;
    let mut groups: Vec<(Anchor, Vec<u32>)> = Vec::new();
    let mut parts = Vec::new();
    for v in values {
        let shared = match v {
            SigmaValue::String(s) if plain => shared_pass(col, s, m.anchor),
            _ => None,
        };
        match shared {
            Some((id, anchor)) => match groups.iter_mut().find(|(a, _)| *a == anchor) {
                Some((_, ids)) if ids.contains(&id) => {}
                Some((_, ids)) => ids.push(id),
                None => groups.push((anchor, vec![id])),
            },
            None => parts.push(match_value(col, FieldKind::Text, v, m)?),
        }
    }
    let mut out: Vec<String> = groups
        .iter()
        .map(|(anchor, ids)| shared_call(col, *anchor, ids, m.all))
        .collect();
    out.extend(parts);
    Ok(out)
}

/// What an item's modifiers ask for.
#[derive(Clone)]
struct Mods {
    anchor: Anchor,
    all: bool,
    cased: bool,
    re: Option<String>,
    cidr: bool,
    exists: bool,
    compare: Option<&'static str>,
}

fn modifiers(list: &[Modifier]) -> Result<Mods, String> {
    let mut m = Mods {
        anchor: Anchor::Whole,
        all: false,
        cased: false,
        re: None,
        cidr: false,
        exists: false,
        compare: None,
    };
    let mut flags = String::new();
    let mut re = false;
    for modifier in list {
        match modifier {
            Modifier::Contains => m.anchor = Anchor::Contains,
            Modifier::StartsWith => m.anchor = Anchor::StartsWith,
            Modifier::EndsWith => m.anchor = Anchor::EndsWith,
            Modifier::All => m.all = true,
            Modifier::Cased => m.cased = true,
            Modifier::Re => re = true,
            Modifier::IgnoreCase => flags.push('i'),
            Modifier::Multiline => flags.push('m'),
            Modifier::DotAll => flags.push('s'),
            Modifier::Cidr => m.cidr = true,
            Modifier::Exists => m.exists = true,
            Modifier::Gt => m.compare = Some(">"),
            Modifier::Gte => m.compare = Some(">="),
            Modifier::Lt => m.compare = Some("<"),
            Modifier::Lte => m.compare = Some("<="),
            Modifier::Neq => m.compare = Some("<>"),
            other => {
                return Err(format!(
                    "modifier `{}` is not supported on gateway logs (supported: contains, \
                     startswith, endswith, all, cased, re with i/m/s, cidr, exists, gt, gte, lt, \
                     lte, neq)",
                    format!("{other:?}").to_lowercase()
                ))
            }
        }
    }
    if re {
        m.re = Some(flags);
    } else if !flags.is_empty() {
        return Err("regex flags (i, m, s) need the `re` modifier".into());
    }
    Ok(m)
}

/// The text of a scalar value, for matching against text.
fn value_text(v: &SigmaValue) -> Option<String> {
    match v {
        SigmaValue::String(s) => Some(s.original.clone()),
        SigmaValue::Integer(i) => Some(i.to_string()),
        SigmaValue::Float(f) => Some(f.to_string()),
        SigmaValue::Bool(b) => Some(b.to_string()),
        SigmaValue::Null => None,
    }
}

/// One value against one column expression: a two-valued SQL predicate (never NULL).
fn match_value(col: &str, kind: FieldKind, v: &SigmaValue, m: &Mods) -> Result<String, String> {
    if let SigmaValue::Null = v {
        return Ok(format!("({col} IS NULL)"));
    }
    if m.exists {
        return match v {
            SigmaValue::Bool(true) => Ok(format!("({col} IS NOT NULL)")),
            SigmaValue::Bool(false) => Ok(format!("({col} IS NULL)")),
            _ => Err("`exists` takes true or false".into()),
        };
    }
    let text = |col: &str| match kind {
        FieldKind::Text => col.to_owned(),
        FieldKind::Int => format!("CAST({col} AS VARCHAR)"),
    };
    let predicate = if let Some(op) = m.compare {
        let n = match v {
            SigmaValue::Integer(i) => i.to_string(),
            SigmaValue::Float(f) if f.is_finite() => f.to_string(),
            SigmaValue::String(s) => match s.original.trim().parse::<f64>() {
                Ok(f) if f.is_finite() => s.original.trim().to_owned(),
                _ => return Err(format!("`{op}` compares numbers, not {:?}", s.original)),
            },
            _ => return Err(format!("`{op}` compares numbers")),
        };
        match kind {
            FieldKind::Int => format!("{col} {op} {n}"),
            FieldKind::Text => format!("TRY_CAST({col} AS DOUBLE) {op} {n}"),
        }
    } else if let Some(flags) = &m.re {
        let Some(pattern) = value_text(v) else {
            return Err("`re` needs a pattern".into());
        };
        let inline = if flags.is_empty() {
            pattern.clone()
        } else {
            format!("(?{flags}){pattern}")
        };
        regex::Regex::new(&inline).map_err(|e| {
            format!(
                "regular expression {pattern:?} is not supported by the Rust regex engine \
                 (no look-around or back-references): {}",
                e.to_string().lines().last().unwrap_or_default()
            )
        })?;
        format!("regexp_like({}, {})", text(col), lit(&inline))
    } else if m.cidr {
        let Some(cidr) = value_text(v) else {
            return Err("`cidr` needs a network".into());
        };
        let (addr, bits) = cidr.split_once('/').unwrap_or((&cidr, ""));
        let ok = addr.parse::<std::net::IpAddr>().is_ok_and(|a| {
            bits.is_empty()
                || bits
                    .parse::<u8>()
                    .is_ok_and(|b| b <= if a.is_ipv4() { 32 } else { 128 })
        });
        if !ok {
            return Err(format!("`cidr` value {cidr:?} is not a network"));
        }
        format!("cidr_contains({}, {})", lit(&cidr), text(col))
    } else {
        match (kind, v, m.anchor) {
            (FieldKind::Int, SigmaValue::Integer(i), Anchor::Whole) => format!("{col} = {i}"),
            (FieldKind::Int, SigmaValue::String(s), Anchor::Whole)
                if s.as_plain().is_some_and(|p| p.parse::<i64>().is_ok()) =>
            {
                format!("{col} = {}", s.original)
            }
            (FieldKind::Text, SigmaValue::String(s), anchor) if !m.cased => {
                match shared_pass(col, s, anchor) {
                    // Already false for an absent field: no null guard needed.
                    Some((id, anchor)) => return Ok(shared_call(col, anchor, &[id], false)),
                    None => {
                        let like = format!("{col} ILIKE {}", lit(&like_pattern(s, anchor)));
                        match prefilter(col, s) {
                            Some(pre) => format!("{pre} AND {like}"),
                            None => like,
                        }
                    }
                }
            }
            (_, SigmaValue::String(s), anchor) => {
                let like = if m.cased { "LIKE" } else { "ILIKE" };
                format!("{} {like} {}", text(col), lit(&like_pattern(s, anchor)))
            }
            (_, other, anchor) => {
                let s = SigmaString::from_raw(&value_text(other).unwrap_or_default());
                format!("{} LIKE {}", text(col), lit(&like_pattern(&s, anchor)))
            }
        }
    };
    Ok(format!("({col} IS NOT NULL AND {predicate})"))
}

/// The parts joined by `op` (`AND`/`OR`); `empty` when there are none. The filter program
/// (`crate::mask`) orders an `AND`'s children for speed, so the order here is the rule's.
fn join(parts: Vec<String>, op: &str, empty: &str) -> String {
    match parts.len() {
        0 => empty.to_owned(),
        1 => parts.into_iter().next().unwrap_or_default(),
        _ => format!("({})", parts.join(&format!(" {op} "))),
    }
}

fn item(it: &DetectionItem) -> Result<String, String> {
    let m = modifiers(&it.field.modifiers)?;
    if it.values.is_empty() {
        return Err("a detection item without values".into());
    }
    let (op, empty) = if m.all {
        ("AND", "TRUE")
    } else {
        ("OR", "FALSE")
    };
    match &it.field.name {
        Some(name) => {
            let f = lookup(name)?;
            let parts = match f.kind {
                FieldKind::Text => text_values(f.sql, &it.values, &m)?,
                FieldKind::Int => it
                    .values
                    .iter()
                    .map(|v| match_value(f.sql, f.kind, v, &m))
                    .collect::<Result<Vec<_>, _>>()?,
            };
            Ok(join(parts, op, empty))
        }
        None => keywords(&it.values, &m, op, empty),
    }
}

/// Field-less values: each must be contained in some keyword column.
fn keywords(values: &[SigmaValue], m: &Mods, op: &str, empty: &str) -> Result<String, String> {
    if m.re.is_none() && m.anchor == Anchor::Whole {
        let contains = Mods {
            anchor: Anchor::Contains,
            ..m.clone()
        };
        return keywords(values, &contains, op, empty);
    }
    if !m.all {
        // Any value in any column: per column, the values as few predicates as possible.
        let mut any = Vec::new();
        for (c, kind) in KEYWORD_COLUMNS {
            match kind {
                FieldKind::Text => any.extend(text_values(c, values, m)?),
                FieldKind::Int => {
                    for v in values.iter().filter(|v| could_be_in_a_number(v)) {
                        any.push(match_value(c, *kind, v, m)?);
                    }
                }
            }
        }
        return Ok(join(any, "OR", "FALSE"));
    }
    let mut per_value = Vec::new();
    for v in values {
        let any = KEYWORD_COLUMNS
            .iter()
            .filter(|(_, kind)| *kind == FieldKind::Text || could_be_in_a_number(v))
            .map(|(c, kind)| match_value(c, *kind, v, m))
            .collect::<Result<Vec<_>, _>>()?;
        per_value.push(join(any, "OR", "FALSE"));
    }
    Ok(join(per_value, op, empty))
}

/// Whether a keyword could occur in a number's decimal text (else numeric columns are not
/// searched for it: `${jndi:` is never part of a status code).
fn could_be_in_a_number(v: &SigmaValue) -> bool {
    match v {
        SigmaValue::String(s) => s
            .original
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '*' | '?' | '-')),
        SigmaValue::Integer(_) | SigmaValue::Float(_) => true,
        _ => false,
    }
}

fn detection(d: &Detection) -> Result<String, String> {
    Ok(match d {
        Detection::AllOf(items) => join(
            items.iter().map(item).collect::<Result<_, _>>()?,
            "AND",
            "TRUE",
        ),
        Detection::AnyOf(subs) => join(
            subs.iter().map(detection).collect::<Result<_, _>>()?,
            "OR",
            "FALSE",
        ),
        Detection::And(subs) => join(
            subs.iter().map(detection).collect::<Result<_, _>>()?,
            "AND",
            "TRUE",
        ),
        Detection::Keywords(values) => {
            let m = modifiers(&[])?;
            keywords(values, &m, "OR", "FALSE")?
        }
        Detection::ArrayMatch { .. } | Detection::Conditional { .. } => {
            return Err(
                "array object-scope blocks (`field[any]:`) do not apply to access logs".into(),
            )
        }
    })
}

/// Whether a selector pattern (`selection_*`, `them`) names `id`.
fn selects(pattern: &SelectorPattern, id: &str) -> bool {
    match pattern {
        SelectorPattern::Them => !id.starts_with('_'),
        SelectorPattern::Pattern(p) => glob(p.as_bytes(), id.as_bytes()),
    }
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| glob(rest, &s[i..])),
        Some((c, rest)) => s
            .split_first()
            .is_some_and(|(d, s)| c == d && glob(rest, s)),
    }
}

fn condition(c: &ConditionExpr, named: &HashMap<String, String>) -> Result<String, String> {
    Ok(match c {
        ConditionExpr::Identifier(id) => named.get(id).cloned().ok_or_else(|| {
            format!("condition names `{id}`, which the detection does not define")
        })?,
        ConditionExpr::And(xs) => join(
            xs.iter()
                .map(|x| condition(x, named))
                .collect::<Result<_, _>>()?,
            "AND",
            "TRUE",
        ),
        ConditionExpr::Or(xs) => join(
            xs.iter()
                .map(|x| condition(x, named))
                .collect::<Result<_, _>>()?,
            "OR",
            "FALSE",
        ),
        ConditionExpr::Not(x) => format!("(NOT {})", condition(x, named)?),
        ConditionExpr::Selector {
            quantifier,
            pattern,
        } => {
            let mut ids: Vec<&String> = named.keys().filter(|id| selects(pattern, id)).collect();
            ids.sort();
            if ids.is_empty() {
                return Err(format!(
                    "`{quantifier} of {pattern}` selects no detection identifier"
                ));
            }
            let parts: Vec<String> = ids.iter().map(|id| named[*id].clone()).collect();
            match quantifier {
                Quantifier::Any => join(parts, "OR", "FALSE"),
                Quantifier::All => join(parts, "AND", "TRUE"),
                Quantifier::Count(n) => format!(
                    "(({}) >= {n})",
                    parts
                        .iter()
                        .map(|p| format!("CASE WHEN {p} THEN 1 ELSE 0 END"))
                        .collect::<Vec<_>>()
                        .join(" + ")
                ),
            }
        }
    })
}

/// The SQL filter of a rule's detection section: its conditions ORed (a list of conditions
/// means any of them).
pub fn filter_sql(
    named: &HashMap<String, Detection>,
    conditions: &[ConditionExpr],
) -> Result<String, String> {
    let mut compiled = HashMap::new();
    for (id, d) in named {
        compiled.insert(
            id.clone(),
            detection(d).map_err(|e| format!("detection `{id}`: {e}"))?,
        );
    }
    if conditions.is_empty() {
        return Err("the detection has no condition".into());
    }
    let parts = conditions
        .iter()
        .map(|c| condition(c, &compiled))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(join(parts, "OR", "FALSE"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_like_and_keep_sigma_wildcards() {
        let s = SigmaString::new(r"50%_off\*\?\\x*y?");
        assert_eq!(like_pattern(&s, Anchor::Whole), r"50\%\_off*?\\x%y_");
        assert_eq!(
            like_pattern(&SigmaString::new("/a"), Anchor::Contains),
            "%/a%"
        );
        assert_eq!(
            like_pattern(&SigmaString::new("/a"), Anchor::EndsWith),
            "%/a"
        );
    }

    #[test]
    fn wildcard_values_are_gated_by_their_longest_literal_run_without_k_or_s() {
        let pre = |v: &str| prefilter("t_prefilter", &SigmaString::new(v));
        let value = |call: &str| {
            let id: u32 = call.split('\'').nth(3).unwrap().parse().unwrap();
            let again = matcher::register("t_prefilter", "/manager/file").unwrap();
            (id, again)
        };
        // `/manager/files` is cut at its `s`: `/manager/file` is the run the pass looks for.
        let call = pre("/manager/files?path=../..").unwrap();
        assert!(
            call.starts_with("sigma_match(t_prefilter, 't_prefilter', 2, '"),
            "{call}"
        );
        let (id, again) = value(&call);
        assert_eq!(id, again);
        // Nothing of 3 characters without k or s: no gate.
        assert_eq!(pre("ss*kk?ab"), None);
    }

    #[test]
    fn globs_select_identifiers() {
        assert!(glob(b"selection_*", b"selection_uri"));
        assert!(!glob(b"selection_*", b"filter_main"));
        assert!(glob(b"*", b""));
        assert!(selects(&SelectorPattern::Them, "sel"));
        assert!(!selects(&SelectorPattern::Them, "_private"));
    }
}
