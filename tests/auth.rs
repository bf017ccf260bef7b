//! Who may talk to the gateway: the mTLS handshake refuses bad certificates before any HTTP, and
//! the partner token must be signed by the partner's registered key, bound to the presented
//! certificate, and fresh. Every token failure is a 401 problem and a log entry.

mod common;

use common::{b64, hs256, pki, Env, Partner, Response};
use reqwest::StatusCode;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use serde_json::json;
use vhgate::pki::IssuedCert;

on_both_backends!(
    bad_certificates_fail_the_handshake,
    no_client_certificate_fails_the_handshake,
    unknown_organisation_is_forbidden,
    valid_token_is_accepted_and_cached,
    forged_and_mismatched_tokens_are_unauthenticated,
    cached_token_on_another_certificate_is_refused,
);

const PROFESSIONAL: &str = "professional";

async fn read_uden(env: &Env, p: &Partner, token: &str) -> Response {
    p.read_person(env, token, env.ids.uden_case, env.ids.uden_man)
        .await
}

/// Sends one request with the certificate; it must not reach HTTP.
async fn assert_handshake_refused(env: &Env, what: &str, cert: &IssuedCert) {
    let client = env.raw_client(cert);
    let result = client.get(env.url("/healthz")).send().await;
    assert!(
        result.is_err(),
        "{what}: handshake accepted, got {:?}",
        result.map(|r| r.status())
    );
}

async fn bad_certificates_fail_the_handshake(env: &Env) {
    let pki = pki();
    let before = env.log_count().await;
    assert_handshake_refused(env, "revoked", &pki.revoked).await;
    assert_handshake_refused(env, "expired", &pki.expired).await;
    assert_handshake_refused(env, "not yet valid", &pki.not_yet_valid).await;
    assert_handshake_refused(env, "server-auth only", &pki.server_only).await;
    assert_handshake_refused(env, "untrusted CA", &pki.untrusted).await;
    assert_eq!(env.log_count().await, before, "nothing reached the gateway");
    // The gateway is still serving.
    let politie = env.client("politie");
    let r = politie.get(env, "/healthz", "").await;
    assert_eq!(r.status, StatusCode::OK);
}

async fn no_client_certificate_fails_the_handshake(env: &Env) {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(pki().ca_pem.as_bytes()) {
        roots.add(c.expect("ca")).expect("root");
    }
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .resolve("localhost", env.addr)
        .build()
        .expect("client");
    assert!(client.get(env.url("/healthz")).send().await.is_err());
}

async fn unknown_organisation_is_forbidden(env: &Env) {
    let pki = pki();
    let before = env.log_count().await;
    let r = env
        .raw_client(&pki.stranger)
        .get(env.url("/v1/disclosures"))
        .bearer_auth("x.y.z")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["type"], "urn:vhgate:problem:unknown-organisation");
    assert_eq!(env.log_count().await, before + 1);
    let entry = env.last_entry().await;
    assert_eq!(entry["event"], "auth_failure");
    assert_eq!(entry["requester"]["oin"], pki.stranger_oin);
}

async fn valid_token_is_accepted_and_cached(env: &Env) {
    let politie = env.client("politie");
    let token = politie.token(PROFESSIONAL, "casusoverleg");
    for _ in 0..3 {
        let r = read_uden(env, &politie, &token).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
}

async fn forged_and_mismatched_tokens_are_unauthenticated(env: &Env) {
    let politie = env.client("politie");
    let om = env.client("om");
    let claims = politie.claims(PROFESSIONAL, "casusoverleg");
    let claims_json = serde_json::to_value(&claims).expect("claims");
    let public_key = std::fs::read(pki().layout.partner_jwt_pub("politie")).expect("public key");
    let now = chrono::Utc::now().timestamp();

    let mut cases: Vec<(&str, String, &str)> = vec![
        ("no token", String::new(), "token-missing"),
        ("garbage", "not-a-jwt".into(), "token-malformed"),
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "typ": "JWT", "kid": politie.kid})),
                b64(&claims_json)
            ),
            "token-algorithm",
        ),
        (
            "HS256",
            hs256(
                &json!({"alg": "HS256", "kid": politie.kid}),
                &claims_json,
                b"secret",
            ),
            "token-algorithm",
        ),
        (
            "HS256 keyed with the partner's public key",
            hs256(
                &json!({"alg": "HS256", "typ": "JWT", "kid": politie.kid}),
                &claims_json,
                &public_key,
            ),
            "token-algorithm",
        ),
        (
            "signed by another partner's key",
            vhgate::auth::sign_token(&claims, &om.jwt_key, Some(&politie.kid)).expect("sign"),
            "token-signature",
        ),
        (
            "unknown kid",
            vhgate::auth::sign_token(&claims, &politie.jwt_key, Some("nobody-1")).expect("sign"),
            "token-unknown-key",
        ),
        (
            "another partner's kid",
            vhgate::auth::sign_token(&claims, &om.jwt_key, Some(&om.kid)).expect("sign"),
            "token-unknown-key",
        ),
    ];
    let mut push =
        |what: &'static str, edit: &dyn Fn(&mut vhgate::auth::Claims), slug: &'static str| {
            let mut c = politie.claims(PROFESSIONAL, "casusoverleg");
            edit(&mut c);
            cases.push((what, politie.sign(&c), slug));
        };
    push(
        "iss is another OIN than the certificate's",
        &|c| c.iss = om.oin.clone(),
        "token-issuer",
    );
    push(
        "expired",
        &|c| (c.iat, c.exp) = (now - 600, now - 120),
        "token-expired",
    );
    push(
        "not yet valid",
        &|c| c.nbf = Some(now + 600),
        "token-not-yet-valid",
    );
    push(
        "lifetime too long",
        &|c| c.exp = now + 86_400,
        "token-lifetime",
    );
    // Found by fuzzing: `exp - iat` overflowed (a panic in debug builds, a wrapped negative
    // lifetime that passed in release).
    push(
        "iat at the bottom of i64, exp in a year",
        &|c| (c.iat, c.exp) = (i64::MIN, now + 365 * 86_400),
        "token-lifetime",
    );
    push(
        "wrong audience",
        &|c| c.aud = vhgate::auth::Audience::One("someone-else".into()),
        "token-audience",
    );
    push(
        "cnf of another certificate",
        &|c| c.cnf.x5t_s256 = om.thumbprint.clone(),
        "token-certificate-binding",
    );
    push(
        "unknown purpose",
        &|c| c.purpose = "nieuwsgierigheid".into(),
        "token-unknown-purpose",
    );
    push(
        "unknown role",
        &|c| c.role = "stagiair".into(),
        "token-unknown-role",
    );
    // Missing claims: sign JSON without them.
    for missing in ["cnf", "sub", "exp", "jti"] {
        let mut v =
            serde_json::to_value(politie.claims(PROFESSIONAL, "casusoverleg")).expect("claims");
        v.as_object_mut().expect("object").remove(missing);
        let token = vhgate::crypto::jwt::encode(
            &jsonwebtoken::Header {
                kid: Some(politie.kid.clone()),
                ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA)
            },
            &v,
            &jsonwebtoken::EncodingKey::from_ed_pem(politie.jwt_key.as_bytes()).expect("key"),
        )
        .expect("sign");
        cases.push(("missing claim", token, "token-claim-missing"));
    }

    for (what, token, slug) in cases {
        let before = env.log_count().await;
        let mut req = politie.http.get(env.url(&format!(
            "/v1/cases/{}/persons/{}",
            env.ids.uden_case, env.ids.uden_man
        )));
        if !token.is_empty() {
            req = req.bearer_auth(&token);
        }
        let r = req.send().await.expect("request");
        let status = r.status();
        let www = r.headers().get("www-authenticate").is_some();
        let body: serde_json::Value = r.json().await.expect("problem json");
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
        assert!(www, "{what}: WWW-Authenticate header");
        assert_eq!(
            body["type"],
            format!("urn:vhgate:problem:{slug}"),
            "{what}: {body}"
        );
        assert!(
            !body.to_string().contains("Henk"),
            "{what}: no data on a 401"
        );
        assert_eq!(env.log_count().await, before + 1, "{what}: one log entry");
        let entry = env.last_entry().await;
        assert_eq!(entry["event"], "auth_failure", "{what}");
        assert_eq!(
            entry["requester"]["oin"], politie.oin,
            "{what}: the certificate identifies the organisation"
        );
    }
}

async fn cached_token_on_another_certificate_is_refused(env: &Env) {
    let politie = env.client("politie");
    let om = env.client("om");
    let token = politie.token(PROFESSIONAL, "casusoverleg");
    assert_eq!(
        read_uden(env, &politie, &token).await.status,
        StatusCode::OK
    );
    // The same (now cached) token, stolen and replayed with OM's certificate: its key is not
    // one of OM's keys, so the cache entry (keyed by token and certificate) never applies.
    let r = read_uden(env, &om, &token).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert_eq!(r.problem(), "token-unknown-key");
}
