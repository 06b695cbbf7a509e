//! A small reverse proxy that the multi-instance tests run as `PUBLIC_URL`, as a load balancer in front
//! of several Scout instances: requests go round-robin to the instances that answer; an instance that
//! refuses the connection (it died) is skipped. It counts, per instance, the job steps (webhook calls)
//! it passed on, and knows which are in flight.

use axum::{
    body::{to_bytes, Body},
    extract::{Request, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Router,
};
use std::sync::{Arc, Mutex};

const STEP_PATH: &str = "/api/qstash/process-scraping";

#[derive(Default)]
struct Upstream {
    base: String,
    /// Step deliveries answered / in flight through this instance.
    steps_answered: usize,
    steps_in_flight: usize,
}

#[derive(Clone, Default)]
pub struct LoadBalancer {
    upstreams: Arc<Mutex<Vec<Upstream>>>,
    next: Arc<Mutex<usize>>,
    http: reqwest::Client,
}

impl LoadBalancer {
    /// Starts it on a random port; returns it and its base URL.
    pub async fn spawn() -> (Self, String) {
        let balancer = LoadBalancer {
            http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
            ..Default::default()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let router = Router::new().fallback(forward).with_state(balancer.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        (balancer, address)
    }

    pub fn add(&self, base: &str) {
        self.upstreams.lock().unwrap().push(Upstream { base: base.to_string(), ..Default::default() });
    }

    /// Job steps each instance answered so far, by base URL.
    pub fn steps_answered(&self, base: &str) -> usize {
        self.upstreams.lock().unwrap().iter().find(|u| u.base == base).map(|u| u.steps_answered).unwrap_or(0)
    }

    /// An instance running a job step right now, if any.
    pub fn running_a_step(&self) -> Option<String> {
        self.upstreams.lock().unwrap().iter().find(|u| u.steps_in_flight > 0).map(|u| u.base.clone())
    }

    fn note(&self, base: &str, change: impl FnOnce(&mut Upstream)) {
        if let Some(upstream) = self.upstreams.lock().unwrap().iter_mut().find(|u| u.base == base) {
            change(upstream);
        }
    }
}

async fn forward(State(balancer): State<LoadBalancer>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = to_bytes(body, 16 * 1024 * 1024).await else { return StatusCode::BAD_REQUEST.into_response() };
    let path = parts.uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
    let is_step = parts.uri.path() == STEP_PATH;
    let count = balancer.upstreams.lock().unwrap().len();
    let start = {
        let mut next = balancer.next.lock().unwrap();
        *next += 1;
        *next
    };
    for attempt in 0..count {
        let base = balancer.upstreams.lock().unwrap()[(start + attempt) % count].base.clone();
        let mut outgoing = balancer.http.request(parts.method.clone(), format!("{base}{path}")).body(body.clone());
        for (name, value) in &parts.headers {
            // The Host the client used is kept, as load balancers do.
            if !matches!(name.as_str(), "connection" | "content-length" | "transfer-encoding") {
                outgoing = outgoing.header(name, value);
            }
        }
        if is_step {
            balancer.note(&base, |u| u.steps_in_flight += 1);
        }
        let answer = outgoing.send().await;
        if is_step {
            balancer.note(&base, |u| u.steps_in_flight -= 1);
        }
        let answer = match answer {
            Ok(answer) => answer,
            // Down: the next instance gets the request, as a health-checked pool would.
            Err(e) if e.is_connect() => continue,
            // Died while answering: the caller sees a bad gateway (QStash retries a step).
            Err(_) => return StatusCode::BAD_GATEWAY.into_response(),
        };
        let mut response = Response::builder().status(answer.status().as_u16());
        for (name, value) in answer.headers() {
            if !matches!(name.as_str(), "connection" | "content-length" | "transfer-encoding") {
                response = response.header(name, value);
            }
        }
        let Ok(bytes) = answer.bytes().await else { return StatusCode::BAD_GATEWAY.into_response() };
        if is_step {
            balancer.note(&base, |u| u.steps_answered += 1);
        }
        return response.body(Body::from(bytes)).unwrap();
    }
    StatusCode::SERVICE_UNAVAILABLE.into_response()
}
