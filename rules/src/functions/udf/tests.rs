use super::*;

/// The first column of `sql`'s result as text (`NULL` for nulls), on a runtime of its own.
fn query(sql: &str) -> Vec<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let ctx = SessionContext::new();
    register_all(&ctx);
    let batches = rt
        .block_on(async { ctx.sql(sql).await?.collect().await })
        .unwrap();
    let mut out = Vec::new();
    for b in batches {
        let col = arrow::compute::cast(b.column(0), &DataType::Utf8).unwrap();
        let s = col.as_string::<i32>();
        out.extend((0..s.len()).map(|i| {
            if s.is_null(i) {
                "NULL".to_string()
            } else {
                s.value(i).to_string()
            }
        }));
    }
    out
}

#[test]
fn cached_regexp_like_matches_datafusion_semantics() {
    let got = query(
        "SELECT regexp_like(p, '(?i)/(login|auth)') FROM (VALUES ('/api/LOGIN'), ('/api/orders'), (NULL), ('/api/orders'), ('/api/LOGIN')) AS t(p)",
    );
    assert_eq!(got, ["true", "false", "NULL", "false", "true"]);
    let got = query("SELECT regexp_like('ABC', 'b', 'i'), regexp_like('ABC', 'b')");
    assert_eq!(got, ["true"]);
    let got = query(
        "SELECT regexp_like(t, p) FROM (VALUES ('abc', 'b'), ('abc', 'z'), ('xyz', 'y')) AS v(t, p)",
    );
    assert_eq!(
        got,
        ["true", "false", "true"],
        "a pattern per row is honoured"
    );
    // A literal pattern with literal flags, and a NULL pattern, over a column.
    let got = query(
        "SELECT regexp_like(p, 'admin', 'i') FROM (VALUES ('/ADMIN'), ('/x'), (NULL)) AS t(p)",
    );
    assert_eq!(got, ["true", "false", "NULL"]);
    let got = query(
        "SELECT regexp_like(p, CAST(NULL AS VARCHAR)) FROM (VALUES ('/ADMIN'), ('/x')) AS t(p)",
    );
    assert_eq!(got, ["NULL", "NULL"]);
}

/// Answers remembered per value are kept per pattern and flags: the same values under
/// `admin` with and without `i`, asked twice, get each form's own answers; asking more
/// patterns than the table keeps empties it instead of growing it.
#[test]
fn regexp_like_remembers_per_pattern_and_flags_within_bounds() {
    for _ in 0..2 {
        let got = query(
            "SELECT regexp_like(p, 'admin', 'i') FROM (VALUES ('/ADMIN'), ('/admin'), (NULL)) AS t(p)",
        );
        assert_eq!(got, ["true", "true", "NULL"]);
        let got = query(
            "SELECT regexp_like(p, 'admin') FROM (VALUES ('/ADMIN'), ('/admin'), (NULL)) AS t(p)",
        );
        assert_eq!(got, ["false", "true", "NULL"]);
    }
    for i in 0..LIKE_PATTERNS + 8 {
        let got = query(&format!(
            "SELECT regexp_like(p, '^/p{i}$') FROM (VALUES ('/p{i}'), ('/p{i}x')) AS t(p)"
        ));
        assert_eq!(got, ["true", "false"]);
        LIKE.with(|t| assert!(t.borrow().len() <= LIKE_PATTERNS));
    }
}

/// A value too long to remember is still matched once per call, not once per row (a
/// client repeating a long path), and gets the regex's answer; NULL rows stay NULL.
#[test]
fn long_values_are_matched_once_per_call() {
    let long = format!("/{}", "a".repeat(LIKE_VALUES.key_bytes + 10));
    let text = StringArray::from(vec![
        Some(long.as_str()),
        None,
        Some(&long),
        Some("/b"),
        Some(&long),
    ]);
    let asked = std::cell::Cell::new(0);
    let out = once_per_value("long-test", &text, |v| {
        asked.set(asked.get() + 1);
        v.starts_with("/a")
    });
    let got: Vec<Option<bool>> = out.iter().collect();
    assert_eq!(got, [Some(true), None, Some(true), Some(false), Some(true)]);
    assert_eq!(asked.get(), 2, "the long path once, /b once");
}

/// A column whose paths need nothing comes back equal; in one with an encoded, upper-case
/// or doubled-slash path those rows are normalized and the others kept, nulls too. (That
/// an unchanged column is returned without a copy is not asserted here.)
#[test]
fn normalized_path_column_changes_only_the_paths_that_need_it() {
    let got = query(
        "SELECT normalized_path(p) FROM (VALUES ('/api/v1/orders/7'), ('/.env'), (NULL)) AS t(p)",
    );
    assert_eq!(got, ["/api/v1/orders/7", "/.env", "NULL"]);
    let got = query(
        "SELECT normalized_path(p) FROM (VALUES ('/api/v1/orders/7'), ('/%2eENV'), ('//a//.git/'), (NULL)) AS t(p)",
    );
    assert_eq!(got, ["/api/v1/orders/7", "/.env", "/a/.git/", "NULL"]);
}
