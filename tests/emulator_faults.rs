//! Fault injection reaches the wire as real clients see it: a reset is a broken connection, not
//! an HTTP status, and a reset after handling still applies the change.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::routing::post;
use grantdesk::emulator::faults::{FaultSpec, Faults};

async fn serve(spec: &str, applied: Arc<AtomicU64>) -> (String, Arc<Faults>) {
    grantdesk::install_crypto_provider();
    let faults = Arc::new(Faults::new(spec.parse::<FaultSpec>().unwrap(), 3));
    let app = Router::new()
        .route(
            "/api/v1/groups/g/users/u",
            post(move || {
                let applied = applied.clone();
                async move {
                    applied.fetch_add(1, Ordering::SeqCst);
                    "ok"
                }
            }),
        )
        .layer(axum::middleware::from_fn_with_state(faults.clone(), grantdesk::emulator::faults::inject));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), faults)
}

#[tokio::test]
async fn resets_break_the_connection_and_some_apply_first() {
    let applied = Arc::new(AtomicU64::new(0));
    let (base, faults) = serve("reset=100%", applied.clone()).await;
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let mut failures = 0;
    for _ in 0..40 {
        let r = client.post(format!("{base}/api/v1/groups/g/users/u")).send().await;
        let body = match r {
            Ok(resp) => resp.text().await.map(|_| ()),
            Err(e) => Err(e),
        };
        if body.is_err() {
            failures += 1;
        }
    }
    assert_eq!(failures, 40, "every request must fail at the transport level");
    let c = faults.counts();
    assert_eq!(c.resets_before + c.resets_after, 40);
    assert!(c.resets_after > 0 && c.resets_before > 0);
    assert_eq!(applied.load(Ordering::SeqCst), c.resets_after, "a reset after handling applied the change");
}

#[tokio::test]
async fn okta_paths_get_okta_429s() {
    let (base, faults) = serve("429=100%", Arc::new(AtomicU64::new(0))).await;
    let r = reqwest::Client::new().post(format!("{base}/api/v1/groups/g/users/u")).send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_none(), "Okta sends no Retry-After");
    assert!(r.headers().get("x-rate-limit-reset").is_some());
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["errorCode"], "E0000047");
    assert_eq!(faults.counts().too_many_requests, 1);
}
