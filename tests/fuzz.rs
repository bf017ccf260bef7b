//! Fuzzing on stable Rust (issue 12): every target in `vhgate::fuzz::TARGETS` replays its
//! checked-in corpus `fuzz/corpus/<target>/`, then mutates it for `VHGATE_FUZZ_SECONDS`
//! (default 2) with a seed that is printed (`VHGATE_FUZZ_SEED` to set it). A crashing input
//! is written to `fuzz/artifacts/<target>/` and the test fails naming it. `VHGATE_FUZZ_KEEP=1`
//! adds the inputs that reached a new outcome to the corpus. `.ci/fuzz` runs it with `--nocapture`.
//!
//! `cargo test --test fuzz -- --ignored write_seed_corpus` regenerates the seed files (valid and
//! interesting inputs per target, signed with the fixed keys of `vhgate::fuzz::keys`).

use std::path::PathBuf;
use std::time::Duration;

use vhgate::fuzz::{engine, Target, TARGETS};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn corpus_dir(target: &str) -> PathBuf {
    root().join("corpus").join(target)
}

/// The corpus files of a target, sorted by name so a run is reproducible.
fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = corpus_dir(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, bytes)
        })
        .collect()
}

fn short_hash(bytes: &[u8]) -> String {
    hex::encode(&vhgate::crypto::sha256(bytes)[..8])
}

fn budget() -> Duration {
    let secs: f64 = std::env::var("VHGATE_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    Duration::from_secs_f64(secs.max(0.0))
}

/// `VHGATE_FUZZ_SEED`, or a fixed seed per target.
fn seed(target: &str) -> u64 {
    match std::env::var("VHGATE_FUZZ_SEED") {
        Ok(s) => {
            let s = s.trim();
            s.strip_prefix("0x")
                .map(|h| u64::from_str_radix(h, 16))
                .unwrap_or_else(|| s.parse())
                .unwrap_or_else(|e| panic!("VHGATE_FUZZ_SEED {s:?}: {e}"))
        }
        Err(_) => u64::from_be_bytes(
            vhgate::crypto::sha256(target.as_bytes())[..8]
                .try_into()
                .expect("8 bytes"),
        ),
    }
}

fn save_artifact(target: &str, input: &[u8]) -> PathBuf {
    let dir = root().join("artifacts").join(target);
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    let path = dir.join(format!("crash-{}", short_hash(input)));
    std::fs::write(&path, input).expect("write artifact");
    path
}

fn run(name: &str) {
    let target: &Target = vhgate::fuzz::target(name).expect("target");
    let files = corpus(name);
    assert!(!files.is_empty(), "fuzz/corpus/{name}/ is empty");
    // Replay first, file by file, so a failing corpus file is named.
    for (path, bytes) in &files {
        if let Err(crash) = engine::execute(target, bytes) {
            panic!(
                "fuzz {name}: corpus file {} fails: {}",
                path.display(),
                crash.message
            );
        }
    }
    let inputs: Vec<Vec<u8>> = files.into_iter().map(|(_, b)| b).collect();
    let seed = seed(name);
    let report = engine::fuzz(target, &inputs, budget(), seed);
    let secs = report.elapsed.as_secs_f64();
    let keep = std::env::var("VHGATE_FUZZ_KEEP").is_ok_and(|v| v == "1");
    if keep {
        for input in &report.new_inputs {
            let path = corpus_dir(name).join(format!("found-{}", short_hash(input)));
            std::fs::write(&path, input).expect("write corpus file");
        }
    }
    println!(
        "fuzz {name:<17} seed {seed:#018x}: {} corpus files, {} executions in {secs:.2} s \
         ({:.0}/s), {} outcomes, {} new inputs{}, slowest {:.1} ms ({} bytes)",
        inputs.len(),
        report.executions,
        report.executions as f64 / secs.max(1e-9),
        report.outcomes,
        report.new_inputs.len(),
        if keep { " (added to the corpus)" } else { "" },
        report.slowest.0.as_secs_f64() * 1000.0,
        report.slowest.1,
    );
    if std::env::var("VHGATE_FUZZ_LABELS").is_ok_and(|v| v == "1") {
        for label in &report.sample {
            println!("  {name}: {label}");
        }
    }
    if let Some(crash) = report.crash {
        let path = save_artifact(name, &crash.input);
        panic!(
            "fuzz {name}: input {} ({} bytes) fails: {}\nreplay: cp {} fuzz/corpus/{name}/ \
             && cargo test --test fuzz {name} (seed {seed:#x})",
            path.display(),
            crash.input.len(),
            crash.message,
            path.display()
        );
    }
}

macro_rules! fuzz_tests {
    ($($name:ident),+ $(,)?) => {
        $(
            #[test]
            fn $name() {
                run(stringify!($name));
                if stringify!($name) == "witness" {
                    let _ = std::fs::remove_dir_all(vhgate::fuzz::witness_dir());
                }
            }
        )+

        #[test]
        fn every_target_has_a_test_and_a_corpus() {
            let tested = [$(stringify!($name)),+];
            for t in TARGETS {
                assert!(tested.contains(&t.name), "target {} has no test", t.name);
                assert!(corpus(t.name).len() >= 10, "fuzz/corpus/{} holds under 10 seeds", t.name);
            }
            for entry in std::fs::read_dir(root().join("corpus")).expect("fuzz/corpus") {
                let name = entry.expect("entry").file_name().to_string_lossy().into_owned();
                assert!(vhgate::fuzz::target(&name).is_some(), "fuzz/corpus/{name} names no target");
            }
        }
    };
}

fuzz_tests!(
    token,
    claims,
    api_body,
    api_query,
    proof_query,
    api_path,
    domain,
    bundle,
    bundle_signatures,
    canonical_json,
    checkpoint,
    vkey,
    witness,
    config,
);

// --- The seed corpus ---------------------------------------------------------------------------

mod seeds {
    use std::path::Path;

    use vhgate::disclosure::checkpoint::{add_signatures, Checkpoint};
    use vhgate::disclosure::merkle::{consistency_proof, root_from_leaves, NodeId};
    use vhgate::fuzz::keys;
    use vhgate::policy::bundle::write_tar_gz;
    use vhgate::policy::signing::BundleSigner;

    pub struct Writer {
        dir: std::path::PathBuf,
        count: usize,
    }

    impl Writer {
        pub fn new(target: &str) -> Writer {
            let dir = super::corpus_dir(target);
            // Seeds are regenerated; found-* files (kept finds) and regressions stay.
            if let Ok(entries) = std::fs::read_dir(&dir) {
                for e in entries.flatten() {
                    if e.file_name().to_string_lossy().starts_with("seed-") {
                        std::fs::remove_file(e.path()).expect("remove old seed");
                    }
                }
            }
            std::fs::create_dir_all(&dir).expect("corpus dir");
            Writer { dir, count: 0 }
        }

        pub fn add(&mut self, label: &str, bytes: impl AsRef<[u8]>) {
            self.count += 1;
            let path = self.dir.join(format!("seed-{:03}-{label}", self.count));
            std::fs::write(path, bytes.as_ref()).expect("write seed");
        }
    }

    fn b64url(s: &str) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }

    fn b64(bytes: &[u8]) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    pub fn token() {
        let mut w = Writer::new("token");
        let (private, _) = vhgate::pki::generate_jwt_keypair().expect("key");
        let claims = vhgate::auth::Claims::fresh(
            vhgate::fuzz::PARTNER_OIN,
            "medewerker-1",
            "vhgate",
            300,
            "professional",
            "casusoverleg",
            "thumb",
        );
        // Signed by a key the partner never registered, with each of its key ids and none.
        for kid in [Some("k-ed"), Some("k-es"), Some("other"), None] {
            let t = vhgate::auth::sign_token(&claims, &private, kid).expect("sign");
            w.add(&format!("foreign-key-{}", kid.unwrap_or("none")), &t);
        }
        let body = b64url(r#"{"iss":"x","sub":"y","aud":"vhgate","exp":4000000000,"iat":1}"#);
        for (label, header) in [
            ("alg-none", r#"{"alg":"none","typ":"JWT"}"#),
            ("hs256", r#"{"alg":"HS256","kid":"k-ed"}"#),
            ("es256", r#"{"alg":"ES256","kid":"k-es"}"#),
            ("eddsa", r#"{"alg":"EdDSA","kid":"k-ed"}"#),
            ("eddsa-no-kid", r#"{"alg":"EdDSA"}"#),
            ("rs256", r#"{"alg":"RS256"}"#),
            ("kid-number", r#"{"alg":"EdDSA","kid":7}"#),
            ("alg-array", r#"{"alg":["EdDSA"]}"#),
            ("crit", r#"{"alg":"EdDSA","kid":"k-ed","crit":["exp"]}"#),
        ] {
            w.add(label, format!("{}.{body}.c2lnbmF0dXJl", b64url(header)));
        }
        w.add(
            "two-parts",
            format!("{}.{body}", b64url(r#"{"alg":"EdDSA"}"#)),
        );
        w.add(
            "four-parts",
            format!("{}.{body}.a.b", b64url(r#"{"alg":"EdDSA"}"#)),
        );
        w.add("empty", "");
        w.add("dots", "..");
        w.add("header-not-base64", format!("!!!.{body}.sig"));
        w.add(
            "header-not-json",
            format!("{}.{body}.sig", b64url("alg=EdDSA")),
        );
        w.add(
            "padded-base64",
            format!("{}=.{body}.sig", b64url(r#"{"alg":"EdDSA"}"#)),
        );
        w.add(
            "empty-signature",
            format!("{}.{body}.", b64url(r#"{"alg":"EdDSA","kid":"k-ed"}"#)),
        );
        w.add("bearer-prefix", "Bearer abc.def.ghi");
    }

    pub fn claims() {
        let mut w = Writer::new("claims");
        let oin = vhgate::fuzz::PARTNER_OIN;
        let thumb = vhgate::fuzz::THUMBPRINT;
        let full = |extra: &str| {
            format!(
                r#"{{"iss":"{oin}","sub":"medewerker-1","aud":"vhgate","exp":@exp,"iat":@now,"jti":"j-1","role":"professional","purpose":"casusoverleg","cnf":{{"x5t#S256":"{thumb}"}}{extra}}}"#
            )
        };
        w.add("valid", full(""));
        w.add("valid-nbf", full(r#","nbf":@now"#));
        w.add(
            "spoed-reason",
            full(r#","reason":"acute dreiging in de woning""#).replace("casusoverleg", "spoed"),
        );
        w.add("reason-blank", full(r#","reason":"   ""#));
        w.add("reason-control", full(r#","reason":"bel\u0007""#));
        w.add(
            "reason-long",
            full(&format!(r#","reason":"{}""#, "x".repeat(501))),
        );
        w.add(
            "valid-es256",
            format!("{}\n{}", r#"{"alg":"ES256","kid":"k-es"}"#, full("")),
        );
        w.add(
            "header-without-kid",
            format!("{}\n{}", r#"{"alg":"EdDSA"}"#, full("")),
        );
        w.add(
            "header-unknown-kid",
            format!("{}\n{}", r#"{"alg":"EdDSA","kid":"nope"}"#, full("")),
        );
        w.add(
            "header-none",
            format!("{}\n{}", r#"{"alg":"none"}"#, full("")),
        );
        w.add(
            "aud-list",
            full("").replace(r#""aud":"vhgate""#, r#""aud":["x","vhgate"]"#),
        );
        w.add(
            "aud-wrong",
            full("").replace(r#""aud":"vhgate""#, r#""aud":"other""#),
        );
        w.add("iss-wrong", full("").replace(oin, "00000099000000000099"));
        w.add("cnf-wrong", full("").replace(thumb, "AAAA"));
        w.add("role-unknown", full("").replace("professional", "admin"));
        w.add(
            "purpose-unknown",
            full("").replace("casusoverleg", "nieuwsgierig"),
        );
        w.add(
            "expired",
            full("")
                .replace("@exp", "1600000300")
                .replace("@now", "1600000000"),
        );
        w.add(
            "iat-future",
            full("").replace(r#""iat":@now"#, r#""iat":4000000000"#),
        );
        w.add("nbf-future", full(r#","nbf":4000000000"#));
        w.add(
            "lifetime-long",
            full("").replace(r#""iat":@now"#, r#""iat":1600000000"#),
        );
        w.add("exp-string", full("").replace("@exp", r#""@exp""#));
        w.add("exp-float", full("").replace("@exp", "@exp.5"));
        w.add("sub-blank", full("").replace("medewerker-1", " "));
        w.add(
            "jti-blank",
            full("").replace(r#""jti":"j-1""#, r#""jti":"""#),
        );
        for claim in [
            "iss", "sub", "aud", "exp", "iat", "jti", "role", "purpose", "cnf",
        ] {
            let v: serde_json::Value =
                serde_json::from_str(&full("").replace("@exp", "1").replace("@now", "1"))
                    .expect("json");
            let mut m = v.as_object().cloned().expect("object");
            m.remove(claim);
            let text = serde_json::Value::Object(m)
                .to_string()
                .replace(r#""exp":1"#, r#""exp":@exp"#)
                .replace(r#""iat":1"#, r#""iat":@now"#);
            w.add(&format!("missing-{claim}"), text);
        }
        w.add("not-json", "exp=@exp");
        w.add("array", "[]");
        w.add("extra-claim", full(r#","admin":true"#));
    }

    pub fn api_body() {
        let mut w = Writer::new("api_body");
        let oin = "00000099000000000042";
        let person = "0190a0b0-0000-7000-8000-000000000001";
        for (label, endpoint, body) in [
            ("register", "register", r#"{"kind":"persoon","region":"zvh-oost-brabant","reason":"zorgen over veiligheid","persons":[{"bsn":"111222333"}],"problems":[{"leefgebied":"wonen","leads_to":["overlast"]}],"chains":{"involved":["zorg"],"needed":["strafrecht","zorg"]}}"#.to_string()),
            ("register-full", "register", r#"{"kind":"systeem","region":"r-1","title":" Titel ","reason":"r","adviesvraag":true,"persons":[{"bsn":"111222333","relation":"hoofdpersoon"},{"naam":"A. Jansen","geboortedatum":"2001-02-03","relation":"partner"}],"system":{"family":true,"social_environment":false},"area":{"serious_safety_problem":true},"chains":{"dwang_en_drang":true}}"#.to_string()),
            ("register-bad-bsn", "register", r#"{"kind":"persoon","region":"r","reason":"r","persons":[{"bsn":"123456789"}]}"#.to_string()),
            ("register-dup-bsn", "register", r#"{"kind":"persoon","region":"r","reason":"r","persons":[{"bsn":"111222333"},{"bsn":"111222333"}]}"#.to_string()),
            ("register-no-identity", "register", r#"{"kind":"gebied","region":"r","reason":"r","persons":[{"naam":"X"}]}"#.to_string()),
            ("register-bad-date", "register", r#"{"kind":"persoon","region":"r","reason":"r","persons":[{"naam":"X","geboortedatum":"2001-02-30"}]}"#.to_string()),
            ("register-unknown-field", "register", r#"{"kind":"persoon","region":"r","reason":"r","persons":[],"bsn":"111222333"}"#.to_string()),
            ("screening", "screening_decision", r#"{"decision":"veiligheidshuis_case","reason":"  meerdere ketens  "}"#.to_string()),
            ("screening-bad", "screening_decision", r#"{"decision":"ja","reason":""}"#.to_string()),
            ("invite", "invite", format!(r#"{{"oins":["{oin}","{oin}","00000099000000000043"]}}"#)),
            ("invite-empty", "invite", r#"{"oins":[]}"#.to_string()),
            ("casusregisseur", "casusregisseur", format!(r#"{{"oin":"{oin}"}}"#)),
            ("close", "close", r#"{"outcome":"afgerond","reason":"doelen bereikt"}"#.to_string()),
            ("retention", "retention", r#"{"keep_until":"2028-06-01T00:00:00Z","reason":"lopende procedure"}"#.to_string()),
            ("retention-past", "retention", r#"{"keep_until":"2020-01-01T00:00:00+01:00","reason":"x"}"#.to_string()),
            ("contribute", "contribute", format!(r#"{{"person_id":"{person}","leefgebied":"schulden","category":"overig","content":"schuldhulp loopt","ground":"convenant_art_5"}}"#)),
            ("contribute-bad-ground", "contribute", format!(r#"{{"person_id":"{person}","leefgebied":"schulden","category":"bijzonder","content":"x","ground":"Art 9"}}"#)),
            ("correct", "correct", r#"{"content":"nieuw","reason":"typefout"}"#.to_string()),
            ("withdraw", "withdraw", r#"{"reason":"onjuist ingebracht"}"#.to_string()),
            ("afspraak", "afspraak_create", format!(r#"{{"partner_oin":"{oin}","action":"huisbezoek","due_date":"2027-03-01","status":"lopend"}}"#)),
            ("afspraak-past", "afspraak_create", format!(r#"{{"partner_oin":"{oin}","action":"x","due_date":"2026-01-01"}}"#)),
            ("afspraak-update", "afspraak_update", r#"{"status":"afgerond","due_date":"2027-05-05","note":"gesprek gevoerd"}"#.to_string()),
            ("afspraak-update-empty", "afspraak_update", "{}".to_string()),
            ("escalate", "escalate", r#"{"level":3,"reason":"situatie verslechtert snel"}"#.to_string()),
            ("escalate-big", "escalate", r#"{"level":4294967297,"reason":"situatie verslechtert snel"}"#.to_string()),
            ("lookup", "lookup", r#"{"bsn":"123456782"}"#.to_string()),
            ("lookup-number", "lookup", r#"{"bsn":123456782}"#.to_string()),
            ("search", "disclosures_search", r#"{"bsn":"111222333","partner":"00000099000000000042","since":"2026-01-01T00:00:00Z","limit":"10","outcome":"denied"}"#.to_string()),
            ("search-encoded", "disclosures_search", r#"{"sub":"a&limit=0","purpose":"x=y"}"#.to_string()),
            ("access-report", "access_report", r#"{"bsn":"111222333"}"#.to_string()),
            ("embargo", "embargo", r#"{"bsn":"111222333","until":"2027-06-01T12:00:00+02:00","reason":"lopend onderzoek"}"#.to_string()),
            ("spoed-review", "spoed_review", r#"{"verdict":"justified"}"#.to_string()),
            ("spoed-review-bad", "spoed_review", r#"{"verdict":"maybe"}"#.to_string()),
            ("reject", "reject", r#"{"reason":"niet conform convenant"}"#.to_string()),
            ("registry-upsert", "registry_change", format!(r#"{{"changes":[{{"kind":"upsert_partner","oin":"{oin}","name":"Gemeente X","partner_type":"gemeente"}}],"note":"addendum 3"}}"#)),
            ("registry-key", "registry_change", format!(r#"{{"changes":[{{"kind":"upsert_partner","oin":"{oin}","name":"X","partner_type":"gemeente"}},{{"kind":"add_key","oin":"{oin}","kid":"x-1","alg":"EdDSA","public_key_pem":"-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n-----END PUBLIC KEY-----\n","not_after":"2030-01-01T00:00:00Z"}},{{"kind":"set_certificate_constraints","oin":"{oin}","allowed_thumbprints":["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]}},{{"kind":"revoke_key","kid":"x-1"}}]}}"#)),
            ("registry-es256-garbage", "registry_change", format!(r#"{{"changes":[{{"kind":"add_key","oin":"{oin}","kid":"k","alg":"ES256","public_key_pem":"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"}}]}}"#)),
            ("registry-unknown-kind", "registry_change", r#"{"changes":[{"kind":"drop_table"}]}"#.to_string()),
        ] {
            w.add(label, format!("{endpoint}\n{body}"));
        }
        w.add("not-json", "lookup\nbsn=111222333");
        w.add("empty", "register\n");
    }

    pub fn api_query() {
        let mut w = Writer::new("api_query");
        for (label, q) in [
            ("leefgebieden", "read_person\nleefgebieden=wonen,justitie&leefgebieden=wonen"),
            ("leefgebieden-bad", "read_person\nleefgebieden=gezondheid"),
            ("leefgebieden-encoded", "read_person\nleefgebieden=%77onen%2C+schulden"),
            ("person-unknown", "read_person\nbsn=111222333"),
            ("disclosures", "disclosures\ncase_id=0190a0b0-0000-7000-8000-000000000001&partner=00000099000000000042&since=2026-01-01T00:00:00Z&until=2026-02-01T00:00:00%2B01:00&before=100&outcome=partial&limit=1000&sub=a&purpose=b"),
            ("disclosures-limit", "disclosures\nlimit=0"),
            ("disclosures-before", "disclosures\nbefore=-9223372036854775808"),
            ("signals", "signals\nregion=zvh-oost-brabant&period=quarter&from=2026-01&until=2026-12-31"),
            ("signals-bad", "signals\nperiod=week&region=%25"),
            ("impact", "impact\nlast=100&baseline=active&since=2026-01-01T00:00:00Z"),
            ("impact-bad", "impact\nlast=10001"),
            ("spoed", "spoed\nstate=overdue"),
            ("spoed-all", "spoed\nstate=all&state=open"),
            ("spoed-bad", "spoed\nstate="),
            ("empty", "disclosures\n"),
        ] {
            w.add(label, q);
        }
    }

    pub fn proof_query() {
        let mut w = Writer::new("proof_query");
        for (label, q) in [
            ("inclusion", "inclusion\nindex=3&size=7"),
            ("consistency", "consistency\nfrom=1&to=8"),
            ("entries", "entries\nstart=0&end=100"),
            ("missing", "inclusion\nindex=3"),
            ("unknown", "consistency\nfrom=1&to=2&x=3"),
            ("negative", "entries\nstart=-1&end=1"),
            (
                "huge",
                "inclusion\nindex=9223372036854775808&size=18446744073709551616",
            ),
            (
                "max",
                "inclusion\nindex=9223372036854775807&size=9223372036854775807",
            ),
            ("plus", "consistency\nfrom=%2B1&to=+2"),
            ("repeated", "entries\nstart=1&start=2&end=3"),
            ("encoded-key", "inclusion\n%69ndex=1&size=2"),
            ("empty", "inclusion\n"),
        ] {
            w.add(label, q);
        }
    }

    pub fn api_path() {
        let mut w = Writer::new("api_path");
        for (label, v) in [
            ("case-id", "case_id\n0190a0b0-0000-7000-8000-000000000001"),
            (
                "case-id-braced",
                "case_id\n{0190a0b0-0000-7000-8000-000000000001}",
            ),
            (
                "case-id-urn",
                "case_id\nurn:uuid:0190a0b0-0000-7000-8000-000000000001",
            ),
            (
                "case-id-simple",
                "case_id\n0190a0b000007000800000000000000a",
            ),
            (
                "person-id",
                "person_id\n0190A0B0-0000-7000-8000-00000000000F",
            ),
            ("item-id", "item_id\nnot-a-uuid"),
            (
                "afspraak-id",
                "afspraak_id\n00000000-0000-0000-0000-000000000000",
            ),
            (
                "disclosure-id",
                "disclosure_id\n0190a0b0-0000-7000-8000-000000000001",
            ),
            ("oin", "oin\n00000099000000000042"),
            ("oin-short", "oin\n0000009900000000004"),
            ("oin-unicode-digits", "oin\n\u{0660}0000099000000000042"),
            (
                "traceparent",
                "traceparent\n00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
            (
                "traceparent-upper",
                "traceparent\n00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            ),
            (
                "traceparent-extra",
                "traceparent\n00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xx",
            ),
            ("idempotency-key", "idempotency_key\n  key-1  "),
            ("idempotency-key-blank", "idempotency_key\n   "),
            ("idempotency-key-latin1", "idempotency_key\nsl\u{e9}utel"),
        ] {
            w.add(label, v);
        }
    }

    pub fn domain() {
        let mut w = Writer::new("domain");
        for (label, v) in [
            ("bsn", "bsn\n111222333"),
            ("bsn-2", "bsn\n123456782"),
            ("bsn-bad", "bsn\n123456789"),
            ("bsn-zero", "bsn\n000000000"),
            ("bsn-8", "bsn\n12345678"),
            ("bsn-arabic", "bsn\n\u{661}11222333"),
            ("oin", "oin\n00000099000000000042"),
            ("purpose", "purpose\ncasusoverleg"),
            ("purpose-upper", "purpose\nCasusoverleg"),
            ("role", "role\nprivacy_officer"),
            ("role-long", &format!("role\n{}", "a".repeat(65))),
            ("leefgebied", "leefgebied\nwerk_inkomen"),
            ("category", "category\nstrafrechtelijk"),
            ("phase", "phase\nmdo"),
            ("case-kind", "case_kind\ngebied"),
            ("case-kind-long", &format!("case_kind\n{}", "é".repeat(300))),
        ] {
            w.add(label, v);
        }
    }

    fn signed_bundle_files(extra: &[(&str, &[u8])]) -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<(String, Vec<u8>)> = vec![
            (
                ".manifest".into(),
                br#"{"revision":"fuzz-1","roots":["vhgate"],"rego_version":1}"#.to_vec(),
            ),
            (
                "data.json".into(),
                br#"{"convenant":{"region":"fuzz","roles":["professional"]}}"#.to_vec(),
            ),
            (
                "vhgate/policy.rego".into(),
                b"package vhgate\n\nallow := false\n".to_vec(),
            ),
        ];
        files.extend(extra.iter().map(|(n, b)| (n.to_string(), b.to_vec())));
        files
    }

    fn signer() -> BundleSigner {
        let (private, _) = keys::bundle_key_pems();
        BundleSigner::new(&private, "EdDSA", keys::BUNDLE_KEY_ID, None).expect("signer")
    }

    /// An uncompressed tar of `files` (what the target gzips itself).
    fn tar(files: &[(String, Vec<u8>)]) -> Vec<u8> {
        let gz = write_tar_gz(files).expect("tar");
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(gz.as_slice()), &mut out)
            .expect("gunzip");
        out
    }

    /// A tar entry written raw, so any name and type is possible.
    fn raw_tar(entries: &[(&str, u8, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, kind, body) in entries {
            let mut h = tar::Header::new_old();
            h.set_size(body.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::new(*kind));
            h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            h.set_cksum();
            b.append(&h, *body).expect("append");
        }
        b.into_inner().expect("tar")
    }

    pub fn bundle() {
        let mut w = Writer::new("bundle");
        let plain = signed_bundle_files(&[]);
        w.add("minimal.tar", tar(&plain));
        w.add("minimal.tar.gz", write_tar_gz(&plain).expect("gz"));
        let mut signed = plain.clone();
        signed.push((
            ".signatures.json".into(),
            signer().sign(&plain).expect("sign").into_bytes(),
        ));
        w.add("signed.tar", tar(&signed));
        w.add("signed.tar.gz", write_tar_gz(&signed).expect("gz"));
        let mut tampered = signed.clone();
        tampered[2].1 = b"package vhgate\n\nallow := true\n".to_vec();
        w.add("signed-tampered.tar", tar(&tampered));
        let long = format!("vhgate/{}/policy.rego", "d".repeat(120));
        w.add(
            "long-name.tar",
            tar(&signed_bundle_files(&[(long.as_str(), b"package x\n")])),
        );
        w.add(
            "tests-and-data.tar",
            tar(&signed_bundle_files(&[
                (
                    "vhgate/policy_test.rego",
                    b"package vhgate_test\n\ntest_x if true\n",
                ),
                ("vhgate/sub/data.json", b"{\"a\": [1, 2.5e3, \"\\u00e9\"]}"),
            ])),
        );
        let m: &[u8] = br#"{"revision":"r","rego_version":1}"#;
        let rego: &[u8] = b"package vhgate\n\nallow := false\n";
        for (label, entries) in [
            ("opa-paths", vec![("/.manifest", b'0', m), ("/vhgate/p.rego", b'0', rego)]),
            ("dot-dot", vec![(".manifest", b'0', m), ("../p.rego", b'0', rego)]),
            ("dot-slash", vec![("./.manifest", b'0', m), ("./a/./p.rego", b'0', rego)]),
            ("symlink", vec![(".manifest", b'0', m), ("p.rego", b'2', b"")]),
            ("hardlink", vec![(".manifest", b'0', m), ("p.rego", b'1', b"")]),
            ("directory", vec![("vhgate/", b'5', b""), (".manifest", b'0', m), ("vhgate/p.rego", b'0', rego)]),
            ("fifo", vec![(".manifest", b'0', m), ("p.rego", b'6', b"")]),
            ("duplicate", vec![(".manifest", b'0', m), ("p.rego", b'0', rego), ("/p.rego", b'0', rego)]),
            ("no-manifest", vec![("p.rego", b'0', rego)]),
            ("no-rego", vec![(".manifest", b'0', m)]),
            ("rego-v0", vec![(".manifest", b'0', br#"{"revision":"r","rego_version":0}"#), ("p.rego", b'0', rego)]),
            ("blank-revision", vec![(".manifest", b'0', br#"{"revision":" "}"#), ("p.rego", b'0', rego)]),
            ("manifest-wasm", vec![(".manifest", b'0', br#"{"revision":"r","wasm":[{"entrypoint":"a/b","module":"/policy.wasm"}]}"#), ("p.rego", b'0', rego)]),
            ("policy-wasm", vec![(".manifest", b'0', m), ("policy.wasm", b'0', b"\0asm\x01\0\0\0")]),
            ("not-utf8", vec![(".manifest", b'0', m), ("p.rego", b'0', b"package \xff\n")]),
            ("nested-signatures", vec![(".manifest", b'0', m), ("p.rego", b'0', rego), ("x/.signatures.json", b'0', b"{}")]),
            ("signatures-twice", vec![(".manifest", b'0', m), ("p.rego", b'0', rego), (".signatures.json", b'0', b"{}"), ("/.signatures.json", b'0', b"{}")]),
            ("data-not-json", vec![(".manifest", b'0', m), ("p.rego", b'0', rego), ("data.json", b'0', b"{")]),
            ("other-file", vec![(".manifest", b'0', m), ("p.rego", b'0', rego), ("README.md", b'0', b"hi")]),
            ("gnu-longname", vec![(".manifest", b'0', m), ("././@LongLink", b'L', b"x/p.rego\0"), ("p", b'0', rego)]),
            ("pax-path", vec![(".manifest", b'0', m), ("pax", b'x', b"20 path=../p.rego\n"), ("p.rego", b'0', rego)]),
        ] {
            w.add(&format!("{label}.tar"), raw_tar(&entries));
        }
        w.add("empty", "");
        w.add(
            "gzip-garbage",
            b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage",
        );
        w.add("zeros.tar", vec![0u8; 1024]);
    }

    pub fn bundle_signatures() {
        let mut w = Writer::new("bundle_signatures");
        let files = vhgate::fuzz::signed_files();
        let sigs = signer().sign(&files).expect("sign");
        w.add("valid", &sigs);
        let (other_private, _) = vhgate::policy::signing::generate_keypair("EdDSA").expect("key");
        let other =
            BundleSigner::new(&other_private, "EdDSA", keys::BUNDLE_KEY_ID, None).expect("signer");
        w.add("wrong-key", other.sign(&files).expect("sign"));
        let unknown = BundleSigner::new(&other_private, "EdDSA", "someone", None).expect("signer");
        w.add("unknown-kid", unknown.sign(&files).expect("sign"));
        let scoped = BundleSigner::new(
            &keys::bundle_key_pems().0,
            "EdDSA",
            keys::BUNDLE_KEY_ID,
            Some("s".into()),
        )
        .expect("signer");
        w.add("scoped", scoped.sign(&files).expect("sign"));
        w.add("fewer-files", signer().sign(&files[..2]).expect("sign"));
        let mut more = files.clone();
        more.push(("extra.rego".into(), b"package extra\n".to_vec()));
        w.add("more-files", signer().sign(&more).expect("sign"));
        let v: serde_json::Value = serde_json::from_str(&sigs).expect("json");
        let jws = v["signatures"][0].as_str().expect("jws").to_string();
        w.add("two", format!(r#"{{"signatures":["{jws}","{jws}"]}}"#));
        w.add("none", r#"{"signatures":[]}"#);
        w.add(
            "plugin",
            format!(r#"{{"signatures":["{jws}"],"plugin":"x"}}"#),
        );
        let parts: Vec<&str> = jws.split('.').collect();
        let payload = format!(
            r#"{{"files":[{{"name":".manifest","hash":"00","algorithm":"SHA-1"}}],"keyid":"{}"}}"#,
            keys::BUNDLE_KEY_ID
        );
        w.add(
            "forged-payload",
            format!(
                r#"{{"signatures":["{}.{}.{}"]}}"#,
                parts[0],
                b64url(&payload),
                parts[2]
            ),
        );
        for (label, header) in [
            ("alg-none", r#"{"alg":"none","kid":"fuzz-bundle"}"#),
            ("hs256", r#"{"alg":"HS256","kid":"fuzz-bundle"}"#),
            ("es256", r#"{"alg":"ES256","kid":"fuzz-bundle"}"#),
            ("no-kid", r#"{"alg":"EdDSA"}"#),
        ] {
            w.add(
                label,
                format!(
                    r#"{{"signatures":["{}.{}.{}"]}}"#,
                    b64url(header),
                    parts[1],
                    parts[2]
                ),
            );
        }
        w.add("not-json", "signatures");
        w.add("not-jws", r#"{"signatures":["a.b"]}"#);
    }

    pub fn canonical_json() {
        let mut w = Writer::new("canonical_json");
        for (label, v) in [
            (
                "object",
                r#"{"b": 1, "a": [true, false, null], "c": {"z": "y", "x": -0.5e-3}}"#.to_string(),
            ),
            (
                "escapes",
                r#"["\"\\\/\b\f\n\r\t", "\u00e9\u2028\u2029\u001f", "<>&"]"#.to_string(),
            ),
            (
                "surrogates",
                r#"["\ud83d\ude00", "\ud800", "\udc00", "\ud800\u0041", "\ud800\ud800"]"#
                    .to_string(),
            ),
            (
                "numbers",
                "[0, -0, 1.0, 1e5, 1E+5, 1e-5, 123456789012345678901234567890, 1e400]".to_string(),
            ),
            (
                "duplicate-keys",
                r#"{"a": 1, "a": 2, "b": {"c": 1, "c": [1]}}"#.to_string(),
            ),
            (
                "whitespace",
                " \t\r\n{ \"a\" : [ ] , \"b\" : { } }\n ".to_string(),
            ),
            (
                "deep-128",
                format!("{}{}", "[".repeat(128), "]".repeat(128)),
            ),
            (
                "deep-129",
                format!("{}{}", "[".repeat(129), "]".repeat(129)),
            ),
            ("string", r#""just a string""#.to_string()),
            ("unicode", "{\"sleutel\": \"ëéè 😀 \u{7f}\"}".to_string()),
            ("bad-escape", r#"["\x41"]"#.to_string()),
            ("bad-unicode", r#"["\u12G4", "\u+123"]"#.to_string()),
            ("control", "[\"a\u{1}b\"]".to_string()),
            ("trailing", "{} {}".to_string()),
            ("leading-zero", "[01]".to_string()),
            ("bad-fraction", "[1.]".to_string()),
            (
                "manifest",
                r#"{"revision":"abc","roots":["vhgate","convenant"],"rego_version":1}"#.to_string(),
            ),
        ] {
            w.add(label, v);
        }
    }

    fn leaves() -> Vec<[u8; 32]> {
        vhgate::fuzz::fuzz_leaves()
    }

    fn proof(from: u64, to: u64) -> Vec<[u8; 32]> {
        let leaves = leaves();
        consistency_proof(from, to, |n: NodeId| {
            let start = (n.index << n.level) as usize;
            let end = ((n.index + 1) << n.level) as usize;
            leaves.get(start..end).map(root_from_leaves)
        })
        .expect("proof")
    }

    pub fn checkpoint() {
        let mut w = Writer::new("checkpoint");
        let log = keys::log_signer();
        let witness = keys::witness_signer();
        for size in [0u64, 1, 3, 7, 16] {
            w.add(&format!("size-{size}"), vhgate::fuzz::fuzz_checkpoint(size));
        }
        let cp = Checkpoint {
            origin: keys::LOG_NAME.into(),
            size: 7,
            root: root_from_leaves(&leaves()[..7]),
            extensions: vec!["ext-1".into(), "ext 2".into()],
        };
        let note = log.sign_checkpoint(&cp).expect("sign");
        w.add("extensions", &note);
        let cosig = witness.cosign(&cp, 1_800_000_000).expect("cosign");
        let cosigned = add_signatures(&note, &[cosig]).expect("add");
        w.add("cosigned", &cosigned);
        let foreign = vhgate::disclosure::checkpoint::NoteSigner::from_pkcs8(
            "other.example",
            &keys::ed25519_pkcs8(9),
        )
        .expect("signer");
        let extra = foreign.sign_note(&cp.body()).expect("sign");
        let line = extra.rsplit("\n\n").next().unwrap_or_default().to_string();
        w.add(
            "unknown-signer",
            add_signatures(&note, std::slice::from_ref(&line)).expect("add"),
        );
        w.add("only-unknown", extra);
        let body = cp.body();
        w.add("body-only", &body);
        w.add("no-signatures", format!("{body}\n"));
        w.add(
            "bad-signature",
            note.replace(&note[note.len() - 10..note.len() - 2], "AAAAAAAA"),
        );
        w.add("crlf", note.replace('\n', "\r\n"));
        w.add("no-final-newline", note.trim_end());
        w.add("leading-zero", note.replacen("\n7\n", "\n07\n", 1));
        w.add(
            "size-overflow",
            note.replacen("\n7\n", "\n18446744073709551616\n", 1),
        );
        let many: Vec<String> = (0..101).map(|_| line.clone()).collect();
        w.add("101-signatures", format!("{body}\n{}", many.join("")));
        w.add(
            "same-name-other-id",
            format!("{body}\n\u{2014} {} AAAAAAAA\n", keys::LOG_NAME),
        );
        w.add("empty", "");
        w.add("blank-lines", "\n\n\n");
    }

    pub fn vkey() {
        let mut w = Writer::new("vkey");
        let log = keys::log_signer();
        let witness = keys::witness_signer();
        w.add("log", log.verifier_key());
        w.add("witness", witness.cosignature_verifier_key());
        w.add("witness-note", witness.verifier_key());
        let v = log.verifier_key();
        w.add(
            "upper-hex",
            v.replacen(
                &v[v.find('+').unwrap_or(0)..][1..9],
                &v[v.find('+').unwrap_or(0)..][1..9].to_uppercase(),
                1,
            ),
        );
        w.add(
            "type-2",
            format!(
                "name+00000000+{}",
                b64(&[[2u8].as_slice(), &[7u8; 32]].concat())
            ),
        );
        w.add(
            "type-6",
            format!(
                "name+00000000+{}",
                b64(&[[6u8].as_slice(), &[7u8; 1312]].concat())
            ),
        );
        w.add("short-key", format!("name+00000000+{}", b64(&[1u8; 20])));
        w.add("unpadded", v.trim_end_matches('='));
        w.add("no-plus", "name");
        w.add("plus-in-name", format!("a+b+{v}"));
        w.add(
            "space-in-name",
            v.replacen("fuzz.example", "fuzz example", 1),
        );
        w.add("empty", "");
    }

    pub fn witness() {
        let mut w = Writer::new("witness");
        let state = vhgate::fuzz::WITNESS_STATE_SIZE;
        for to in [3u64, 4, 5, 7, 8, 16] {
            let mut body = format!("old {state}\n");
            if to > state {
                for h in proof(state, to) {
                    body.push_str(&b64(&h));
                    body.push('\n');
                }
            }
            body.push('\n');
            body.push_str(&vhgate::fuzz::fuzz_checkpoint(to));
            w.add(&format!("from-{state}-to-{to}"), body);
        }
        for size in [0u64, 1, 5] {
            w.add(
                &format!("fresh-{size}"),
                format!("old 0\n\n{}", vhgate::fuzz::fuzz_checkpoint(size)),
            );
        }
        let cp7 = vhgate::fuzz::fuzz_checkpoint(7);
        w.add("conflict", format!("old 2\n\n{cp7}"));
        w.add(
            "rollback",
            format!("old {state}\n\n{}", vhgate::fuzz::fuzz_checkpoint(2)),
        );
        let fork = keys::log_signer()
            .sign_checkpoint(&Checkpoint {
                origin: keys::LOG_NAME.into(),
                size: state,
                root: [7; 32],
                extensions: vec![],
            })
            .expect("sign");
        w.add("fork", format!("old {state}\n\n{fork}"));
        let bad_proof: String = proof(state, 7)
            .iter()
            .rev()
            .map(|h| format!("{}\n", b64(h)))
            .collect();
        w.add("bad-proof", format!("old {state}\n{bad_proof}\n{cp7}"));
        w.add("no-proof", format!("old {state}\n\n{cp7}"));
        let many: String = (0..64).map(|_| format!("{}\n", b64(&[0; 32]))).collect();
        w.add("64-proof-lines", format!("old {state}\n{many}\n{cp7}"));
        w.add("old-plus", format!("old +{state}\n\n{cp7}"));
        w.add("old-leading-zero", format!("old 0{state}\n\n{cp7}"));
        w.add("old-missing", format!("\n{cp7}"));
        w.add(
            "wrong-origin",
            format!(
                "old {state}\n\n{}",
                cp7.replacen(keys::LOG_NAME, "evil.example/log", 1)
            ),
        );
        w.add(
            "unsigned",
            format!(
                "old {state}\n\n{}\n",
                cp7.split("\n\n").next().unwrap_or_default()
            ),
        );
        w.add(
            "crlf",
            format!("old {state}\r\n\r\n{}", cp7.replace('\n', "\r\n")),
        );
        w.add("empty", "");
    }

    pub fn config() {
        let mut w = Writer::new("config");
        let readme =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
                .expect("README");
        let defaults = readme
            .split("```toml\n")
            .nth(1)
            .and_then(|s| s.split("```").next())
            .expect("README config block");
        w.add("readme-defaults.toml", defaults);
        w.add("empty.toml", "");
        let vkey = keys::witness_signer().cosignature_verifier_key();
        let (_, public) = keys::bundle_key_pems();
        for (label, text) in [
            ("postgres", "[database]\nurl = \"postgres://u@h/db\"\nmax_connections = 2\n".to_string()),
            ("witness", format!("[log]\norigin = \"zvh.example/log\"\nwitness_interval_secs = 5\nwitnesses = [{{ url = \"http://w:7380\", vkey = \"{vkey}\" }}]\n")),
            ("witness-bad-vkey", "[log]\nwitnesses = [{ url = \"http://w\", vkey = \"x\" }]\n".to_string()),
            ("signing", format!("[policy.signing]\nrequired = true\nscope = \"s\"\nkeys = [{{ id = \"k\", algorithm = \"EdDSA\", public_key_pem = \"\"\"\n{public}\"\"\" }}]\n")),
            ("signing-both", "[policy.signing]\nkeys = [{ id = \"k\", algorithm = \"ES256\", public_key_pem = \"x\", public_key_file = \"y\" }]\n".to_string()),
            ("signing-hs256", "[policy.signing]\nkeys = [{ id = \"k\", algorithm = \"HS256\", public_key_file = \"y\" }]\n".to_string()),
            ("previous-keys", "[secrets]\npseudonym_key_version = 2\nprevious_pseudonym_keys = [{ version = 1, file = \"old.key\" }, { version = 1, file = \"older.key\" }]\n".to_string()),
            ("unknown-key", "[server]\nlisten = \"0.0.0.0:443\"\ntimeout = 5\n".to_string()),
            ("bad-listen", "[server]\nlisten = \"localhost\"\n".to_string()),
            ("ipv6", "[server]\nlisten = \"[::1]:8443\"\nmax_handshakes_per_ip = 1\n".to_string()),
            ("zero-connections", "[server]\nmax_connections = 0\n".to_string()),
            ("negative", "[database]\nmax_connections = -1\n".to_string()),
            ("huge", "[log]\nbatch_wait_us = 18446744073709551616\n".to_string()),
            ("lifetime", "[auth]\nmax_token_lifetime_secs = 3600\naudience = \" \"\n".to_string()),
            ("origin-plus", "[log]\norigin = \"a+b\"\n".to_string()),
            ("min-cell", "[signals]\nmin_cell = 3\n".to_string()),
            ("spoed", "[spoed]\nreview_within_hours = 721\n".to_string()),
            ("dotted", "server.listen = \"127.0.0.1:1\"\ntls.client_ca = []\n".to_string()),
            ("inline", "database = { url = \"sqlite::memory:\" }\n".to_string()),
            ("not-toml", "[server\n".to_string()),
            ("type-error", "[server]\nlisten = 8443\n".to_string()),
        ] {
            w.add(&format!("{label}.toml"), text);
        }
    }
}

/// Regenerates the seed files (`seed-*`) of every target; other files in the corpus stay.
#[test]
#[ignore]
fn write_seed_corpus() {
    seeds::token();
    seeds::claims();
    seeds::api_body();
    seeds::api_query();
    seeds::proof_query();
    seeds::api_path();
    seeds::domain();
    seeds::bundle();
    seeds::bundle_signatures();
    seeds::canonical_json();
    seeds::checkpoint();
    seeds::vkey();
    seeds::witness();
    seeds::config();
}
