use super::*;

#[test]
fn adjacent_fields_and_missing_time_are_refused_with_a_reason() {
    let e = LineTemplate::nginx("x", "$remote_addr$status [$time_local]").unwrap_err();
    assert!(e.to_string().contains("$remote_addr and $status"), "{e}");
    let e = LineTemplate::nginx("x", "$remote_addr \"$request\" $status").unwrap_err();
    assert!(e.to_string().contains("no time field"), "{e}");
    assert!(LineTemplate::envoy("x", "[%START_TIME] %X%").is_err());
}

#[test]
fn nginx_custom_format_with_timing_and_host() {
    let t = LineTemplate::nginx(
        "custom",
        r#"$host $remote_addr [$time_local] "$request" $status $body_bytes_sent "$http_user_agent" rt=$request_time us=$upstream_status"#,
    )
    .unwrap();
    let ev = t
        .decode(
            r#"api.example.com 203.0.113.9 [01/Jan/2026:00:00:01 +0000] "GET /a?b=1 HTTP/1.1" 200 12 "curl/8 \"x\"" rt=0.25 us=502 : 200"#,
            SourceFormat::Nginx,
        )
        .unwrap();
    assert_eq!(ev.host.as_deref(), Some("api.example.com"));
    assert_eq!(ev.client_ip.as_deref(), Some("203.0.113.9"));
    assert_eq!(ev.event_time_ms, Some(1_767_225_601_000));
    assert_eq!(ev.target.as_deref(), Some("/a?b=1"));
    assert_eq!(ev.user_agent.as_deref(), Some(r#"curl/8 \"x\""#));
    assert_eq!(ev.latency_ms, Some(250));
    assert_eq!(ev.upstream_status, Some(200), "the last of `502 : 200`");
}

#[test]
fn apache_log_format_with_modifiers() {
    let t = LineTemplate::apache(
        "custom",
        r#"%v:%p %h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\" %D"#,
    )
    .unwrap();
    let ev = t
        .decode(
            r#"shop.example:443 198.51.100.2 - bob [10/Oct/2000:13:55:36 -0700] "POST /login HTTP/1.1" 401 23 "-" "python-requests/2.31" 1500"#,
            SourceFormat::Nginx,
        )
        .unwrap();
    assert_eq!(ev.host.as_deref(), Some("shop.example"));
    assert_eq!(ev.username.as_deref(), Some("bob"));
    assert_eq!(ev.status, Some(401));
    assert_eq!(ev.latency_ms, Some(1));
    assert_eq!(ev.method.as_deref(), Some("POST"));
    assert_eq!(ev.referer, None, "`-`: no Referer sent");
}

/// Apache's `%r` holding no request (a Gh0st RAT's handshake, as apachelogs' tests log it):
/// the bytes received are kept in `unparsed_request`; a format that logs the path apart has its
/// request and keeps none.
#[test]
fn a_request_line_that_is_no_request_is_kept_as_received() {
    let combined = LineTemplate::apache(
        "combined",
        r#"%h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\""#,
    )
    .unwrap();
    let ev = combined
        .decode(
            r#"192.0.2.9 - - [18/Nov/2017:12:30:55 +0000] "Gh0st\xad" 400 0 "-" "-""#,
            SourceFormat::Nginx,
        )
        .unwrap();
    assert_eq!((ev.method, ev.target), (None, None));
    assert_eq!(ev.unparsed_request.as_deref(), Some(r"Gh0st\xad"));
    let apart = LineTemplate::apache("apart", r#"%h %t \"%r\" %>s \"%U\""#).unwrap();
    let ev = apart
        .decode(
            r#"192.0.2.9 [18/Nov/2017:12:30:55 +0000] "\x16\x03" 400 "/x""#,
            SourceFormat::Nginx,
        )
        .unwrap();
    assert_eq!(ev.target.as_deref(), Some("/x"));
    assert_eq!(ev.unparsed_request, None);
    // A line without its protocol has its method and path, and stays on record as incomplete,
    // whether or not the format logs the path apart too (the line's target comes first).
    let ev = combined
        .decode(
            r#"192.0.2.9 - - [18/Nov/2017:12:30:55 +0000] "GET /bin/zhttpd/${IFS}cd" 400 0 "-" "-""#,
            SourceFormat::Nginx,
        )
        .unwrap();
    assert_eq!(ev.method.as_deref(), Some("GET"));
    assert_eq!(ev.target.as_deref(), Some("/bin/zhttpd/${IFS}cd"));
    assert_eq!(
        ev.unparsed_request.as_deref(),
        Some("GET /bin/zhttpd/${IFS}cd")
    );
    let ev = apart
        .decode(
            r#"192.0.2.9 [18/Nov/2017:12:30:55 +0000] "GET /y" 400 "/y""#,
            SourceFormat::Nginx,
        )
        .unwrap();
    assert_eq!(ev.target.as_deref(), Some("/y"));
    assert_eq!(ev.unparsed_request.as_deref(), Some("GET /y"));
}

#[test]
fn headers_logged_empty_are_present_and_a_dash_is_absent() {
    let t = LineTemplate::nginx(
        "c",
        r#"$remote_addr [$time_local] "$request" $status "$http_referer" "$content_type""#,
    )
    .unwrap();
    let line = |referer: &str, ct: &str| {
        format!(
            r#"1.2.3.4 [01/Jan/2026:00:00:01 +0000] "POST /up HTTP/1.1" 200 "{referer}" "{ct}""#
        )
    };
    let l = line("https://a.example/x", "application/json");
    let ev = t.decode(&l, SourceFormat::Nginx).unwrap();
    assert_eq!(ev.referer.as_deref(), Some("https://a.example/x"));
    assert_eq!(ev.content_type.as_deref(), Some("application/json"));
    let l = line("", "-");
    let ev = t.decode(&l, SourceFormat::Nginx).unwrap();
    assert_eq!(ev.referer.as_deref(), Some(""), "sent empty");
    assert_eq!(ev.content_type, None, "not sent");
}

#[test]
fn the_protocol_comes_from_the_request_line_or_its_own_field() {
    let time = "[01/Jan/2026:00:00:01 +0000]";
    let nginx = |f: &str| LineTemplate::nginx("custom", f).unwrap();
    let cases = [
        (
            nginx(r#"$remote_addr $time_local "$request" $status"#),
            format!(r#"1.2.3.4 {time} "GET / HTTP/1.2" 400"#),
            Some("HTTP/1.2"),
        ),
        (
            nginx("$remote_addr $time_local $request_method $request_uri $server_protocol $status"),
            format!("1.2.3.4 {time} GET /a HTTP/2.0 200"),
            Some("HTTP/2.0"),
        ),
        (
            LineTemplate::apache("custom", "%h %t %m %U %H %>s").unwrap(),
            format!("1.2.3.4 {time} GET /a HTTP/1.0 200"),
            Some("HTTP/1.0"),
        ),
        // A protocol field that is no HTTP version gives none.
        (
            LineTemplate::apache("custom", "%h %t %m %U %H %>s").unwrap(),
            format!("1.2.3.4 {time} GET /a tcp 200"),
            None,
        ),
    ];
    for (t, line, want) in cases {
        let ev = t.decode(&line, SourceFormat::Nginx).unwrap();
        assert_eq!(ev.http_version.as_deref(), want, "{line}");
    }
}

#[test]
fn a_line_that_does_not_fit_says_where() {
    let t =
        LineTemplate::nginx("custom", r#"$remote_addr [$time_local] "$request" $status"#).unwrap();
    let m = t
        .decode(
            r#"1.2.3.4 [01/Jan/2026:00:00:01 +0000] GET / 200"#,
            SourceFormat::Nginx,
        )
        .unwrap_err();
    assert_eq!(m.at, 9);
    let why = t.explain(&m);
    assert!(why.contains("after $time_local"), "{why}");
    let m = t
        .decode(
            r#"1.2.3.4 [01/Jan/2026:00:00:01 +0000] "GET / HTTP/1.1" OK"#,
            SourceFormat::Nginx,
        )
        .unwrap_err();
    let why = t.explain(&m);
    assert!(why.contains("$status as a number"), "{why}");
}

#[test]
fn path_and_query_fields_rebuild_the_target() {
    let t = LineTemplate::nginx("c", r#"$msec $request_method $uri $args $status"#).unwrap();
    let ev = t
        .decode("1767225601.250 GET /x a=1 404", SourceFormat::Nginx)
        .unwrap();
    assert_eq!(ev.event_time_ms, Some(1_767_225_601_250));
    assert_eq!(ev.target.as_deref(), Some("/x?a=1"));
}
