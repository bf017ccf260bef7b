//! The optional OPA-compiled WASM engine (feature `opa-wasm`).
//!
//! * Differential: third-party policies shipped as Rego source together with the WASM that OPA
//!   compiled from it (../shared/fixtures/opa-wasm) are evaluated through regorus (Rego v0
//!   mode) and through opa-wasm; every entrypoint must give the same JSON on every input.
//! * The engine behind the `PolicyEngine` trait, answering from several threads at once, with
//!   tests/data/opa-wasm/vhgate_stub.wasm (a hand-written module with vhgate's entrypoints: no
//!   OPA compiler is available where vhgate is built).
//! * Bundles carrying a policy.wasm: read, revision, validation through the WASM engine.
//! * End to end: a WASM bundle proposed and approved through the admin API decides requests.
#![cfg(feature = "opa-wasm")]

mod common;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use vhgate::policy::bundle::{validate_bundle, Bundle};
use vhgate::policy::{PolicyEngine, PolicyInput, WasmEngine};

fn fixtures() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/opa-wasm");
    assert!(
        dir.is_dir(),
        "{} is missing (shared/ must sit beside the checkout)",
        dir.display()
    );
    dir
}

/// Evaluates `entrypoint` (slash form) of the fixture's Rego source with regorus in v0 mode:
/// the value, or null when undefined (as `WasmEngine::evaluate` reports it).
fn regorus_eval(dir: &Path, data: &Value, entrypoint: &str, input: &Value) -> Value {
    let mut engine = regorus::Engine::new();
    engine.set_rego_v0(true);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("fixture dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "rego"))
        .filter(|p| !p.to_string_lossy().ends_with("_test.rego"))
        .collect();
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("rego");
        engine
            .add_policy(path.display().to_string(), text)
            .expect("regorus parses the fixture");
    }
    engine
        .add_data(regorus::Value::from(data.clone()))
        .expect("data");
    engine.set_input(regorus::Value::from(input.clone()));
    let out = engine
        .eval_rule(format!("data.{}", entrypoint.replace('/', ".")))
        .expect("regorus evaluates");
    if out == regorus::Value::Undefined {
        Value::Null
    } else {
        serde_json::to_value(&out).expect("json")
    }
}

/// Runs every (entrypoint, input, expected) case through both engines; both must give
/// `expected` (so the cases also pin the policy's meaning, not only agreement).
fn differential(fixture: &str, abi: &str, data: Value, cases: &[(&str, Value, Value)]) {
    let dir = fixtures().join(fixture);
    let wasm = std::fs::read(dir.join("policy.wasm")).expect("policy.wasm");
    let engine =
        WasmEngine::prepare_generic(&wasm, &[("data.json".into(), data.clone())], fixture.into())
            .expect("the fixture module compiles");
    assert_eq!(engine.abi_version(), abi, "{fixture}: ABI version");
    for (entrypoint, input, expected) in cases {
        let from_wasm = engine.evaluate(entrypoint, input).expect("wasm evaluates");
        let from_rego = regorus_eval(&dir, &data, entrypoint, input);
        assert_eq!(
            from_wasm, from_rego,
            "{fixture} {entrypoint} on {input}: opa-wasm and regorus differ"
        );
        assert_eq!(
            &from_wasm, expected,
            "{fixture} {entrypoint} on {input}: unexpected result"
        );
    }
}

#[test]
fn weihanchen_example_agrees_with_regorus() {
    // The data and cases of example_test.rego (which injects the data with `with`).
    let data = json!({
        "user_roles": {"userA": ["editor"]},
        "role_permissions": {"editor": [
            {"action": "edit", "object": "article"},
            {"action": "create", "object": "article"}
        ]}
    });
    let case = |user: &str, action: &str, object: &str, allow: bool| {
        (
            "example/allow",
            json!({"user": user, "action": action, "object": object}),
            json!(allow),
        )
    };
    differential(
        "weihanchen",
        "1.1",
        data.clone(),
        &[
            // test_allow_edit_article
            case("userA", "edit", "article", true),
            case("not exists", "edit", "article", false),
            case("userA", "edit", "management", false),
            // test_allow_create_article
            case("userA", "create", "article", true),
            case("not exists", "create", "article", false),
            case("userA", "create", "management", false),
            // Beyond the fixture's tests: an action no role grants, an empty input.
            case("userA", "delete", "article", false),
            ("example/allow", json!({}), json!(false)),
        ],
    );
    // Without data nobody has a role.
    differential(
        "weihanchen",
        "1.1",
        json!({}),
        &[case("userA", "edit", "article", false)],
    );

    // The fixture's own tests, run by regorus in v0 mode, confirm the data above is theirs.
    let dir = fixtures().join("weihanchen");
    let mut engine = regorus::Engine::new();
    engine.set_rego_v0(true);
    for file in ["example.rego", "example_test.rego"] {
        let text = std::fs::read_to_string(dir.join(file)).expect("rego");
        engine.add_policy(file.into(), text).expect("parse");
    }
    for test in ["test_allow_edit_article", "test_allow_create_article"] {
        let out = engine
            .eval_rule(format!("data.example.{test}"))
            .expect("eval");
        assert_eq!(out, regorus::Value::from(true), "{test}");
    }
}

#[test]
fn mas_policies_agree_with_regorus() {
    let metadata = |client: &str, tos: &str, policy: &str, redirects: Value| {
        json!({"client_metadata": {
            "client_uri": client, "tos_uri": tos, "policy_uri": policy, "redirect_uris": redirects
        }})
    };
    let https = "https://example.com/";
    let registration =
        |input: Value, allow: bool| ("client_registration/allow", input, json!(allow));
    differential(
        "mas",
        "1.2",
        json!({}),
        &[
            registration(metadata(https, https, https, json!([https])), true),
            // One secure redirect URI among insecure ones is enough (`some ... in`).
            registration(
                metadata(https, https, https, json!(["http://a/", https])),
                true,
            ),
            registration(metadata(https, https, https, json!(["http://a/"])), false),
            registration(metadata(https, https, https, json!([])), false),
            registration(
                metadata("http://example.com/", https, https, json!([https])),
                false,
            ),
            registration(
                metadata(https, "http://example.com/", https, json!([https])),
                false,
            ),
            registration(
                metadata(https, https, "ftp://example.com/", json!([https])),
                false,
            ),
            // Not a string: is_string fails.
            registration(
                json!({"client_metadata": {"client_uri": 42, "tos_uri": https,
                       "policy_uri": https, "redirect_uris": [https]}}),
                false,
            ),
            // Missing fields and an empty input: the default.
            registration(
                json!({"client_metadata": {"client_uri": https, "redirect_uris": [https]}}),
                false,
            ),
            registration(json!({}), false),
            // login and register allow everything.
            ("login/allow", json!({}), json!(true)),
            ("login/allow", json!({"username": "alice"}), json!(true)),
            ("register/allow", json!({}), json!(true)),
            (
                "register/allow",
                json!({"username": "bob", "email": "b@example.com"}),
                json!(true),
            ),
        ],
    );
}

#[test]
fn srenatus_policy_agrees_with_regorus() {
    differential(
        "srenatus",
        "1.2",
        json!({}),
        &[
            ("test/p", json!({"fragment": "moo"}), json!(true)),
            // Undefined (no default): null from both engines.
            ("test/p", json!({"fragment": "baa"}), Value::Null),
            ("test/p", json!({"fragment": "MOO"}), Value::Null),
            ("test/p", json!({"fragment": ["moo"]}), Value::Null),
            ("test/p", json!({}), Value::Null),
            ("test/p", json!("moo"), Value::Null),
        ],
    );
}

#[test]
fn unknown_entrypoints_are_errors_not_panics() {
    let wasm = std::fs::read(fixtures().join("srenatus/policy.wasm")).expect("wasm");
    let engine = WasmEngine::prepare_generic(&wasm, &[], "x".into()).expect("compiles");
    assert!(engine.evaluate("test/q", &json!({})).is_err());
    assert!(WasmEngine::prepare_generic(b"not wasm", &[], "x".into()).is_err());
    // A fixture without vhgate's entrypoints is not a vhgate policy.
    let err = WasmEngine::prepare(&wasm, &convenant_data(), "x".into())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("vhgate/decision/decision"), "{err}");
}

// --- The engine behind the PolicyEngine trait (hand-written stub module) ----------------

fn stub_wasm() -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/opa-wasm/vhgate_stub.wasm"),
    )
    .expect("stub module")
}

/// The shipped convenant, as a bundle's root data.json holds it.
fn convenant_data() -> Vec<(String, Value)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/data/convenant.json");
    let value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("convenant")).expect("json");
    vec![("data.json".into(), value)]
}

fn input(action: &str, fields: &[String]) -> PolicyInput {
    serde_json::from_value(json!({
        "action": action,
        "now": "2026-01-01T00:00:00Z",
        "requester": {"oin": "00000001000000000001", "partner_type": "politie", "role": "professional",
                      "purpose": "casusoverleg", "sub": "t"},
        "budget": {"used": 0},
        "fields": fields.iter().map(|f| json!({"name": f, "category": "identificerend",
                                               "leefgebied": null, "age_days": 1})).collect::<Vec<_>>(),
    }))
    .expect("input")
}

#[test]
fn wasm_engine_answers_concurrently_behind_the_trait() {
    let engine: std::sync::Arc<dyn PolicyEngine> = std::sync::Arc::new(
        WasmEngine::prepare(&stub_wasm(), &convenant_data(), "rev-stub".into()).expect("prepare"),
    );
    assert_eq!(engine.revision(), "rev-stub");
    assert!(engine.convenant().partner_types.contains("politie"));
    let threads: Vec<_> = (0..6)
        .map(|t| {
            let engine = engine.clone();
            std::thread::spawn(move || {
                for i in 0..40 {
                    // Field names unique to this thread and round: a decision that came from
                    // another request's instance would withhold the wrong names.
                    let fields: Vec<String> =
                        (0..(i % 4)).map(|k| format!("item:{t}-{i}-{k}")).collect();
                    let decision = engine
                        .decide(&input("read_person", &fields))
                        .expect("decide");
                    assert!(!decision.allow);
                    let withheld: Vec<String> =
                        decision.withheld.iter().map(|w| w.field.clone()).collect();
                    assert_eq!(withheld, fields, "thread {t} round {i}");
                    assert!(engine
                        .may_review_disclosures(&input("review_disclosures", &[]))
                        .expect("review"));
                    assert!(!engine
                        .may_review_disclosures(&input("lookup", &[]))
                        .expect("review"));
                    assert!(engine
                        .may_administer(&input("administer", &[]))
                        .expect("admin"));
                    assert!(!engine
                        .may_administer(&input("read_person", &[]))
                        .expect("admin"));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("no thread panicked");
    }
}

#[test]
fn runaway_policy_is_stopped_and_the_engine_recovers() {
    let engine =
        WasmEngine::prepare(&stub_wasm(), &convenant_data(), "rev".into()).expect("prepare");
    let err = engine
        .evaluate("vhgate/test/spin", &json!({}))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("fuel"), "{err}");
    // The failed instance was dropped; the next evaluation gets a fresh one.
    let decision = engine
        .decide(&input("read_person", &["persoon.naam".into()]))
        .expect("decide after a failure");
    assert_eq!(decision.withheld.len(), 1);
    assert!(engine.idle_instances() >= 1);
}

// --- Bundles carrying policy.wasm -----------------------------------------------------------

/// A bundle with the stub module, the shipped convenant as data.json, and optional Rego.
fn wasm_bundle(manifest_module: &str, rego: Option<&str>) -> Vec<u8> {
    wasm_bundle_with(stub_wasm(), manifest_module, rego)
}

/// A bundle with `wasm` as policy.wasm, the shipped convenant as data.json, optional Rego,
/// and a manifest naming its content hash.
fn wasm_bundle_with(wasm: Vec<u8>, manifest_module: &str, rego: Option<&str>) -> Vec<u8> {
    let mut files: Vec<(String, Vec<u8>)> = vec![
        (
            "data.json".into(),
            serde_json::to_vec(&convenant_data()[0].1).expect("json"),
        ),
        ("policy.wasm".into(), wasm),
    ];
    if let Some(text) = rego {
        files.push(("extra.rego".into(), text.as_bytes().to_vec()));
    }
    let tar = |manifest: &Value| {
        let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::default(),
        ));
        let manifest = serde_json::to_vec(manifest).expect("json");
        for (name, bytes) in
            std::iter::once((".manifest".to_string(), manifest)).chain(files.clone())
        {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            tar.append_data(&mut header, name, &bytes[..])
                .expect("append");
        }
        tar.into_inner().and_then(|gz| gz.finish()).expect("tar")
    };
    let manifest = |revision: &str| {
        json!({"revision": revision, "roots": ["vhgate", "convenant"],
               "wasm": [{"entrypoint": "vhgate/decision/decision", "module": manifest_module}]})
    };
    // The revision is the content hash, which the manifest does not enter: read once, then
    // write the manifest with it.
    let revision = Bundle::from_tar_gz(&tar(&manifest("draft")))
        .map(|b| b.revision())
        .unwrap_or_else(|_| "draft".into());
    tar(&manifest(&revision))
}

#[test]
fn wasm_bundles_are_read_hashed_and_validated_through_the_wasm_engine() {
    let bytes = wasm_bundle("/policy.wasm", None);
    let bundle = Bundle::from_tar_gz(&bytes).expect("read");
    let (path, wasm) = bundle.wasm.as_ref().expect("policy.wasm");
    assert_eq!(path, "policy.wasm");
    assert_eq!(wasm, &stub_wasm());
    assert_eq!(
        bundle.manifest.wasm[0].entrypoint,
        "vhgate/decision/decision"
    );
    // The revision covers the module: it differs from the data-only hash and is stable.
    assert_eq!(bundle.manifest.revision, bundle.revision());
    assert_ne!(bundle.revision(), bundle.sources.without_tests().revision());

    let validated = validate_bundle(&bundle).expect("the stub passes the safety probes");
    assert_eq!(validated.engine.revision(), bundle.revision());
    assert!(
        validated.notes.iter().any(|n| n.contains("no test_ rules")),
        "{:?}",
        validated.notes
    );
    let decision = validated
        .engine
        .decide(&input("lookup", &["persoon.naam".into()]))
        .expect("decide");
    assert!(!decision.allow);

    // With Rego source beside the module, its test_ rules run (and fail here).
    let failing = "package extra\n\ntest_fails if { false }\n";
    let bundle = Bundle::from_tar_gz(&wasm_bundle("/policy.wasm", Some(failing))).expect("read");
    let problems = validate_bundle(&bundle).err().unwrap_or_default();
    assert!(
        problems.iter().any(|p| p.location.contains("test_fails")),
        "{problems:?}"
    );
    let passing = "package extra\n\ntest_passes if { true }\n";
    let bundle = Bundle::from_tar_gz(&wasm_bundle("/policy.wasm", Some(passing))).expect("read");
    let notes = validate_bundle(&bundle)
        .map(|v| v.notes)
        .unwrap_or_default();
    assert!(notes.iter().any(|n| n.contains("Rego source")), "{notes:?}");

    // A manifest naming another module is refused.
    let err = Bundle::from_tar_gz(&wasm_bundle("/other.wasm", None))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("other.wasm"), "{err}");
}

#[test]
fn the_safety_probes_run_against_the_wasm_engine() {
    // The stub with its decision turned into an allow (same length, so the data segment
    // can be patched in place): it still withholds every field, but allowing an unknown
    // partner type and an empty request must be caught by the built-in probes.
    let needle = br#""allow":false"#;
    let mut wasm = stub_wasm();
    let at = wasm
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the stub's decision text");
    wasm[at..at + needle.len()].copy_from_slice(br#""allow":true "#);
    let bundle = Bundle::from_tar_gz(&wasm_bundle_with(wasm, "/policy.wasm", None)).expect("read");
    let problems = validate_bundle(&bundle).err().unwrap_or_default();
    let locations: Vec<&str> = problems.iter().map(|p| p.location.as_str()).collect();
    assert!(
        locations.contains(&"safety: unknown partner type")
            && locations.contains(&"safety: empty request"),
        "{problems:?}"
    );

    // A module without vhgate's entrypoints is refused, naming the module.
    let srenatus = std::fs::read(fixtures().join("srenatus/policy.wasm")).expect("wasm");
    let bundle =
        Bundle::from_tar_gz(&wasm_bundle_with(srenatus, "/policy.wasm", None)).expect("read");
    let problems = validate_bundle(&bundle).err().unwrap_or_default();
    assert!(
        problems
            .iter()
            .any(|p| p.location == "policy.wasm" && p.message.contains("entrypoint")),
        "{problems:?}"
    );
}

// --- End to end: propose, approve, decide ------------------------------------------------

on_both_backends!(a_wasm_bundle_is_proposed_approved_and_decides);

async fn a_wasm_bundle_is_proposed_approved_and_decides(env: &common::Env) {
    let vh = env.client("veiligheidshuis");
    let admin = |sub: &str| {
        vh.sign(&vhgate::auth::Claims {
            sub: sub.into(),
            ..vh.claims("convenant_administrator", "beheer")
        })
    };
    let (alice, bob) = (admin("beheerder-alice"), admin("beheerder-bob"));
    let post = |token: String, path: String, body: Vec<u8>| {
        let request = vh.http.post(env.url(&path)).bearer_auth(token).body(body);
        async move {
            let r = request.send().await.expect("request");
            (r.status(), r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, proposed) = post(
        alice,
        "/v1/admin/policy-bundles".into(),
        wasm_bundle("/policy.wasm", None),
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{proposed}");
    let rev = proposed["revision"].as_str().expect("revision").to_string();
    let (status, body) = post(
        bob,
        format!("/v1/admin/policy-bundles/{rev}/approve"),
        vec![],
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    assert_eq!(env.gateway().policy().revision(), rev);

    // The stub denies and withholds every field: the request is refused by the stub's decision.
    let politie = env.client("politie");
    let token = politie.token("professional", "casusoverleg");
    let r = politie
        .read_person(env, &token, env.ids.oss_case, env.ids.oss_youth)
        .await;
    assert_eq!(r.status, reqwest::StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body["decision"]["reasons"]
        .to_string()
        .contains("test policy: denied"));
}
