//! A real local HTTP receiver (axum on 127.0.0.1:0) that records what it is sent and can be
//! told to fail: answer 500 to the first N requests, or stall the first N past the client's
//! timeout.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
    /// What the receiver answered (0: stalled, the client gave up).
    pub status: u16,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

#[derive(Default)]
struct State {
    log: Mutex<Vec<Received>>,
    seen: AtomicUsize,
    fail_first: AtomicUsize,
    stall_first: AtomicUsize,
    stall_for: Mutex<Duration>,
    redirect_to: Mutex<Option<String>>,
}

/// A running receiver; stops when dropped (its runtime shuts down).
pub struct Receiver {
    pub addr: SocketAddr,
    state: Arc<State>,
    _rt: tokio::runtime::Runtime,
}

impl Receiver {
    pub fn start() -> Receiver {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let state = Arc::new(State::default());
        let st = state.clone();
        let app = Router::new().route(
            "/{*path}",
            post(move |headers: HeaderMap, body: Bytes| {
                let st = st.clone();
                async move {
                    let n = st.seen.fetch_add(1, Ordering::SeqCst);
                    let redirect = st.redirect_to.lock().unwrap().clone();
                    if let Some(location) = redirect {
                        st.log.lock().unwrap().push(Received {
                            headers,
                            body,
                            status: 301,
                        });
                        return (StatusCode::MOVED_PERMANENTLY, [("location", location)])
                            .into_response();
                    }
                    if n < st.stall_first.load(Ordering::SeqCst) {
                        let d = *st.stall_for.lock().unwrap();
                        st.log.lock().unwrap().push(Received {
                            headers: headers.clone(),
                            body: body.clone(),
                            status: 0,
                        });
                        tokio::time::sleep(d).await;
                        return StatusCode::GATEWAY_TIMEOUT.into_response();
                    }
                    let status = if n < st.fail_first.load(Ordering::SeqCst) {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::ACCEPTED
                    };
                    st.log.lock().unwrap().push(Received {
                        headers,
                        body,
                        status: status.as_u16(),
                    });
                    let r: Response = status.into_response();
                    r
                }
            }),
        );
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        rt.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            addr,
            state,
            _rt: rt,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Answer 500 to the first `n` requests.
    pub fn fail_first(&self, n: usize) -> &Self {
        self.state.fail_first.store(n, Ordering::SeqCst);
        self
    }

    /// Do not answer the first `n` requests for `d`.
    pub fn stall_first(&self, n: usize, d: Duration) -> &Self {
        *self.state.stall_for.lock().unwrap() = d;
        self.state.stall_first.store(n, Ordering::SeqCst);
        self
    }

    /// Answer every request with `301 Moved Permanently` to `location`.
    pub fn redirect_all(&self, location: &str) -> &Self {
        *self.state.redirect_to.lock().unwrap() = Some(location.to_owned());
        self
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.log.lock().unwrap().clone()
    }

    /// Requests answered with success.
    pub fn accepted(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| (200..300).contains(&r.status))
            .collect()
    }
}
