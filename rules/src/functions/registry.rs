//! Every helper function, defined once: its name, what it means, and how it is offered to
//! each rule language. SQL rules get DataFusion UDFs/UDAFs ([`super::udf`]), Rhai scripts get
//! plain functions; both call the same Rust function in [`super`], so a threshold means the
//! same thing whichever language a rule is written in.
//!
//! Adding a helper is one entry in [`HELPERS`]: the SQL context ([`register_sql`]) and the
//! script engine ([`register_rhai`]) are built from this table, and the tests below fail if a
//! language's registration does not match the entry (wrong name, missing function).

use datafusion::logical_expr::{AggregateUDF, ScalarUDF};
use datafusion::prelude::SessionContext;
use rhai::{Dynamic, Engine};

use super::collect::{CollectUdaf, Reduce};
use super::udf;

/// How a helper is offered to SQL.
pub enum SqlFunction {
    /// A row-wise function.
    Scalar(ScalarUDF),
    /// An aggregate over a window's rows.
    Aggregate(AggregateUDF),
}

/// One helper function.
pub struct Helper {
    /// Its name in both languages.
    pub name: &'static str,
    /// Call form and result, for documentation.
    pub doc: &'static str,
    /// Its SQL function (`None`: not offered to SQL).
    pub sql: Option<fn() -> SqlFunction>,
    /// Registers it in a Rhai engine (`None`: SQL only, for the reason in `doc`).
    pub rhai: Option<fn(&mut Engine)>,
}

/// Every helper, SQL and Rhai.
pub const HELPERS: &[Helper] = &[
    Helper {
        name: "route_template",
        doc: "route_template(path): the path with ids replaced (`/users/{id}`)",
        sql: Some(|| SqlFunction::Scalar(udf::string_fn("route_template", super::route_template))),
        rhai: Some(|e| {
            e.register_fn("route_template", |p: &str| super::route_template(p));
        }),
    },
    Helper {
        name: "ua_class",
        doc: "ua_class(user_agent): ai_crawler, ai_agent, bot, tool, browser, unknown, empty",
        sql: Some(|| SqlFunction::Scalar(udf::ua_class_udf())),
        rhai: Some(|e| {
            e.register_fn("ua_class", |ua: &str| super::ua_class(ua).as_str().to_string());
        }),
    },
    Helper {
        name: "crawler_verified",
        doc: "crawler_verified(user_agent, client_ip): verified, spoofed or unverified for a claimed crawler with published ranges (--crawler-ranges); NULL/() when none is claimed",
        sql: Some(|| SqlFunction::Scalar(udf::crawler_verified_udf())),
        rhai: Some(|e| {
            e.register_fn("crawler_verified", |ua: &str, ip: &str| -> Dynamic {
                super::crawler_verified(ua, ip).map_or(Dynamic::UNIT, |c| c.into())
            });
        }),
    },
    Helper {
        name: "cidr_contains",
        doc: "cidr_contains(cidr, ip): whether the address is in the network",
        sql: Some(|| SqlFunction::Scalar(udf::cidr_contains_udf())),
        rhai: Some(|e| {
            e.register_fn("cidr_contains", |c: &str, ip: &str| super::cidr_contains(c, ip));
        }),
    },
    Helper {
        name: "private_address",
        doc: "private_address(ip): the address is a private network's (RFC 1918, link-local, carrier-grade NAT's 100.64/10, IPv6 unique-local, also ::ffff:-mapped); not loopback, not text that is no address",
        sql: Some(|| SqlFunction::Scalar(udf::predicate_fn("private_address", super::private_address))),
        rhai: Some(|e| {
            e.register_fn("private_address", |ip: &str| super::private_address(ip));
        }),
    },
    Helper {
        name: "missing",
        doc: "missing(status): the status says the site does not serve the path (404, 410, 418, 444)",
        sql: Some(|| SqlFunction::Scalar(udf::status_udf("missing", super::status::MISSING))),
        rhai: Some(|e| {
            e.register_fn("missing", super::status::missing);
        }),
    },
    Helper {
        name: "refused",
        doc: "refused(status): the client did not get the path (`missing`, or 403)",
        sql: Some(|| SqlFunction::Scalar(udf::status_udf("refused", super::status::REFUSED))),
        rhai: Some(|e| {
            e.register_fn("refused", super::status::refused);
        }),
    },
    Helper {
        name: "linked",
        doc: "linked(referer, path): the request came from a link on a page (a Referer that is set and does not name the path itself, as scanners forge it)",
        sql: Some(|| SqlFunction::Scalar(udf::linked_udf())),
        rhai: Some(|e| {
            e.register_fn("linked", |r: &str, p: &str| super::linked(given(r), p));
        }),
    },
    Helper {
        name: "counterfeit_agent",
        doc: "counterfeit_agent(user_agent): the agent poses as a browser no browser could be (`Mozilla` misspelt, not by a declared bot; a browser's agent with every space taken out)",
        sql: Some(|| SqlFunction::Scalar(udf::predicate_fn("counterfeit_agent", super::counterfeit_agent))),
        rhai: Some(|e| {
            e.register_fn("counterfeit_agent", |ua: &str| super::counterfeit_agent(ua));
        }),
    },
    Helper {
        name: "self_referred",
        doc: "self_referred(referer, request_target): the Referer names the request itself (scheme, host, then exactly the target), as botnets forge it",
        sql: Some(|| SqlFunction::Scalar(udf::predicate2_fn("self_referred", super::self_referred))),
        rhai: Some(|e| {
            e.register_fn("self_referred", |r: &str, t: &str| super::self_referred(r, t));
        }),
    },
    Helper {
        name: "backup_copy",
        doc: "backup_copy(path): the path names a backup: a copy of server-side code or configuration (`wp-config.php.bak`, `settings.py~`) or a site or database dump (`backup.zip`, `db.sql.gz`)",
        sql: Some(|| SqlFunction::Scalar(udf::predicate_fn("backup_copy", super::backup_copy))),
        rhai: Some(|e| {
            e.register_fn("backup_copy", |p: &str| super::backup_copy(p));
        }),
    },
    Helper {
        name: "shannon_entropy",
        doc: "shannon_entropy(text): bits per byte",
        sql: Some(|| SqlFunction::Scalar(udf::shannon_entropy_udf())),
        rhai: Some(|e| {
            e.register_fn("shannon_entropy", |s: &str| super::shannon_entropy(s));
        }),
    },
    Helper {
        name: "query_shape",
        doc: "query_shape(query): the query with parameter values removed (`page=&sort=`)",
        sql: Some(|| SqlFunction::Scalar(udf::string_fn("query_shape", super::query_shape))),
        rhai: Some(|e| {
            e.register_fn("query_shape", |q: &str| super::query_shape(q));
        }),
    },
    Helper {
        name: "url_extension",
        doc: "url_extension(path): the lower-case file extension of the path's last segment (no query or `;` parameters), or NULL/()",
        sql: Some(|| SqlFunction::Scalar(udf::url_extension_udf())),
        rhai: Some(|e| {
            e.register_fn("url_extension", |p: &str| -> Dynamic {
                super::url_extension(p).map_or(Dynamic::UNIT, |x| x.to_string().into())
            });
        }),
    },
    Helper {
        name: "normalized_path",
        doc: "normalized_path(path): the path decoded once (`%XX`), lower-cased, slashes collapsed (`/%2eENV` -> `/.env`)",
        sql: Some(|| SqlFunction::Scalar(udf::normalized_path_udf())),
        rhai: Some(|e| {
            e.register_fn("normalized_path", |p: &str| super::normalized_path(p));
        }),
    },
    Helper {
        name: "probe_class",
        doc: "probe_class(path, query, user_agent): scanner-agent, path-traversal, sql-injection, script-injection, backdoor, sensitive-file, admin-interface, or NULL/()",
        sql: Some(|| SqlFunction::Scalar(udf::probe_class_udf())),
        rhai: Some(|e| {
            e.register_fn("probe_class", |p: &str, q: &str, ua: &str| -> Dynamic {
                super::probe_class(p, given(q), given(ua))
                .map_or(Dynamic::UNIT, |c| c.into())
            });
        }),
    },
    Helper {
        name: "injected_code",
        doc: "injected_code(path, query, user_agent): the language of code written into the request (code, shell, sql, query, script, header), or NULL/()",
        sql: Some(|| SqlFunction::Scalar(udf::injected_code_udf())),
        rhai: Some(|e| {
            e.register_fn("injected_code", |p: &str, q: &str, ua: &str| -> Dynamic {
                super::injected_code(given(p), given(q), given(ua))
                .map_or(Dynamic::UNIT, |c| c.into())
            });
        }),
    },
    Helper {
        name: "api_spec_status",
        doc: "api_spec_status(method, route_template): documented, deprecated, undocumented; NULL/() without --openapi",
        sql: Some(|| SqlFunction::Scalar(udf::api_spec_status_udf())),
        rhai: Some(|e| {
            e.register_fn("api_spec_status", |m: &str, t: &str| -> Dynamic {
                super::api_spec_status(m, t).map_or(Dynamic::UNIT, |c| c.into())
            });
        }),
    },
    Helper {
        name: "longest_id_run",
        doc: "longest_id_run(object_id): longest run of consecutive numeric ids (SQL: aggregate; Rhai: over an array)",
        sql: Some(|| SqlFunction::Aggregate(CollectUdaf::udaf(Reduce::IdRun))),
        rhai: Some(|e| {
            e.register_fn("longest_id_run", |ids: rhai::Array| {
                super::longest_id_run(
                    ids.into_iter()
                        .filter_map(|d| {
                            d.as_int()
                                .ok()
                                .or_else(|| d.into_string().ok()?.parse().ok())
                        })
                        .collect(),
                )
            });
        }),
    },
    Helper {
        name: "interarrival_cv",
        doc: "interarrival_cv(event_time): stddev/mean of the gaps between events (SQL: aggregate; Rhai: over an array of ms)",
        sql: Some(|| SqlFunction::Aggregate(CollectUdaf::udaf(Reduce::InterarrivalCv))),
        rhai: Some(|e| {
            e.register_fn("interarrival_cv", |ts: rhai::Array| -> Dynamic {
                let ts = ts.into_iter().filter_map(|d| d.as_int().ok()).collect();
                super::interarrival_cv(ts).map_or(Dynamic::UNIT, Dynamic::from_float)
            });
        }),
    },
    Helper {
        name: "sigma_sequence",
        doc: "sigma_sequence(event_time, code, value, program): a Sigma correlation measured over a window's events (temporal_ordered, chains); generated by the Sigma loader, SQL only",
        sql: Some(|| SqlFunction::Aggregate(super::sequence::SequenceUdaf::udafs()[0].clone())),
        rhai: None,
    },
    Helper {
        name: "sigma_percentile",
        doc: "sigma_percentile(event_time, code, value, program): nearest-rank percentile for Sigma value_percentile correlations; generated by the Sigma loader, SQL only",
        sql: Some(|| SqlFunction::Aggregate(super::sequence::SequenceUdaf::udafs()[1].clone())),
        rhai: None,
    },
    Helper {
        name: "regexp_like",
        doc: "regexp_like(text, pattern[, flags]): DataFusion's, with compiled patterns cached (SQL only: Rhai has no regex engine in the sandbox)",
        sql: Some(|| SqlFunction::Scalar(udf::cached_regexp_like())),
        rhai: None,
    },
    Helper {
        name: udf::ENDPOINT_IS_NEW,
        doc: "endpoint_is_new(method, route_template, event_time, learning_ms): first seen after the learning period (SQL filters only: state per rule and task)",
        sql: Some(|| SqlFunction::Scalar(udf::endpoint_is_new_udf(Default::default()))),
        rhai: None,
    },
    Helper {
        name: "server_technology",
        doc: "server_technology(path): the server-side technology the path's extension names (php, asp, aspnet, java, cgi, coldfusion), or NULL/()",
        sql: Some(|| {
            SqlFunction::Scalar(udf::optional_string_fn(
                "server_technology",
                super::technology::server_technology,
            ))
        }),
        rhai: Some(|e| {
            e.register_fn("server_technology", |p: &str| -> Dynamic {
                super::technology::server_technology(p).map_or(Dynamic::UNIT, Dynamic::from)
            });
        }),
    },
    Helper {
        name: "known_product",
        doc: "known_product(path): the product or CVE whose own endpoint the path is (CrowdSec's technology-probing and trendy-CVE lists: `webmin-admin-login-probing`, `CVE-2021-3129`; server consoles such as `jboss-console`; `wordpress`, `wordpress-installer`), or NULL/()",
        sql: Some(|| {
            SqlFunction::Scalar(udf::optional_string_fn(
                "known_product",
                super::product::known_product,
            ))
        }),
        rhai: Some(|e| {
            e.register_fn("known_product", |p: &str| -> Dynamic {
                super::product::known_product(p).map_or(Dynamic::UNIT, Dynamic::from)
            });
        }),
    },
    Helper {
        name: "container_api",
        doc: "container_api(path): the container daemon whose own API the path is (`docker`: the Docker Engine API, also as Podman serves it; `kubelet`; `etcd`), compared decoded and in any case, or NULL/()",
        sql: Some(|| {
            SqlFunction::Scalar(udf::optional_string_fn(
                "container_api",
                super::container::container_api,
            ))
        }),
        rhai: Some(|e| {
            e.register_fn("container_api", |p: &str| -> Dynamic {
                super::container::container_api(p).map_or(Dynamic::UNIT, Dynamic::from)
            });
        }),
    },
    Helper {
        name: super::technology::TECHNOLOGY_UNSERVED,
        doc: "technology_unserved(host, technology, status, response_bytes, path, client_ip): a refusal (`refused`) for a technology the host was never seen answering with success, a redirect or server error from a host that answers every such request so, a `400` of the size that answered three paths from more than one client (the page of a server refusing requests that name no site of its own), or a success of the one size a host answers every path with (a single-page app's page, or the home page's size); learns from successes; `home-page-products` / `home-page-technologies` as the technology learn the home page's size for that call, `other-path-products` / `other-path-technologies` learn only a `400` page (SQL filters only: state per rule and task)",
        sql: Some(|| {
            SqlFunction::Scalar(super::technology::technology_unserved_udf(
                Default::default(),
            ))
        }),
        rhai: None,
    },
    Helper {
        name: super::form::FORM_NEVER_LOADED,
        doc: "form_never_loaded(client, event_time, load, from_form, within_ms): a post from a form (`from_form`) that the client did not load (`load`: the form's page, or a post whose answer is the form again) within `within_ms` before; learns every load (SQL filters only: state per rule and task)",
        sql: Some(|| {
            SqlFunction::Scalar(super::form::form_never_loaded_udf(Default::default()))
        }),
        rhai: None,
    },
    Helper {
        name: "sigma_match",
        doc: "sigma_match(col, 'col', anchor, 'ids', all): Sigma value lists (generated by the Sigma compiler, not written by hand)",
        sql: Some(|| SqlFunction::Scalar(crate::sigma::matcher::sigma_match_udf())),
        rhai: None,
    },
];

/// Registers every SQL helper in a rule's context.
pub fn register_sql(ctx: &SessionContext) {
    for h in HELPERS {
        match h.sql.map(|f| f()) {
            Some(SqlFunction::Scalar(f)) => {
                ctx.register_udf(f);
            }
            Some(SqlFunction::Aggregate(f)) => {
                ctx.register_udaf(f);
            }
            None => {}
        }
    }
}

/// Registers every Rhai helper in a script engine.
pub fn register_rhai(engine: &mut Engine) {
    for h in HELPERS {
        if let Some(register) = h.rhai {
            register(engine);
        }
    }
}

/// A Rhai string argument as SQL's optional text: Rhai scripts pass `""` for a missing column.
fn given(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::execution::FunctionRegistry;

    #[test]
    fn each_entry_registers_its_own_name_once() {
        let mut seen = std::collections::HashSet::new();
        let ctx = SessionContext::new();
        register_sql(&ctx);
        for h in HELPERS {
            assert!(seen.insert(h.name), "{} listed twice", h.name);
            assert!(
                h.sql.is_some() || h.rhai.is_some(),
                "{} serves no language",
                h.name
            );
            match h.sql.map(|f| f()) {
                Some(SqlFunction::Scalar(f)) => assert_eq!(f.name(), h.name),
                Some(SqlFunction::Aggregate(f)) => assert_eq!(f.name(), h.name),
                None => {}
            }
            if h.sql.is_some() {
                assert!(
                    ctx.udf(h.name).is_ok() || ctx.udaf(h.name).is_ok(),
                    "SQL lacks {}",
                    h.name
                );
            }
        }
    }

    #[test]
    fn scripts_call_the_same_functions_as_sql() {
        let engine = crate::script::sandbox(Default::default());
        let got: String = engine
            .eval(r#"route_template("/users/42") + " " + ua_class("curl/8.0") + " " + url_extension("/a/b.sql")"#)
            .expect("helpers are registered in the sandbox");
        assert_eq!(
            got,
            format!(
                "{} {} sql",
                super::super::route_template("/users/42"),
                super::super::ua_class("curl/8.0").as_str()
            )
        );
    }
}
