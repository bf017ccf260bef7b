//! Partner-registry administration through the admin API: a change proposed by one
//! administrator is applied only when another approves it, and then takes effect without a
//! restart: onboarding, key rotation (a revoked key's cached tokens stop at once), key expiry,
//! certificate pinning, and other instances following.

mod common;

use std::time::{Duration, Instant};

use common::{mtls_client, pki, thumbprint_of, Env, Partner, Response};
use reqwest::StatusCode;
use serde_json::{json, Value};
use vhgate::auth::{sign_token, Claims};
use vhgate::pki::{generate_jwt_keypair, ClientCertOptions};

on_both_backends!(
    onboarding_a_partner_needs_no_restart,
    four_eyes_rejection_and_invalid_proposals,
    key_rotation_ends_cached_tokens_at_once,
    key_not_after_is_enforced,
    certificate_constraints_pin_the_partner_certificate,
    other_instances_follow_and_restarts_load_the_registry,
    impact_preview_of_registry_changes,
);

const NEW_OIN: &str = "00000099000000000077";

/// Sends an authenticated admin request (`body` makes it a POST).
async fn send(
    env: &Env,
    p: &Partner,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let req = match body {
        Some(b) => p.http.post(env.url(path)).json(&b),
        None => p.http.get(env.url(path)),
    };
    let r = req.bearer_auth(token).send().await.expect("request");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Tokens for two different convenant administrators of the Veiligheidshuis.
fn administrators(vh: &Partner) -> (String, String) {
    let admin = |sub: &str| {
        vh.sign(&Claims {
            sub: sub.into(),
            ..vh.claims("convenant_administrator", "beheer")
        })
    };
    (admin("beheerder-alice"), admin("beheerder-bob"))
}

/// Proposes `changes` as alice and approves them as bob; returns the applied record.
async fn apply(env: &Env, changes: Value) -> Value {
    let vh = env.client("veiligheidshuis");
    let (alice, bob) = administrators(&vh);
    let (status, proposed) = send(
        env,
        &vh,
        &alice,
        "/v1/admin/registry/changes",
        Some(json!({ "changes": changes })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{proposed}");
    let id = proposed["id"].as_str().expect("id").to_string();
    let (status, applied) = send(
        env,
        &vh,
        &bob,
        &format!("/v1/admin/registry/changes/{id}/approve"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{applied}");
    assert_eq!(applied["status"], "applied");
    applied
}

/// A partner the convenant does not know yet: a client certificate from the convenant CA and
/// its own token key, as a new organisation brings them to onboarding.
struct Newcomer {
    partner: Partner,
    cert_pem: String,
    key_pem: String,
    public_jwt_pem: String,
}

fn newcomer(env: &Env) -> Newcomer {
    let ca = pki().layout.load_ca().expect("CA");
    let cert = ca
        .issue_client(
            NEW_OIN,
            "Woonstichting Nieuw",
            &ClientCertOptions::default(),
        )
        .expect("client certificate");
    let (private, public) = generate_jwt_keypair().expect("token key");
    Newcomer {
        partner: Partner {
            name: "woonstichting".into(),
            oin: NEW_OIN.into(),
            jwt_key: private,
            kid: "woonstichting-2026-1".into(),
            thumbprint: thumbprint_of(&cert.cert_pem),
            http: mtls_client(env.addr, &cert.cert_pem, &cert.key_pem),
        },
        cert_pem: cert.cert_pem,
        key_pem: cert.key_pem,
        public_jwt_pem: public,
    }
}

fn onboarding(n: &Newcomer) -> Value {
    json!([
        {
            "kind": "upsert_partner",
            "oin": NEW_OIN,
            "name": "Woonstichting Nieuw",
            "partner_type": "woningcorporatie"
        },
        {
            "kind": "add_key",
            "oin": NEW_OIN,
            "kid": n.partner.kid,
            "alg": "EdDSA",
            "public_key_pem": n.public_jwt_pem
        }
    ])
}

async fn registry_changes_in_log(env: &Env) -> usize {
    vhgate::disclosure::store::rows_after(&env.db, 0, 10_000)
        .await
        .expect("rows")
        .iter()
        .filter(|r| r.event == "registry_change")
        .count()
}

async fn onboarding_a_partner_needs_no_restart(env: &Env) {
    let vh = env.client("veiligheidshuis");
    let (alice, bob) = administrators(&vh);
    let n = newcomer(env);
    let token = n.partner.token("professional", "casusoverleg");
    let before = n
        .partner
        .read_person(env, &token, env.ids.oss_case, env.ids.oss_youth)
        .await;
    assert_eq!(before.status, StatusCode::FORBIDDEN, "{}", before.body);
    assert_eq!(before.problem(), "unknown-organisation");

    // Only administrators see or change the registry.
    let politie = env.client("politie");
    let pt = politie.token("professional", "casusoverleg");
    let (status, _) = send(env, &politie, &pt, "/v1/admin/registry", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = send(
        env,
        &politie,
        &pt,
        "/v1/admin/registry/changes",
        Some(json!({ "changes": onboarding(&n) })),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, proposed) = send(
        env,
        &vh,
        &alice,
        "/v1/admin/registry/changes",
        Some(json!({ "changes": onboarding(&n), "note": "toetreding per addendum 3" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{proposed}");
    assert_eq!(proposed["status"], "proposed");
    let id = proposed["id"].as_str().expect("id").to_string();
    let pending = n
        .partner
        .read_person(env, &token, env.ids.oss_case, env.ids.oss_youth)
        .await;
    assert_eq!(
        pending.problem(),
        "unknown-organisation",
        "a proposal changes nothing"
    );

    // The proposer cannot approve their own change; another administrator can.
    let approve = format!("/v1/admin/registry/changes/{id}/approve");
    let (status, body) = send(env, &vh, &alice, &approve, Some(json!({}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = send(env, &vh, &bob, &approve, Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "applied");
    assert_eq!(body["proposed_by"], format!("{}:beheerder-alice", vh.oin));
    assert_eq!(body["decided_by"], format!("{}:beheerder-bob", vh.oin));
    let (status, _) = send(env, &vh, &alice, &approve, Some(json!({}))).await;
    assert_eq!(status, StatusCode::CONFLICT, "applied only once");

    // Same server, no restart: the newcomer is authenticated now, and its partner type gets
    // only what the policy allows it (not seated at this case: refused by policy).
    let after = n
        .partner
        .read_person(env, &token, env.ids.oss_case, env.ids.oss_youth)
        .await;
    assert_eq!(after.status, StatusCode::FORBIDDEN, "{}", after.body);
    assert!(
        ["denied", "hit-no-hit-only"].contains(&after.problem()),
        "{}",
        after.body
    );
    let entry = env.last_entry().await;
    assert_eq!(entry["event"], "read_person");
    assert_eq!(entry["requester"]["oin"], NEW_OIN);
    assert_eq!(entry["requester"]["partner_type"], "woningcorporatie");
    assert_eq!(entry["requester"]["sub"], "woonstichting-medewerker-7");

    // The registry view: the partner with its key (public material), and the convenant's
    // registers from the policy, read-only.
    let (status, view) = send(env, &vh, &alice, "/v1/admin/registry", None).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["version"], 1);
    let partner = view["partners"]
        .as_array()
        .expect("partners")
        .iter()
        .find(|p| p["oin"] == NEW_OIN)
        .expect("the new partner")
        .clone();
    assert_eq!(partner["partner_type"], "woningcorporatie");
    assert_eq!(partner["active"], true);
    assert_eq!(partner["allowed_thumbprints"], json!([]));
    assert_eq!(partner["keys"][0]["kid"], "woonstichting-2026-1");
    assert_eq!(partner["keys"][0]["alg"], "EdDSA");
    assert!(partner["keys"][0]["created_at"].is_string());
    assert!(partner["keys"][0]["revoked_at"].is_null());
    assert!(!view.to_string().contains("PRIVATE KEY"));
    let roles = view["convenant"]["roles"].as_array().expect("roles");
    assert!(roles.contains(&json!("convenant_administrator")));
    assert!(view["convenant"]["purposes"]
        .as_array()
        .expect("purposes")
        .contains(&json!("casusoverleg")));
    assert!(view["convenant"]["partner_types"]
        .as_array()
        .expect("types")
        .contains(&json!("woningcorporatie")));

    let (status, history) = send(env, &vh, &bob, "/v1/admin/registry/changes", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(history[0]["id"], id.as_str());
    assert_eq!(history[0]["note"], "toetreding per addendum 3");
    assert_eq!(history[0]["changes"][0]["kind"], "upsert_partner");
    assert!(history[0]["decided_at"].is_string());

    // Deactivating the partner ends its access at once.
    apply(
        env,
        json!([{ "kind": "upsert_partner", "oin": NEW_OIN, "name": "Woonstichting Nieuw",
                  "partner_type": "woningcorporatie", "active": false }]),
    )
    .await;
    let gone = n
        .partner
        .read_person(env, &token, env.ids.oss_case, env.ids.oss_youth)
        .await;
    assert_eq!(gone.problem(), "unknown-organisation");

    // Every applied change is an entry in the transparency log.
    assert_eq!(registry_changes_in_log(env).await, 2);
    let rows = vhgate::disclosure::store::rows_after(&env.db, 0, 10_000)
        .await
        .expect("rows");
    let logged = rows
        .iter()
        .find(|r| r.event == "registry_change")
        .expect("registry change entry");
    assert!(logged.entry.contains(&id), "{}", logged.entry);
    assert!(!logged.entry.contains("PUBLIC KEY"), "{}", logged.entry);
    env.assert_log_intact().await;
}

async fn four_eyes_rejection_and_invalid_proposals(env: &Env) {
    let vh = env.client("veiligheidshuis");
    let (alice, bob) = administrators(&vh);
    let n = newcomer(env);
    let (_, public) = generate_jwt_keypair().expect("key");
    let changes = "/v1/admin/registry/changes";
    let invalid = [
        (
            json!([{ "kind": "upsert_partner", "oin": "12345", "name": "X", "partner_type": "gemeente" }]),
            "oin",
        ),
        (
            json!([{ "kind": "upsert_partner", "oin": NEW_OIN, "name": "X", "partner_type": "bakkerij" }]),
            "partner_type",
        ),
        (
            json!([{ "kind": "add_key", "oin": vh.oin, "kid": "vh-9", "alg": "EdDSA",
                      "public_key_pem": "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n" }]),
            "public_key_pem",
        ),
        (
            json!([{ "kind": "add_key", "oin": vh.oin, "kid": "vh-9", "alg": "HS256", "public_key_pem": public }]),
            "alg",
        ),
        (
            json!([{ "kind": "add_key", "oin": vh.oin, "kid": vh.kid, "alg": "EdDSA", "public_key_pem": public }]),
            "kid",
        ),
        (
            json!([{ "kind": "add_key", "oin": NEW_OIN, "kid": "n-1", "alg": "EdDSA", "public_key_pem": public }]),
            "oin",
        ),
        (
            json!([{ "kind": "revoke_key", "kid": "no-such-key" }]),
            "kid",
        ),
        (
            json!([{ "kind": "set_certificate_constraints", "oin": vh.oin, "allowed_thumbprints": ["abc"] }]),
            "allowed_thumbprints",
        ),
        (json!([]), "changes"),
    ];
    for (body, field) in invalid {
        let r = vh
            .http
            .post(env.url(changes))
            .bearer_auth(&alice)
            .json(&json!({ "changes": body }))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(
            r.headers()["content-type"],
            "application/problem+json",
            "{body}"
        );
        let problem: Value = r.json().await.expect("problem json");
        assert_eq!(
            problem["type"], "urn:vhgate:problem:invalid-registry-change",
            "{problem}"
        );
        assert!(
            problem["problems"]
                .as_array()
                .expect("problems")
                .iter()
                .any(|p| p["field"] == field),
            "{field} in {problem}"
        );
    }
    // Malformed requests: an unknown kind, an unknown field, not JSON.
    for body in [
        r#"{"changes": [{"kind": "drop_partner", "oin": "00000099000000000011"}]}"#,
        r#"{"changes": [{"kind": "revoke_key", "kid": "politie-1", "force": true}]}"#,
        "not json",
    ] {
        let r = vh
            .http
            .post(env.url(changes))
            .bearer_auth(&alice)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
    }
    // Nothing was stored.
    let (status, history) = send(env, &vh, &alice, changes, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(history, json!([]));

    // Rejection needs a reason; a rejected change cannot be approved.
    let (status, proposed) = send(
        env,
        &vh,
        &alice,
        changes,
        Some(json!({ "changes": onboarding(&n) })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{proposed}");
    let id = proposed["id"].as_str().expect("id").to_string();
    let reject = format!("/v1/admin/registry/changes/{id}/reject");
    let (status, body) = send(env, &vh, &bob, &reject, Some(json!({ "reason": "  " }))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = send(env, &vh, &bob, &reject, Some(json!({}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = send(
        env,
        &vh,
        &bob,
        &reject,
        Some(json!({ "reason": "addendum nog niet getekend" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "rejected");
    assert_eq!(body["reason"], "addendum nog niet getekend");
    assert_eq!(body["decided_by"], format!("{}:beheerder-bob", vh.oin));
    let (status, _) = send(
        env,
        &vh,
        &alice,
        &format!("/v1/admin/registry/changes/{id}/approve"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, body) = send(
        env,
        &vh,
        &bob,
        "/v1/admin/registry/changes/no-such-id/approve",
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let token = n.partner.token("professional", "casusoverleg");
    let r = n
        .partner
        .read_person(env, &token, env.ids.oss_case, env.ids.oss_youth)
        .await;
    assert_eq!(r.problem(), "unknown-organisation");
    assert_eq!(registry_changes_in_log(env).await, 0);

    // Validated again at approval: a change that became invalid meanwhile is refused.
    let (_, first) = send(
        env,
        &vh,
        &alice,
        changes,
        Some(json!({ "changes": onboarding(&n) })),
    )
    .await;
    let (_, second) = send(
        env,
        &vh,
        &alice,
        changes,
        Some(json!({ "changes": onboarding(&n) })),
    )
    .await;
    for (record, expected) in [
        (&first, StatusCode::OK),
        (&second, StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let id = record["id"].as_str().expect("id");
        let (status, body) = send(
            env,
            &vh,
            &bob,
            &format!("/v1/admin/registry/changes/{id}/approve"),
            Some(json!({})),
        )
        .await;
        assert_eq!(status, expected, "{body}");
    }
    let (_, history) = send(env, &vh, &alice, changes, None).await;
    let statuses: Vec<&str> = history
        .as_array()
        .expect("history")
        .iter()
        .map(|c| c["status"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(statuses, ["proposed", "applied", "rejected"]);
}

/// A token of politie signed with another of its keys.
fn politie_token(politie: &Partner, private_pem: &str, kid: &str) -> String {
    sign_token(
        &politie.claims("professional", "casusoverleg"),
        private_pem,
        Some(kid),
    )
    .expect("sign")
}

async fn key_rotation_ends_cached_tokens_at_once(env: &Env) {
    let politie = env.client("politie");
    let old = politie.token("professional", "casusoverleg");
    for _ in 0..2 {
        // The second request is answered from the verified-token cache.
        let r = politie
            .read_person(env, &old, env.ids.oss_case, env.ids.oss_youth)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let (private, public) = generate_jwt_keypair().expect("key");
    apply(
        env,
        json!([{ "kind": "add_key", "oin": politie.oin, "kid": "politie-2", "alg": "EdDSA",
                  "public_key_pem": public }]),
    )
    .await;
    let new = politie_token(&politie, &private, "politie-2");
    for token in [&old, &new] {
        let r = politie
            .read_person(env, token, env.ids.oss_case, env.ids.oss_youth)
            .await;
        assert_eq!(r.status, StatusCode::OK, "both keys during the overlap");
    }
    // Cache the old token once more right before its key is revoked.
    let r = politie
        .read_person(env, &old, env.ids.oss_case, env.ids.oss_youth)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    apply(env, json!([{ "kind": "revoke_key", "kid": "politie-1" }])).await;
    let r = politie
        .read_person(env, &old, env.ids.oss_case, env.ids.oss_youth)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert_eq!(r.problem(), "token-unknown-key");
    // A fresh token with the revoked key too.
    let r = politie
        .read_person(
            env,
            &politie.token("professional", "casusoverleg"),
            env.ids.oss_case,
            env.ids.oss_youth,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = politie
        .read_person(env, &new, env.ids.oss_case, env.ids.oss_youth)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let vh = env.client("veiligheidshuis");
    let (alice, _) = administrators(&vh);
    let (_, view) = send(env, &vh, &alice, "/v1/admin/registry", None).await;
    let keys = view["partners"]
        .as_array()
        .expect("partners")
        .iter()
        .find(|p| p["oin"] == politie.oin.as_str())
        .expect("politie")["keys"]
        .clone();
    let revoked: Vec<(String, bool)> = keys
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| {
            (
                k["kid"].as_str().unwrap_or("").to_string(),
                k["revoked_at"].is_string(),
            )
        })
        .collect();
    assert_eq!(
        revoked,
        [
            ("politie-1".to_string(), true),
            ("politie-2".to_string(), false)
        ]
    );
    // A revoked key cannot be revoked again, nor its id reused.
    let (status, _) = send(
        env,
        &vh,
        &alice,
        "/v1/admin/registry/changes",
        Some(json!({ "changes": [{ "kind": "revoke_key", "kid": "politie-1" }] })),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    env.assert_log_intact().await;
}

async fn key_not_after_is_enforced(env: &Env) {
    let politie = env.client("politie");
    let (private, public) = generate_jwt_keypair().expect("key");
    let not_after = chrono::Utc::now() + chrono::Duration::seconds(3);
    apply(
        env,
        json!([{ "kind": "add_key", "oin": politie.oin, "kid": "politie-kort", "alg": "EdDSA",
                  "public_key_pem": public, "not_after": not_after }]),
    )
    .await;
    let token = politie_token(&politie, &private, "politie-kort");
    let r = politie
        .read_person(env, &token, env.ids.oss_case, env.ids.oss_youth)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    tokio::time::sleep(Duration::from_millis(3200)).await;
    // Cached, and the token itself still valid, but its key has ended.
    let r = politie
        .read_person(env, &token, env.ids.oss_case, env.ids.oss_youth)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert_eq!(r.problem(), "token-unknown-key");
    // A past not_after is refused at proposal.
    let vh = env.client("veiligheidshuis");
    let (alice, _) = administrators(&vh);
    let (_, public) = generate_jwt_keypair().expect("key");
    let (status, body) = send(
        env,
        &vh,
        &alice,
        "/v1/admin/registry/changes",
        Some(
            json!({ "changes": [{ "kind": "add_key", "oin": politie.oin, "kid": "politie-oud",
            "alg": "EdDSA", "public_key_pem": public, "not_after": "2020-01-01T00:00:00Z" }] }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

async fn read(env: &Env, p: &Partner, token: &str) -> Response {
    p.read_person(env, token, env.ids.oss_case, env.ids.oss_youth)
        .await
}

async fn certificate_constraints_pin_the_partner_certificate(env: &Env) {
    let politie = env.client("politie");
    let ca = pki().layout.load_ca().expect("CA");
    let second = ca
        .issue_client(
            &politie.oin,
            "Politie (tweede certificaat)",
            &ClientCertOptions::default(),
        )
        .expect("second certificate");
    let other = Partner {
        name: "politie".into(),
        oin: politie.oin.clone(),
        jwt_key: politie.jwt_key.clone(),
        kid: politie.kid.clone(),
        thumbprint: thumbprint_of(&second.cert_pem),
        http: mtls_client(env.addr, &second.cert_pem, &second.key_pem),
    };
    let t1 = politie.token("professional", "casusoverleg");
    let t2 = other.token("professional", "casusoverleg");
    assert_eq!(read(env, &other, &t2).await.status, StatusCode::OK);

    apply(
        env,
        json!([{ "kind": "set_certificate_constraints", "oin": politie.oin,
                  "allowed_thumbprints": [politie.thumbprint] }]),
    )
    .await;
    let refused = read(env, &other, &t2).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert_eq!(refused.problem(), "certificate-not-registered");
    assert_eq!(refused.content_type(), "application/problem+json");
    let entry = env.last_entry().await;
    assert_eq!(entry["event"], "auth_failure");
    assert_eq!(entry["status"], 403);
    assert_eq!(entry["problem_type"], "certificate-not-registered");
    assert_eq!(
        entry["requester"]["cert_thumbprint"],
        other.thumbprint.as_str()
    );
    assert_eq!(read(env, &politie, &t1).await.status, StatusCode::OK);

    // An empty list allows any certificate with the OIN again.
    apply(
        env,
        json!([{ "kind": "set_certificate_constraints", "oin": politie.oin,
                  "allowed_thumbprints": [] }]),
    )
    .await;
    assert_eq!(read(env, &other, &t2).await.status, StatusCode::OK);
    env.assert_log_intact().await;
}

async fn other_instances_follow_and_restarts_load_the_registry(env: &Env) {
    let mut config = env.config.clone();
    config.policy.sync_interval_secs = 1;
    let other = env.start_instance_with(config.clone()).await;
    let n = newcomer(env);
    let on_other = mtls_client(other.addr, &n.cert_pem, &n.key_pem);
    let url = |addr: std::net::SocketAddr| {
        format!(
            "https://localhost:{}/v1/cases/{}/persons/{}",
            addr.port(),
            env.ids.oss_case,
            env.ids.oss_youth
        )
    };
    let token = n.partner.token("professional", "casusoverleg");
    let problem = |body: &Value| body["type"].as_str().unwrap_or("").to_string();
    let r = on_other
        .get(url(other.addr))
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    let body: Value = r.json().await.expect("json");
    assert_eq!(problem(&body), "urn:vhgate:problem:unknown-organisation");

    // Politie's token is cached on the other instance before its key is revoked here.
    let politie = env.client("politie");
    let politie_other = mtls_client(
        other.addr,
        &std::fs::read_to_string(pki().layout.partner_cert("politie")).expect("cert"),
        &std::fs::read_to_string(pki().layout.partner_key("politie")).expect("key"),
    );
    let pt = politie.token("professional", "casusoverleg");
    let r = politie_other
        .get(url(other.addr))
        .bearer_auth(&pt)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::OK);

    let applied_at = Instant::now();
    let mut changes = onboarding(&n);
    changes
        .as_array_mut()
        .expect("array")
        .push(json!({ "kind": "revoke_key", "kid": "politie-1" }));
    apply(env, changes).await;
    while other.gateway.registry().get(NEW_OIN).is_none() {
        assert!(
            applied_at.elapsed() < Duration::from_secs(10),
            "the other instance did not follow"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "applied to followed on the other instance: {:?}",
        applied_at.elapsed()
    );
    let r = on_other
        .get(url(other.addr))
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    let body: Value = r.json().await.expect("json");
    assert!(
        [
            "urn:vhgate:problem:denied",
            "urn:vhgate:problem:hit-no-hit-only"
        ]
        .contains(&problem(&body).as_str()),
        "authenticated on the other instance, then refused by policy: {body}"
    );
    let r = politie_other
        .get(url(other.addr))
        .bearer_auth(&pt)
        .send()
        .await
        .expect("request");
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "the revoked key's cached token on the other instance"
    );
    other.stop().await;

    // A restarted instance loads the registry from the database.
    let restarted = env.start_instance_with(config).await;
    let registry = restarted.gateway.registry();
    let partner = registry.get(NEW_OIN).expect("the new partner");
    assert_eq!(partner.partner_type, "woningcorporatie");
    assert_eq!(partner.keys.len(), 1);
    assert!(registry.get(&politie.oin).expect("politie").keys.is_empty());
    assert_eq!(registry.version(), 1);
    restarted.stop().await;
}

/// The `disclosed` fields of the newest log entry (the read just made).
async fn disclosed_by_last_read(env: &Env) -> usize {
    let entry = env.last_entry().await;
    assert_eq!(entry["event"], "read_person", "{entry}");
    entry["disclosed"].as_array().expect("disclosed").len()
}

/// `n field(s) newly withheld`, as the summary words it.
fn withheld(n: usize) -> String {
    if n == 1 {
        "1 field newly withheld".into()
    } else {
        format!("{n} fields newly withheld")
    }
}

/// The impact preview of a registry change replays recent decisions with the changed
/// registry: a partner with another type gets what that type gets, a deactivated partner (or
/// one whose only key is revoked) is refused; counts and the summary line match the requests.
async fn impact_preview_of_registry_changes(env: &Env) {
    let ids = &env.ids;
    let vh = env.client("veiligheidshuis");
    let (alice, bob) = administrators(&vh);
    // What the housing corporation's type may see of the Uden man (read first, so it falls
    // outside the replayed `last=4`).
    let woning = env.client("woningcorporatie");
    let wt = woning.token("professional", "casusoverleg");
    let r = woning
        .read_person(env, &wt, ids.uden_case, ids.uden_man)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let as_woning = disclosed_by_last_read(env).await;
    // Four decisions: reclassering reads him twice (everything), politie reads a case and
    // looks up a BSN.
    let reclassering = env.client("reclassering");
    let rt = reclassering.token("professional", "casusoverleg");
    let mut as_reclassering = 0;
    for _ in 0..2 {
        let r = reclassering
            .read_person(env, &rt, ids.uden_case, ids.uden_man)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        as_reclassering = disclosed_by_last_read(env).await;
    }
    assert!(
        as_reclassering > as_woning,
        "{as_reclassering} / {as_woning}"
    );
    let politie = env.client("politie");
    let pt = politie.token("professional", "casusoverleg");
    let r = politie
        .read_person(env, &pt, ids.oss_case, ids.oss_youth)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let as_politie = disclosed_by_last_read(env).await;
    let r = politie.lookup(env, &pt, ids.unknown_bsn).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let propose = |changes: Value| {
        let (vh, alice) = (&vh, &alice);
        async move {
            let (status, proposed) = send(
                env,
                vh,
                alice,
                "/v1/admin/registry/changes",
                Some(json!({ "changes": changes })),
            )
            .await;
            assert_eq!(status, StatusCode::CREATED, "{proposed}");
            proposed["id"].as_str().expect("id").to_string()
        }
    };
    // Reclassering becomes a housing corporation; politie is taken out.
    let id = propose(json!([
        {"kind": "upsert_partner", "oin": reclassering.oin, "name": "Reclassering",
         "partner_type": "woningcorporatie"},
        {"kind": "upsert_partner", "oin": politie.oin, "name": "Politie",
         "partner_type": "politie", "active": false},
    ]))
    .await;
    let path = format!("/v1/admin/registry/changes/{id}/impact");
    let (status, report) = send(env, &vh, &bob, &format!("{path}?last=4"), None).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["baseline"], "active", "the registry change alone");
    assert_eq!(
        (report["replayed"].as_u64(), report["changed"].as_u64()),
        (Some(4), Some(4)),
        "{report}"
    );
    let narrowed = 2 * (as_reclassering - as_woning);
    let rk = &report["by_partner_type"]["reclassering"];
    assert_eq!(rk["narrowed_requests"], 2, "{report}");
    assert_eq!(rk["newly_withheld_fields"], narrowed as u64);
    assert_eq!(rk["newly_allowed_fields"], 0);
    let pk = &report["by_partner_type"]["politie"];
    assert_eq!(pk["newly_denied_requests"], 2, "{report}");
    assert_eq!(pk["newly_withheld_fields"], as_politie as u64);
    assert_eq!(
        report["summary"],
        format!(
            "impact: 4 of 4 decisions change — politie: 2 permit→deny, {}; reclassering: 2 narrowed, {}",
            withheld(as_politie),
            withheld(narrowed)
        )
    );
    assert!(report.get("notes").is_none(), "{report}");
    let refusal = report["examples"]
        .as_array()
        .expect("examples")
        .iter()
        .find(|e| e["partner_type"] == "politie" && e["event"] == "read_person")
        .expect("politie's read")
        .clone();
    assert_eq!(refusal["after"]["outcome"], "denied");
    assert!(
        refusal["newly_withheld"][0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("taken out of the registry")),
        "{refusal}"
    );

    // Revoking politie's only key refuses it as well; a rotation (a new key, then the old one
    // revoked) changes no decision the log can tell, and says so.
    let (_, public) = generate_jwt_keypair().expect("key");
    let revoke_only = propose(json!([{"kind": "revoke_key", "kid": politie.kid}])).await;
    let (status, report) = send(
        env,
        &vh,
        &bob,
        &format!("/v1/admin/registry/changes/{revoke_only}/impact?last=4"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["changed"], 2, "{report}");
    assert_eq!(report["newly_denied_requests"], 2);
    let rotation = propose(json!([
        {"kind": "add_key", "oin": politie.oin, "kid": "politie-2", "alg": "EdDSA",
         "public_key_pem": public},
        {"kind": "revoke_key", "kid": politie.kid},
    ]))
    .await;
    let (status, report) = send(
        env,
        &vh,
        &bob,
        &format!("/v1/admin/registry/changes/{rotation}/impact"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["changed"], 0, "{report}");
    assert!(
        report["summary"]
            .as_str()
            .is_some_and(|s| s.starts_with("impact: 0 of ") && s.ends_with("(1 note(s))")),
        "{report}"
    );
    assert!(
        report["notes"][0]
            .as_str()
            .is_some_and(|n| n.contains(&politie.kid)),
        "{report}"
    );

    // Previewing changed nothing; strangers and unknown changes get problems.
    let r = politie
        .read_person(env, &pt, ids.oss_case, ids.oss_youth)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let (status, _) = send(env, &politie, &pt, &path, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = send(
        env,
        &vh,
        &bob,
        &format!("/v1/admin/registry/changes/{}/impact", uuid::Uuid::nil()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(env, &vh, &bob, &format!("{path}?last=0"), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    env.assert_log_intact().await;
}
