//! Kong JSON log lines for generated requests, shaped like Kong 3.8's file-log/kafka-log
//! records (compact, one per line) so that decoding cost is representative.

use std::fmt::Write;

use crate::Request;

fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn uuid_like(out: &mut String, a: u64, b: u64) {
    let _ = write!(
        out,
        "\"{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}\"",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    );
}

/// Appends one Kong log record for `r` (no trailing newline) to `out`.
pub fn write_kong_line(r: &Request, out: &mut String) {
    let rid = r.seq.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let upstream_latency = r.latency_ms.saturating_sub(2);
    let (path_only, query) = r
        .path
        .split_once('?')
        .map_or((r.path.as_str(), ""), |(p, q)| (p, q));
    let _ = write!(
        out,
        r#"{{"response":{{"size":{size},"headers":{{"content-type":"application/json","content-length":"{clen}","via":"1.1 kong/3.8.0.0","x-kong-upstream-latency":"{ul}","x-kong-proxy-latency":"1","x-kong-request-id":"{rid:016x}"}},"status":{status}}},"route":{{"id":"0f1a4101-3327-4274-b1e4-484a4ab0c030","name":"{svc}-route","paths":["/api"],"protocols":["https"],"strip_path":false,"preserve_host":false,"service":{{"id":"fb4eecf8-dec2-40ef-b779-16de7e2384c7"}}}},"workspace":"f381e34e-5c25-4e65-b91b-3c0a86cfc393","tries":[{{"balancer_start":{t},"ip":"10.1.0.5","balancer_latency":0,"port":8080}}],"client_ip":"#,
        size = r.response_bytes + 180,
        clen = r.response_bytes,
        ul = upstream_latency,
        rid = rid,
        status = r.status,
        svc = r.service,
        t = r.t_ms + 1,
    );
    json_str(out, &r.ip);
    out.push_str(r#","request":{"id":""#);
    let _ = write!(out, "{rid:016x}{:016x}\"", r.seq);
    out.push_str(r#","headers":{"accept":"application/json","user-agent":"#);
    json_str(out, r.user_agent);
    out.push_str(r#","host":"api.shop.example""#);
    if r.consumer.is_some() {
        out.push_str(r#","authorization":"REDACTED""#);
    }
    out.push_str(r#"},"uri":"#);
    json_str(out, &r.path);
    let _ = write!(
        out,
        r#","size":{},"method":"{}","querystring":{{"#,
        120 + r.path.len(),
        r.method
    );
    for (i, pair) in query.split('&').filter(|p| !p.is_empty()).enumerate() {
        if i > 0 {
            out.push(',');
        }
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        json_str(out, k);
        out.push(':');
        json_str(out, v);
    }
    out.push_str(r#"},"url":"https://api.shop.example"#);
    let mut url_path = String::new();
    json_str(&mut url_path, &r.path);
    out.push_str(&url_path[1..]);
    out.push_str(r#"},"upstream_uri":"#);
    json_str(out, path_only);
    let _ = write!(
        out,
        r#","started_at":{t},"source":"upstream","upstream_status":"{status}","latencies":{{"kong":1,"proxy":{ul},"request":{lat},"receive":0}},"service":{{"host":"{svc}.internal","name":"{svc}","id":"fb4eecf8-dec2-40ef-b779-16de7e2384c7","port":8080,"protocol":"http","retries":5}}"#,
        t = r.t_ms,
        status = r.status,
        ul = upstream_latency,
        lat = r.latency_ms,
        svc = r.service,
    );
    if let Some(c) = &r.consumer {
        out.push_str(r#","consumer":{"username":"#);
        json_str(out, c);
        out.push_str(r#","id":"#);
        uuid_like(out, rid, rid.rotate_left(17));
        out.push_str(r#"},"authenticated_entity":{"id":"#);
        uuid_like(out, rid.rotate_left(7), rid.rotate_left(29));
        out.push('}');
    }
    if let Some(ai) = &r.ai {
        // Kong AI Gateway (3.8+) logs usage under `ai.proxy`.
        let _ = write!(
            out,
            r#","ai":{{"proxy":{{"usage":{{"prompt_tokens":{p},"completion_tokens":{c},"total_tokens":{t},"cost":{cost:.6}}},"meta":{{"provider_name":"openai","request_model":"gpt-4o","response_model":"gpt-4o-2024-08-06","plugin_id":"6e0b3b5a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"}}}}}}"#,
            p = ai.prompt_tokens,
            c = ai.completion_tokens,
            t = ai.prompt_tokens + ai.completion_tokens,
            cost = (ai.prompt_tokens as f64 * 2.5 + ai.completion_tokens as f64 * 10.0) / 1e6,
        );
    }
    if let Some(u) = &r.username {
        // Logged through Kong's `custom_fields_by_lua` (e.g. from the login request body).
        out.push_str(r#","username":"#);
        json_str(out, u);
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_valid_json_with_kong_fields() {
        let r = Request {
            t_ms: 1_767_225_600_123,
            seq: 9,
            ip: "1.2.3.4".into(),
            method: "GET",
            path: "/api/v1/search?q=a\"b&page=2".into(),
            status: 404,
            user_agent: "UA \"quoted\"",
            username: Some("bob".into()),
            consumer: Some("partner".into()),
            response_bytes: 99,
            latency_ms: 12,
            service: "catalog",
            ai: Some(crate::AiUsage {
                prompt_tokens: 100,
                completion_tokens: 20,
            }),
        };
        let mut s = String::new();
        write_kong_line(&r, &mut s);
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["started_at"], 1_767_225_600_123i64);
        assert_eq!(v["request"]["uri"], "/api/v1/search?q=a\"b&page=2");
        assert_eq!(v["request"]["querystring"]["page"], "2");
        assert_eq!(v["request"]["headers"]["authorization"], "REDACTED");
        assert_eq!(v["upstream_status"], "404");
        assert_eq!(v["consumer"]["username"], "partner");
        assert_eq!(v["username"], "bob");
        assert_eq!(v["ai"]["proxy"]["usage"]["total_tokens"], 120);
    }
}
