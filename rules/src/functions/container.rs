//! Container daemons' own APIs: [`container_api`] names the daemon whose API a path is, for
//! `container-api-exposed`. Nearly every request is turned away by a look at the first bytes
//! of its path; the few left are matched on the normalized path.

use std::sync::OnceLock;

use regex::Regex;

/// The Docker Engine API (Podman answers it too): an endpoint family behind a version prefix
/// (`/v1.12/` to `/v1.99/`, every Engine API version), Podman's own API behind its three-part
/// version (`/v4.0.0/libpod/...`), and without a prefix only names no site gives a page: the
/// listings, a container's start, exec or attach by its hex id, an exec start by its 64-hex id.
const DOCKER: &str = r"^/(v1\.(1[2-9]|[2-9][0-9])/(containers|images|exec|info|version|_ping|system|swarm|nodes|services|tasks|secrets|configs|plugins|volumes|networks|build|commit|events|auth|distribution|session)(/|$)|v[1-6]\.[0-9]+\.[0-9]+/(libpod|containers|images|exec)/|(containers|images)/json/?$|containers/[0-9a-f]{12,64}/(start|exec|attach)/?$|exec/[0-9a-f]{64}/(start|json|resize)/?$)";

/// A kubelet's pod list and container logs, and a Kubernetes component's configuration; not the
/// names it shares with web sites (`/pods`, `/run/...`, `/stats/`, `/metrics`).
const KUBELET: &str = r"^/(runningpods/?|containerlogs/[^/]+/[^/]+/[^/]+/?|configz/?)$";

/// etcd's key space (v2) and its key-value calls (v3); a Docker Registry's repository named
/// `keys` (`/v2/keys/manifests/latest`) is not it.
const ETCD: &str = r"^/(v2/keys(/.*)?|v3(alpha|beta)?/kv/(range|put|deleterange)/?)$";
const REGISTRY: &str = r"^/v2/keys/(.*/)?(manifests|blobs|tags)/";

struct Patterns {
    docker: Regex,
    kubelet: Regex,
    etcd: Regex,
    registry: Regex,
}

/// The patterns, compiled once; `None` (logged) should a fixed pattern ever fail to compile
/// (a test compiles them).
fn patterns() -> Option<&'static Patterns> {
    static P: OnceLock<Option<Patterns>> = OnceLock::new();
    P.get_or_init(|| {
        let compiled = (|| {
            Ok::<_, regex::Error>(Patterns {
                docker: Regex::new(DOCKER)?,
                kubelet: Regex::new(KUBELET)?,
                etcd: Regex::new(ETCD)?,
                registry: Regex::new(REGISTRY)?,
            })
        })();
        compiled
            .map_err(|e| tracing::error!(error = %e, "the container API patterns do not compile"))
            .ok()
    })
    .as_ref()
}

/// The daemon whose own API `path` is: `docker` (the Docker Engine API, also as Podman serves
/// it), `kubelet` or `etcd`, or `None`. Compared as the daemon resolves it: percent-decoded,
/// any case, runs of `/` made one.
///
/// ```
/// use gatewatch_rules::functions::container_api;
/// assert_eq!(container_api("/v1.24/containers/json"), Some("docker"));
/// assert_eq!(container_api("//V1.41/Info"), Some("docker"));
/// assert_eq!(container_api("/v4.0.0/libpod/containers/json"), Some("docker"));
/// assert_eq!(container_api("/runningpods/"), Some("kubelet"));
/// assert_eq!(container_api("/v2/keys/coreos.com/network/config"), Some("etcd"));
/// assert_eq!(container_api("/v1/containers/json"), None);
/// assert_eq!(container_api("/v1.0/info"), None);
/// assert_eq!(container_api("/v2/keys/manifests/latest"), None);
/// ```
pub fn container_api(path: &str) -> Option<&'static str> {
    if !may_be(path) {
        return None;
    }
    let p = patterns()?;
    let normalized = super::probe::normalize_path(path);
    let n = normalized.as_ref();
    if p.docker.is_match(n) {
        Some("docker")
    } else if p.kubelet.is_match(n) {
        Some("kubelet")
    } else if p.etcd.is_match(n) && !p.registry.is_match(n) {
        Some("etcd")
    } else {
        None
    }
}

/// The first look: whether the path's first segment could begin one of the APIs (Docker's version
/// `v1.NN`, Podman's `vD.x.y`, etcd's `v2/keys` and `v3.../kv`, `containe...`, `configz`,
/// `images/`, `exec/`, `runningpods`), any case, after any run of `/`; a path holding `%` is always
/// looked at.
fn may_be(path: &str) -> bool {
    let bytes = path.as_bytes();
    if memchr::memchr(b'%', bytes).is_some() {
        return true;
    }
    let rest = path.trim_start_matches('/');
    if rest.len() == path.len() {
        return false;
    }
    let starts = |word: &str| {
        rest.get(..word.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(word))
    };
    match rest.as_bytes() {
        // Docker's `v1.NN` (two digits) or Podman's `vD.x.y`: not an API's own `/v1.0/`.
        [b'v' | b'V', d @ b'1'..=b'6', b'.', tail @ ..] => {
            let digits = tail.iter().take_while(|c| c.is_ascii_digit()).count();
            match tail.get(digits) {
                Some(b'.') => digits > 0,
                Some(b'/') | None => *d == b'1' && digits == 2,
                _ => false,
            }
        }
        [b'v' | b'V', b'2', ..] => starts("v2/keys"),
        [b'v' | b'V', b'3', ..] => {
            starts("v3/kv/") || starts("v3alpha/kv/") || starts("v3beta/kv/")
        }
        [b'c' | b'C', ..] => starts("containe") || starts("configz"),
        [b'i' | b'I', ..] => starts("images/"),
        [b'e' | b'E', ..] => starts("exec/"),
        [b'r' | b'R', ..] => starts("runningpods"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_patterns_compile() {
        assert!(patterns().is_some());
    }

    #[test]
    fn daemons_are_named_by_their_own_paths() {
        for (path, want) in [
            ("/v1.24/containers/json", Some("docker")),
            ("/v1.16/version", Some("docker")),
            ("/v1.24/_ping", Some("docker")),
            ("/v1.43/images/create", Some("docker")),
            ("/V1.41/SWARM/init", Some("docker")),
            ("/v1.24/%63ontainers/json", Some("docker")),
            ("/v5.0.0/images/create", Some("docker")),
            ("/containers/json", Some("docker")),
            ("/images/json", Some("docker")),
            ("//containers/9f86d081884c/start", Some("docker")),
            ("/containerLogs/default/web-1/nginx", Some("kubelet")),
            ("/configz", Some("kubelet")),
            ("/v2/keys/", Some("etcd")),
            ("/v3/kv/range", Some("etcd")),
            ("/v3alpha/kv/put", Some("etcd")),
        ] {
            assert_eq!(container_api(path), want, "{path}");
        }
    }

    #[test]
    fn paths_sites_and_other_apis_have_are_not_a_daemon() {
        for path in [
            "/",
            "/v1/users",
            "/v1.0/info",
            "/v1.0/me/messages",
            "/v2.1/users",
            "/v1.234/containers/json",
            "/v1.2/images/upload",
            "/v2/library/nginx/manifests/latest",
            "/v2/keys/manifests/latest",
            "/v3/orders",
            "/api/v1/namespaces/default/pods",
            "/pods",
            "/run/2021/half-marathon",
            "/containers/40ft-high-cube",
            "/containers/create",
            "/images/logo.png",
            "/executive/board",
            "/version",
            "/info",
            "/blog/v1.24/containers/json",
            "relative/v1.24/info",
        ] {
            assert_eq!(container_api(path), None, "{path}");
        }
    }
}
