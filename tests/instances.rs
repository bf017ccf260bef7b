//! Several gateway instances on one database append to one log: contiguous sequence numbers,
//! one Merkle tree, consistent signed checkpoints.

mod common;

use std::sync::Arc;

use common::Env;
use reqwest::StatusCode;

on_both_backends!(two_instances_share_one_log);

async fn two_instances_share_one_log(env: &Env) {
    let second = env.start_instance().await;
    let politie = Arc::new(env.client("politie"));
    let token = politie.token("professional", "casusoverleg");
    let path = format!(
        "/v1/cases/{}/persons/{}",
        env.ids.oss_case, env.ids.oss_youth
    );
    let before = env.log_count().await;
    let mut tasks = Vec::new();
    for i in 0..80 {
        // Alternate between the instances; the client resolves localhost to 127.0.0.1 and the
        // port picks the instance.
        let port = if i % 2 == 0 {
            env.addr.port()
        } else {
            second.addr.port()
        };
        let url = format!("https://localhost:{port}{path}");
        let (p, t) = (politie.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            p.http
                .get(url)
                .bearer_auth(t)
                .send()
                .await
                .map(|r| r.status())
        }));
    }
    for t in tasks {
        assert_eq!(t.await.expect("join").expect("request"), StatusCode::OK);
    }
    assert_eq!(env.log_count().await, before + 80);
    // Contiguous sequence, one chain, one tree, every checkpoint signed over its prefix.
    env.assert_log_intact().await;
    second.stop().await;
}
