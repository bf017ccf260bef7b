//! OPA bundle signatures at the admin API: with `policy.signing.required`, only bundles signed
//! by a configured key, with an exact and unchanged file list, are proposed; the signature is
//! checked again before activation, with the keys configured then.

mod common;

use common::{Backend, Env};
use reqwest::StatusCode;
use serde_json::Value;
use vhgate::config::{BundleSigningConfig, Config};
use vhgate::policy::bundle::{write_tar_gz, Bundle};
use vhgate::policy::signing::{generate_keypair, key_config, BundleSigner, SIGNATURES_FILE};

const KEY_ID: &str = "zvh-beheer-2026";

/// The gateway's signing configuration: one ES256 key, signatures required.
struct Keys {
    private: String,
    public: String,
}

impl Keys {
    fn new() -> Keys {
        let (private, public) = generate_keypair("ES256").expect("keypair");
        Keys { private, public }
    }

    fn config(&self, c: &mut Config) {
        c.policy.signing = BundleSigningConfig {
            required: true,
            scope: None,
            keys: vec![key_config(KEY_ID, "ES256", &self.public)],
        };
    }

    fn signer(&self) -> BundleSigner {
        BundleSigner::new(&self.private, "ES256", KEY_ID, None).expect("signer")
    }
}

/// The files of a candidate bundle (unsigned).
fn candidate_files(version: &str) -> Vec<(String, Vec<u8>)> {
    Bundle::from_tar_gz(&common::candidate_bundle(version))
        .expect("candidate")
        .files
}

/// `files` with a `.signatures.json` made by `signer` over `signed` (the files as signed).
fn with_signature(
    files: &[(String, Vec<u8>)],
    signed: &[(String, Vec<u8>)],
    signer: &BundleSigner,
) -> Vec<u8> {
    let mut all = files.to_vec();
    all.push((
        SIGNATURES_FILE.into(),
        signer.sign(signed).expect("sign").into_bytes(),
    ));
    write_tar_gz(&all).expect("tar")
}

fn signed(version: &str, signer: &BundleSigner) -> Vec<u8> {
    let files = candidate_files(version);
    with_signature(&files, &files, signer)
}

async fn post(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    path: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let r = http
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .expect("request");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Proposes `bundle` as the administrator `token` (which must succeed): its revision.
async fn proposed_revision(
    env: &Env,
    vh: &common::Partner,
    token: &str,
    bundle: Vec<u8>,
) -> String {
    let (status, proposed) = post(
        &vh.http,
        &env.url(""),
        token,
        "/v1/admin/policy-bundles",
        bundle,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{proposed}");
    proposed["revision"].as_str().expect("revision").to_string()
}

fn administrators(vh: &common::Partner) -> (String, String) {
    let admin = |sub: &str| {
        vh.sign(&vhgate::auth::Claims {
            sub: sub.into(),
            ..vh.claims("convenant_administrator", "beheer")
        })
    };
    (admin("beheerder-alice"), admin("beheerder-bob"))
}

async fn signed_bundles_only(backend: Backend) {
    let keys = Keys::new();
    let Some(env) = Env::start_with(backend, |c| keys.config(c)).await else {
        return;
    };
    let vh = env.client("veiligheidshuis");
    let (alice, bob) = administrators(&vh);
    let base = env.url("");
    let propose = |body: Vec<u8>| {
        let (http, base, alice) = (vh.http.clone(), base.clone(), alice.clone());
        async move { post(&http, &base, &alice, "/v1/admin/policy-bundles", body).await }
    };
    let refused = |(status, body): (StatusCode, Value), needle: &str| {
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(
            body["type"], "urn:vhgate:problem:invalid-bundle-signature",
            "{body}"
        );
        let detail = body["detail"].as_str().unwrap_or("");
        assert!(detail.contains(needle), "{needle:?} not in {detail:?}");
    };
    let signer = keys.signer();

    // Unsigned: refused, signatures are required.
    refused(
        propose(common::candidate_bundle("2026-5")).await,
        "not signed",
    );

    // A file changed after signing: refused, naming the file.
    let files = candidate_files("2026-5");
    let rego = files
        .iter()
        .position(|(n, _)| n.ends_with(".rego"))
        .expect("a rego file");
    let mut tampered = files.clone();
    tampered[rego]
        .1
        .extend_from_slice(b"\n# changed after signing\n");
    refused(
        propose(with_signature(&tampered, &files, &signer)).await,
        &format!("{}: digest mismatch", files[rego].0),
    );

    // An extra file the signature does not list.
    let mut extra = files.clone();
    extra.push(("extra.rego".into(), b"package vhgate.extra\n".to_vec()));
    refused(
        propose(with_signature(&extra, &files, &signer)).await,
        "extra.rego: file not included in the bundle signature",
    );

    // A listed file that is not in the bundle.
    let mut missing = files.clone();
    let gone = missing.remove(rego);
    refused(
        propose(with_signature(&missing, &files, &signer)).await,
        &format!(
            "{}: listed in the bundle signature but not in the bundle",
            gone.0
        ),
    );

    // An unknown key id, and the right id with the wrong algorithm.
    let (other_private, _) = generate_keypair("ES256").expect("keypair");
    let stranger =
        BundleSigner::new(&other_private, "ES256", "someone-else", None).expect("signer");
    refused(propose(signed("2026-5", &stranger)).await, "someone-else");
    let (ed_private, _) = generate_keypair("EdDSA").expect("keypair");
    let wrong_alg = BundleSigner::new(&ed_private, "EdDSA", KEY_ID, None).expect("signer");
    refused(
        propose(signed("2026-5", &wrong_alg)).await,
        "configured for ES256",
    );

    // Properly signed: proposed, and approved by another administrator.
    let (status, proposed) = propose(signed("2026-5", &signer)).await;
    assert_eq!(status, StatusCode::CREATED, "{proposed}");
    let rev = proposed["revision"].as_str().expect("revision").to_string();
    let (status, body) = post(
        &vh.http,
        &base,
        &bob,
        &format!("/v1/admin/policy-bundles/{rev}/approve"),
        vec![],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(env.gateway().policy().revision(), rev);
    env.stop().await;
}

/// The signature is checked again at approval, with the keys configured on the approving
/// instance: a key withdrawn between proposal and approval stops the activation.
async fn verified_again_before_activation(backend: Backend) {
    let keys = Keys::new();
    let Some(env) = Env::start_with(backend, |c| keys.config(c)).await else {
        return;
    };
    let vh = env.client("veiligheidshuis");
    let (alice, bob) = administrators(&vh);
    let rev = proposed_revision(&env, &vh, &alice, signed("2026-6", &keys.signer())).await;

    // Another instance on the same database where the key id now names a different key.
    let rotated = Keys::new();
    let mut config = env.config.clone();
    rotated.config(&mut config);
    let other = env.start_instance_with(config).await;
    let pki = common::pki();
    let cert = std::fs::read_to_string(pki.layout.partner_cert("veiligheidshuis")).expect("cert");
    let key = std::fs::read_to_string(pki.layout.partner_key("veiligheidshuis")).expect("key");
    let http = common::mtls_client(other.addr, &cert, &key);
    let (status, body) = post(
        &http,
        &format!("https://localhost:{}", other.addr.port()),
        &bob,
        &format!("/v1/admin/policy-bundles/{rev}/approve"),
        vec![],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["type"], "urn:vhgate:problem:invalid-bundle-signature");
    assert_ne!(other.gateway.policy().revision(), rev);
    other.stop().await;

    // Still a proposal: the instance with the original key can approve it.
    let (status, body) = post(
        &vh.http,
        &env.url(""),
        &bob,
        &format!("/v1/admin/policy-bundles/{rev}/approve"),
        vec![],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(env.gateway().policy().revision(), rev);
    env.stop().await;
}

/// Without `required`, an unsigned bundle is still accepted (keys configured or not).
async fn unsigned_accepted_when_not_required(backend: Backend) {
    let keys = Keys::new();
    let Some(env) = Env::start_with(backend, |c| {
        keys.config(c);
        c.policy.signing.required = false;
    })
    .await
    else {
        return;
    };
    let vh = env.client("veiligheidshuis");
    let (alice, _) = administrators(&vh);
    let (status, body) = post(
        &vh.http,
        &env.url(""),
        &alice,
        "/v1/admin/policy-bundles",
        common::candidate_bundle("2026-7"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // A bad signature is refused even then.
    let files = candidate_files("2026-8");
    let mut tampered = files.clone();
    tampered[0].1 =
        br#"{"revision":"forged","roots":["vhgate","convenant"],"rego_version":1}"#.to_vec();
    let (status, body) = post(
        &vh.http,
        &env.url(""),
        &alice,
        "/v1/admin/policy-bundles",
        with_signature(&tampered, &files, &keys.signer()),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or("")
            .contains(".manifest: digest mismatch"),
        "{body}"
    );
    env.stop().await;
}

/// With signatures required, the starting policy (recorded unsigned from `policy.dir` at the
/// first start) is trusted as that directory is: a rollback to it and a restart on it work. An
/// instance whose `policy.dir` holds other rules refuses to start while it is active: nothing
/// vouches for it there (fail closed).
async fn unsigned_starting_policy_is_trusted_as_the_directory(backend: Backend) {
    let keys = Keys::new();
    let Some(env) = Env::start_with(backend, |c| keys.config(c)).await else {
        return;
    };
    let start = env.gateway().policy().revision().to_string();
    let vh = env.client("veiligheidshuis");
    let (alice, bob) = administrators(&vh);
    let rev = proposed_revision(&env, &vh, &alice, signed("2026-10", &keys.signer())).await;
    let (status, body) = post(
        &vh.http,
        &env.url(""),
        &bob,
        &format!("/v1/admin/policy-bundles/{rev}/approve"),
        vec![],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = post(
        &vh.http,
        &env.url(""),
        &alice,
        &format!("/v1/admin/policy-bundles/{start}/activate"),
        vec![],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(env.gateway().policy().revision(), start);
    let restarted = env.start_instance().await;
    assert_eq!(restarted.gateway.policy().revision(), start);
    restarted.stop().await;

    let other = common::candidate_dir("2026-andere-map");
    let mut config = env.config.clone();
    config.policy.dir = other.path().to_path_buf();
    let refused = vhgate::app::App::build(config)
        .await
        .err()
        .map(|e| e.to_string());
    assert!(
        refused.as_deref().is_some_and(|e| e.contains("not signed")),
        "{refused:?}"
    );
    env.stop().await;
}

macro_rules! both {
    ($($name:ident),*) => {
        mod sqlite { $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Backend::Sqlite).await }
        )* }
        mod postgres { $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Backend::Postgres).await }
        )* }
    };
}

both!(
    signed_bundles_only,
    verified_again_before_activation,
    unsigned_accepted_when_not_required,
    unsigned_starting_policy_is_trusted_as_the_directory
);
