//! `gatewatch rules test` as rule authors use it: a wrong expectation fails, the built-in pack
//! exported round-trips with every test passing, tests kept beside a rule in `NAME.tests.toml`,
//! rows replayed in time order.

use crate::support::gatewatch;

#[test]
fn rules_test_fails_on_a_wrong_expectation_and_export_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let out = gatewatch(&["rules", "export", dir.path().to_str().unwrap()], None);
    assert!(out.status.success());
    let out = gatewatch(&["rules", "test", dir.path().to_str().unwrap()], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains(&format!("{} passed, 0 failed", builtin_tests())));

    let file = dir.path().join("credential-stuffing-single-source.toml");
    let text = std::fs::read_to_string(&file).unwrap().replacen(
        "expect = { alerts = 1,",
        "expect = { alerts = 2,",
        1,
    );
    std::fs::write(&file, text).unwrap();
    let out = gatewatch(&["rules", "test", dir.path().to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("FAIL") && stdout.contains("expected 2 alert(s), got 1"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{} passed, 1 failed", builtin_tests() - 1)),
        "{stdout}"
    );
}

/// A rule's tests may live beside it in `NAME.tests.toml` (the built-in pack does so for its
/// rules with many tests): `rules test` runs them after the rule file's own, and a mistake in
/// that file is reported at its own name and line, not as a rule without tests.
#[test]
fn a_rules_sibling_test_file_is_run_and_its_mistakes_are_reported_there() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rule = "id = \"t\"\ntitle = \"t\"\nseverity = \"low\"\nfilter = \"status = 401\"\n\
        sql = \"SELECT client_ip AS entity, count(*) AS event_count FROM events GROUP BY client_ip HAVING count(*) >= 3\"\n\
        [window]\nsize = \"1m\"\n[entity]\ntype = \"ip\"\ncolumn = \"client_ip\"\n\
        [[tests]]\nname = \"in the rule file\"\n\
        events = [{ client_ip = \"192.0.2.1\", status = 401, repeat = 3, every = \"1s\" }]\n\
        expect = { alerts = 1 }\n";
    std::fs::write(d.join("t.toml"), rule).unwrap();
    let beside = "[[tests]]\nname = \"beside the rule\"\n\
        events = [{ client_ip = \"192.0.2.2\", status = 401, repeat = 2, every = \"1s\" }]\n\
        expect = { alerts = 1 }\n";
    std::fs::write(d.join("t.tests.toml"), beside).unwrap();
    let out = gatewatch(&["rules", "test", d.to_str().unwrap()], None);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("beside the rule") && stdout.contains("1 passed, 1 failed"),
        "{stdout}"
    );

    std::fs::write(
        d.join("t.tests.toml"),
        "[[tests]]\nname = \"typo\"\nexpekt = { alerts = 0 }\n",
    )
    .unwrap();
    let out = gatewatch(&["rules", "lint", d.to_str().unwrap()], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let want = format!(
        "{}:3:1: unknown field `expekt`",
        d.join("t.tests.toml").display()
    );
    assert!(
        text.lines().any(|l| l.starts_with(&want)),
        "missing {want:?} in:\n{text}"
    );
}

/// Tests in the built-in pack.
fn builtin_tests() -> usize {
    (gatewatch_rules::pack::BUILTIN.iter())
        .chain(gatewatch_rules::pack::BUILTIN_TESTS)
        .map(|(_, text)| text.matches("[[tests]]").count())
        .sum()
}

/// A rule test's events happen at their `at`, whichever entry lists them: an entry written
/// after another may start earlier and every row still counts (they were once replayed in the
/// order written, and a later entry's earlier rows fell behind the watermark unseen, so a hard
/// negative could pass without its rows being looked at). A row that still cannot be windowed
/// (a `lines` entry dated before the events) fails the test instead of being ignored.
#[test]
fn rule_test_events_are_replayed_in_time_order_and_unwindowed_rows_fail_the_test() {
    let dir = tempfile::tempdir().unwrap();
    let rule = "title = \"t\"\nseverity = \"low\"\n\
        filter = \"status = 401\"\n\
        sql = \"SELECT client_ip AS entity, count(*) AS event_count FROM events GROUP BY client_ip HAVING count(*) >= 10\"\n\
        [window]\nsize = \"1m\"\n[entity]\ntype = \"ip\"\ncolumn = \"client_ip\"\n";
    let ordered = format!(
        "id = \"ordered\"\n{rule}\n[[tests]]\nname = \"the second entry starts first\"\nevents = [\n  \
         {{ at = \"3m\", client_ip = \"192.0.2.1\", status = 200, repeat = 30, every = \"1s\" }},\n  \
         {{ at = \"0s\", client_ip = \"192.0.2.2\", status = 401, repeat = 10, every = \"1s\" }},\n]\n\
         expect = {{ alerts = 1, entity = \"192.0.2.2\" }}\n"
    );
    std::fs::write(dir.path().join("ordered.toml"), ordered).unwrap();
    let out = gatewatch(&["rules", "test", dir.path().to_str().unwrap()], None);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("1 passed, 0 failed"), "{stdout}");

    let behind = format!(
        "id = \"behind\"\n{rule}\n[[tests]]\nname = \"lines dated before the events\"\nevents = [\n  \
         {{ at = \"0s\", client_ip = \"192.0.2.1\", status = 200, repeat = 3, every = \"1s\" }},\n]\n\
         lines = '''\n192.0.2.3 - - [01/Jan/2020:00:00:00 +0000] \"GET / HTTP/1.1\" 401 5 \"-\" \"x\"\n'''\n\
         expect = {{ alerts = 0 }}\n"
    );
    std::fs::write(dir.path().join("behind.toml"), behind).unwrap();
    let out = gatewatch(&["rules", "test", dir.path().to_str().unwrap()], None);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("row(s) of the test were never windowed"),
        "{stdout}"
    );
}
