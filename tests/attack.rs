//! Attack corpus (issue 12): well over 200 distinct malicious or malformed inputs, each sent to
//! the real gateway over real mutual TLS as raw HTTP/1.1 bytes (so nothing is normalised on
//! the way: `..` segments, odd methods, broken headers and bodies arrive as written).
//!
//! For every input: the answer is a 4xx `application/problem+json` with `type`, `title` and
//! `status` (or, for bad certificates, a failed handshake; what hyper refuses before any
//! router runs is answered in problem+json too, without a log entry); nothing of the seeded persons leaves (no name, BSN,
//! birth date, address or item content in the answer, nor in the log entry); the gateway still
//! answers `/healthz` afterwards; and every request that got past the handshake and the HTTP
//! parser is in the disclosure log, exactly once, under the id the answer names.
//! `cargo test --test attack -- --nocapture` prints the tally per class.

mod common;

use rustls::pki_types::pem::PemObject;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use common::{b64, hs256, mtls_config, pki, raw, raw_exchange, Env, Partner, RawAnswer};
use serde_json::{json, Value};
use vhgate::pki::{Ca, ClientCertOptions, IssuedCert};

on_both_backends!(attack_corpus);

/// What must happen to one input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// A problem+json with this 4xx status and one new log entry, named by `Disclosure-Id`.
    Refused(u16),
    /// A problem+json with this status and no entry: the transparency log's own proof
    /// endpoints (hashes only), whose refusals would otherwise grow the tree being asked about.
    RefusedUnlogged(u16),
    /// The TLS handshake fails: no HTTP, no entry.
    Tls,
    /// Refused before any router runs, by hyper's own limits (its answer is turned into
    /// problem+json on the way out): no request exists yet, so no entry.
    Early(u16),
}

/// The client certificate a case connects with.
#[derive(Clone)]
enum Who {
    Partner(&'static str),
    Cert(&'static str, IssuedCert),
    NoCert,
}

impl Who {
    fn label(&self) -> &'static str {
        match self {
            Who::Partner(p) => p,
            Who::Cert(label, _) => label,
            Who::NoCert => "no certificate",
        }
    }
}

struct Case {
    class: &'static str,
    name: String,
    who: Who,
    request: Vec<u8>,
    expect: Expect,
    /// The request carried a malformed `traceparent`: the entry must not keep it.
    garbage_trace: bool,
}

/// The raw bytes of one HTTP/1.1 request; `Content-Length` is added for a body unless the
/// headers already frame it.
fn bearer(token: &str) -> Vec<u8> {
    format!("Bearer {token}").into_bytes()
}

/// GET with a bearer token.
fn get(target: &str, token: &str) -> Vec<u8> {
    raw("GET", target, &[("authorization", &bearer(token))], b"")
}

/// A JSON POST with a bearer token.
fn post(target: &str, token: &str, body: &[u8]) -> Vec<u8> {
    raw(
        "POST",
        target,
        &[
            ("authorization", &bearer(token)),
            ("content-type", b"application/json"),
        ],
        body,
    )
}

/// An Ed25519 signature over `header.payload` (both already encoded), whatever they say.
fn sign_parts(header: &str, payload: &str, key_pem: &str) -> String {
    let der = match rustls::pki_types::PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .expect("key pem")
    {
        rustls::pki_types::PrivateKeyDer::Pkcs8(k) => k.secret_pkcs8_der().to_vec(),
        _ => panic!("expected a PKCS#8 key"),
    };
    let pair = ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der).expect("ed25519");
    let input = format!("{header}.{payload}");
    let sig = pair.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
}

/// A token with exactly this header and these claims, signed with the partner's real key.
fn forge(p: &Partner, header: &Value, claims: &Value) -> String {
    sign_parts(&b64(header), &b64(claims), &p.jwt_key)
}

/// A token whose claims part is this exact JSON text (duplicate members survive).
fn forge_text(p: &Partner, claims_json: &str) -> String {
    let header = json!({"alg": "EdDSA", "typ": "JWT", "kid": p.kid});
    sign_parts(
        &b64(&header),
        &URL_SAFE_NO_PAD.encode(claims_json.as_bytes()),
        &p.jwt_key,
    )
}

fn ed_header(p: &Partner) -> Value {
    json!({"alg": "EdDSA", "typ": "JWT", "kid": p.kid})
}

/// Valid claims of `p`'s professional as JSON, to be broken.
fn claims(p: &Partner) -> Value {
    serde_json::to_value(p.claims("professional", "casusoverleg")).expect("claims")
}

fn with(mut v: Value, key: &str, value: Value) -> Value {
    v[key] = value;
    v
}

fn without(mut v: Value, key: &str) -> Value {
    v.as_object_mut().expect("object").remove(key);
    v
}

/// A certificate from the convenant CA with any subject serialNumber (or none).
fn convenant_cert(serial_number: Option<&str>, org: &str) -> IssuedCert {
    let layout = &pki().layout;
    let ca_pem = std::fs::read_to_string(layout.ca_cert()).expect("ca");
    let ca_key = std::fs::read_to_string(layout.ca_key()).expect("ca key");
    match serial_number {
        Some(oin) => Ca::from_pem(&ca_pem, &ca_key)
            .expect("ca")
            .issue_client(oin, org, &ClientCertOptions::default())
            .expect("issue"),
        None => {
            let issuer = rcgen::Issuer::from_ca_cert_pem(
                &ca_pem,
                rcgen::KeyPair::from_pem(&ca_key).expect("ca key"),
            )
            .expect("issuer");
            let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
            let mut params = rcgen::CertificateParams::default();
            let mut dn = rcgen::DistinguishedName::new();
            dn.push(rcgen::DnType::CommonName, org);
            dn.push(rcgen::DnType::OrganizationName, org);
            params.distinguished_name = dn;
            params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
            let cert = params.signed_by(&key, &issuer).expect("sign");
            IssuedCert {
                cert_pem: cert.pem(),
                key_pem: key.serialize_pem(),
                serial: 0,
            }
        }
    }
}

/// A self-signed client certificate claiming politie's OIN.
fn self_signed_politie() -> IssuedCert {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let mut params = rcgen::CertificateParams::default();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, "Politie (self-signed)");
    dn.push(
        rcgen::DnType::CustomDnType(vec![2, 5, 4, 5]),
        rcgen::DnValue::PrintableString(
            vhgate::pki::demo_partner("politie")
                .expect("politie")
                .oin
                .try_into()
                .expect("printable"),
        ),
    );
    params.distinguished_name = dn;
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.self_signed(&key).expect("self-signed");
    IssuedCert {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        serial: 0,
    }
}

// ---------------------------------------------------------------------------------------------
// The corpus.

/// Returns politie's valid token, which the om-certificate replay case reuses.
fn jwt_cases(env: &Env, out: &mut Vec<Case>) -> String {
    let politie = env.client("politie");
    let om = env.client("om");
    let target = format!(
        "/v1/cases/{}/persons/{}",
        env.ids.uden_case, env.ids.uden_man
    );
    let now = chrono::Utc::now().timestamp();
    let c = claims(&politie);
    let h = ed_header(&politie);
    let public_pem = std::fs::read(pki().layout.partner_jwt_pub("politie")).expect("public key");
    let valid = politie.token("professional", "casusoverleg");
    let (vh, vp, vs) = {
        let mut it = valid.split('.');
        (
            it.next().expect("h").to_string(),
            it.next().expect("p").to_string(),
            it.next().expect("s").to_string(),
        )
    };
    let mut tokens: Vec<(String, Option<Vec<u8>>, Expect)> = vec![];
    let mut t = |name: &str, auth: Option<Vec<u8>>| {
        tokens.push((name.to_string(), auth, Expect::Refused(401)));
    };
    let tok = |s: &str| Some(bearer(s));

    // The Authorization header itself.
    t("no Authorization header", None);
    t("empty bearer", Some(b"Bearer ".to_vec()));
    t("Basic scheme", Some(b"Basic cG9saXRpZTpzZWNyZXQ=".to_vec()));
    t("token without scheme", Some(valid.clone().into_bytes()));
    t(
        "Bearer twice",
        Some(format!("Bearer Bearer {valid}").into_bytes()),
    );
    t("not a JWT", tok("not-a-jwt"));
    // alg none and friends.
    for alg in ["none", "None", "NONE", "nOnE"] {
        t(
            &format!("alg {alg}, empty signature"),
            tok(&format!(
                "{}.{}.",
                b64(&json!({"alg": alg, "typ": "JWT", "kid": politie.kid})),
                b64(&c)
            )),
        );
    }
    t(
        "alg none with the real signature",
        tok(&format!(
            "{}.{vp}.{vs}",
            b64(&json!({"alg": "none", "kid": politie.kid}))
        )),
    );
    // HMAC confusion.
    t(
        "HS256 with a guessed secret",
        tok(&hs256(
            &json!({"alg": "HS256", "kid": politie.kid}),
            &c,
            b"secret",
        )),
    );
    t(
        "HS256 keyed with the partner's public key PEM",
        tok(&hs256(
            &json!({"alg": "HS256", "typ": "JWT", "kid": politie.kid}),
            &c,
            &public_pem,
        )),
    );
    t(
        "HS256 keyed with the empty key",
        tok(&hs256(
            &json!({"alg": "HS256", "kid": politie.kid}),
            &c,
            b"",
        )),
    );
    for alg in ["HS384", "HS512"] {
        t(
            &format!("{alg} header over an HS256 MAC keyed with the public key"),
            tok(&hs256(
                &json!({"alg": alg, "kid": politie.kid}),
                &c,
                &public_pem,
            )),
        );
    }
    // Algorithm confusion: other algorithms named over a genuine Ed25519 signature.
    for alg in [
        "RS256", "RS512", "ES384", "ES512", "PS256", "PS384", "ES256", "eddsa", "Ed25519", "",
    ] {
        t(
            &format!("alg {alg:?} over an Ed25519 signature"),
            tok(&forge(
                &politie,
                &json!({"alg": alg, "typ": "JWT", "kid": politie.kid}),
                &c,
            )),
        );
    }
    t(
        "alg missing",
        tok(&forge(
            &politie,
            &json!({"typ": "JWT", "kid": politie.kid}),
            &c,
        )),
    );
    t(
        "alg a number",
        tok(&forge(&politie, &json!({"alg": 1, "kid": politie.kid}), &c)),
    );
    t(
        "alg a list",
        tok(&forge(
            &politie,
            &json!({"alg": ["EdDSA"], "kid": politie.kid}),
            &c,
        )),
    );
    // kid injection.
    let kids: Vec<(&str, Value)> = vec![
        ("path traversal", json!("../../../../etc/passwd")),
        ("encoded traversal", json!("..%2f..%2fpolitie-1")),
        ("SQL quote", json!("politie-1' OR '1'='1")),
        (
            "SQL comment",
            json!("politie-1'; DROP TABLE partner_keys; --"),
        ),
        ("10 KiB long", json!("k".repeat(10 * 1024))),
        ("unicode look-alike", json!("pоlitie-1")),
        ("NUL byte", json!("politie-1\u{0}")),
        ("trailing space", json!("politie-1 ")),
        ("empty", json!("")),
        ("number", json!(1)),
        ("object", json!({"$ne": null})),
        ("another partner's kid", json!(om.kid)),
        ("unknown kid", json!("nobody-1")),
    ];
    for (what, kid) in kids {
        t(
            &format!("kid: {what}"),
            tok(&forge(
                &politie,
                &json!({"alg": "EdDSA", "typ": "JWT", "kid": kid}),
                &c,
            )),
        );
    }
    t(
        "om's kid and om's key over politie's certificate",
        tok(&vhgate::auth::sign_token(
            &politie.claims("professional", "casusoverleg"),
            &om.jwt_key,
            Some(&om.kid),
        )
        .expect("sign")),
    );
    t(
        "politie's kid, om's key",
        tok(&vhgate::auth::sign_token(
            &politie.claims("professional", "casusoverleg"),
            &om.jwt_key,
            Some(&politie.kid),
        )
        .expect("sign")),
    );
    t(
        "om's own valid token over politie's certificate",
        tok(&om.token("professional", "casusoverleg")),
    );
    // Structure and encoding.
    for (what, token) in [
        ("one segment", vh.clone()),
        ("two segments", format!("{vh}.{vp}")),
        ("four segments", format!("{valid}.{vs}")),
        ("empty segments", "..".to_string()),
        ("header not base64url", format!("!!!.{vp}.{vs}")),
        ("padded base64", format!("{vh}==.{vp}.{vs}")),
        (
            "standard base64 alphabet",
            format!("{}.{vp}.{vs}", STANDARD.encode(b"{\"alg\":\"EdDSA\"}+/")),
        ),
        (
            "header not JSON",
            format!("{}.{vp}.{vs}", URL_SAFE_NO_PAD.encode(b"hello")),
        ),
        (
            "header a JSON list",
            format!("{}.{vp}.{vs}", b64(&json!(["EdDSA"]))),
        ),
        ("signature truncated", format!("{vh}.{vp}.{}", &vs[..20])),
        (
            "signature of another message",
            format!(
                "{vh}.{}.{vs}",
                b64(&with(c.clone(), "role", json!("privacy_officer")))
            ),
        ),
        ("signature empty", format!("{vh}.{vp}.")),
        ("signature not base64url", format!("{vh}.{vp}.***")),
    ] {
        t(what, tok(&token));
    }
    t(
        "flipped last signature character",
        tok(&{
            let mut s = valid.clone();
            let last = s.pop().expect("char");
            s.push(if last == 'A' { 'B' } else { 'A' });
            s
        }),
    );
    t(
        "claims not JSON",
        tok(&sign_parts(
            &b64(&h),
            &URL_SAFE_NO_PAD.encode(b"not json"),
            &politie.jwt_key,
        )),
    );
    t(
        "claims a JSON list",
        tok(&forge(&politie, &h, &json!([c.clone()]))),
    );
    t("claims a string", tok(&forge(&politie, &h, &json!("x"))));
    // Time.
    let times: Vec<(&str, Value)> = vec![
        (
            "expired 1 s beyond the leeway",
            with(
                with(c.clone(), "iat", json!(now - 300)),
                "exp",
                json!(now - 31),
            ),
        ),
        (
            "expired a day ago",
            with(
                with(c.clone(), "iat", json!(now - 86_500)),
                "exp",
                json!(now - 86_400),
            ),
        ),
        (
            "iat in the future",
            with(
                with(c.clone(), "iat", json!(now + 120)),
                "exp",
                json!(now + 300),
            ),
        ),
        (
            "nbf in the future",
            with(c.clone(), "nbf", json!(now + 120)),
        ),
        (
            "lifetime 901 s",
            with(with(c.clone(), "iat", json!(now)), "exp", json!(now + 901)),
        ),
        (
            "exp before iat",
            with(
                with(c.clone(), "iat", json!(now + 20)),
                "exp",
                json!(now + 10),
            ),
        ),
        (
            "exp a string",
            with(c.clone(), "exp", json!((now + 300).to_string())),
        ),
        (
            "iat a string",
            with(c.clone(), "iat", json!(now.to_string())),
        ),
        (
            "nbf a string",
            with(c.clone(), "nbf", json!(now.to_string())),
        ),
        (
            "exp a float",
            with(c.clone(), "exp", json!(now as f64 + 300.5)),
        ),
        (
            "iat a float",
            with(c.clone(), "iat", json!(now as f64 + 0.5)),
        ),
        ("exp negative", with(c.clone(), "exp", json!(-1))),
        ("iat negative", with(c.clone(), "iat", json!(-1))),
        ("exp beyond i64", with(c.clone(), "exp", json!(u64::MAX))),
        ("exp 1e300", with(c.clone(), "exp", json!(1e300))),
        ("exp null", with(c.clone(), "exp", Value::Null)),
        ("exp true", with(c.clone(), "exp", json!(true))),
        ("iat i64::MIN", with(c.clone(), "iat", json!(i64::MIN))),
        (
            "exp i64::MAX, iat i64::MIN (wrapping lifetime)",
            with(
                with(c.clone(), "iat", json!(i64::MIN)),
                "exp",
                json!(i64::MAX),
            ),
        ),
        ("exp i64::MAX", with(c.clone(), "exp", json!(i64::MAX))),
    ];
    for (what, v) in times {
        t(what, tok(&forge(&politie, &h, &v)));
    }
    for missing in [
        "iss", "sub", "aud", "exp", "iat", "jti", "role", "purpose", "cnf",
    ] {
        t(
            &format!("missing {missing}"),
            tok(&forge(&politie, &h, &without(c.clone(), missing))),
        );
    }
    // Who, for whom, bound to what.
    let edits: Vec<(&str, &str, Value)> = vec![
        ("aud another gateway", "aud", json!("someone-else")),
        ("aud a list without vhgate", "aud", json!(["a", "b"])),
        ("aud an empty list", "aud", json!([])),
        ("aud a number", "aud", json!(7)),
        ("iss another partner's OIN", "iss", json!(om.oin)),
        ("iss empty", "iss", json!("")),
        ("iss a number", "iss", json!(1)),
        (
            "cnf another certificate",
            "cnf",
            json!({"x5t#S256": om.thumbprint}),
        ),
        ("cnf without x5t#S256", "cnf", json!({})),
        ("cnf a string", "cnf", json!(politie.thumbprint)),
        ("cnf thumbprint empty", "cnf", json!({"x5t#S256": ""})),
        ("role unknown", "role", json!("stagiair")),
        ("role SQL", "role", json!("professional' OR '1'='1")),
        ("role empty", "role", json!("")),
        ("role a number", "role", json!(1)),
        (
            "role a list",
            "role",
            json!(["professional", "privacy_officer"]),
        ),
        ("purpose unknown", "purpose", json!("nieuwsgierigheid")),
        ("purpose empty", "purpose", json!("")),
        ("sub empty", "sub", json!("")),
        ("sub whitespace", "sub", json!("   ")),
        ("jti empty", "jti", json!("")),
        (
            "reason with control characters",
            "reason",
            json!("spoed\u{7}\u{1b}[2J"),
        ),
        ("reason 501 characters", "reason", json!("x".repeat(501))),
    ];
    for (what, key, value) in edits {
        t(
            what,
            tok(&forge(&politie, &h, &with(c.clone(), key, value))),
        );
    }
    // Duplicate members: whichever a parser keeps, the token is refused.
    let body = serde_json::to_string(&c).expect("claims");
    let inner = &body[1..body.len() - 1];
    t(
        "duplicate role, the privileged one last",
        tok(&forge_text(
            &politie,
            &format!("{{{inner},\"role\":\"privacy_officer\"}}"),
        )),
    );
    t(
        "duplicate purpose, the break-glass one first",
        tok(&forge_text(
            &politie,
            &format!("{{\"purpose\":\"spoed\",{inner}}}"),
        )),
    );
    t(
        "duplicate iss",
        tok(&forge_text(
            &politie,
            &format!("{{{inner},\"iss\":\"{}\"}}", om.oin),
        )),
    );
    t(
        "duplicate x5t#S256 inside cnf",
        tok(&forge_text(
            &politie,
            &body.replace(
                "\"cnf\":{",
                &format!("\"cnf\":{{\"x5t#S256\":\"{}\",", om.thumbprint),
            ),
        )),
    );
    t(
        "duplicate alg in the header",
        tok(&sign_parts(
            &URL_SAFE_NO_PAD.encode(
                format!(
                    "{{\"alg\":\"EdDSA\",\"kid\":\"{}\",\"alg\":\"none\"}}",
                    politie.kid
                )
                .as_bytes(),
            ),
            &vp,
            &politie.jwt_key,
        )),
    );
    // Size.
    tokens.push((
        "64 KiB token".into(),
        Some(bearer(&format!("{vh}.{}.{vs}", "A".repeat(64 * 1024)))),
        Expect::Refused(431),
    ));
    tokens.push((
        "24 KiB token (under the header limit)".into(),
        Some(bearer(&format!("{vh}.{}.{vs}", "A".repeat(24 * 1024)))),
        Expect::Refused(401),
    ));
    tokens.push((
        "1 MiB JWT header".into(),
        Some(bearer(&format!(
            "{}.{vp}.{vs}",
            URL_SAFE_NO_PAD.encode(vec![b'{'; 768 * 1024])
        ))),
        Expect::Early(431),
    ));

    for (name, auth, expect) in tokens {
        let headers: Vec<(&str, &[u8])> = match &auth {
            Some(a) => vec![("authorization", a.as_slice())],
            None => vec![],
        };
        out.push(Case {
            class: "jwt",
            name,
            who: Who::Partner("politie"),
            request: raw("GET", &target, &headers, b""),
            expect,
            garbage_trace: false,
        });
    }
    // A token valid for politie, replayed over om's certificate (after it was cached).
    out.push(Case {
        class: "jwt",
        name: "politie's cached token over om's certificate".into(),
        who: Who::Partner("om"),
        request: get(&target, &valid),
        expect: Expect::Refused(401),
        garbage_trace: false,
    });
    valid
}

fn certificate_cases(env: &Env, out: &mut Vec<Case>) {
    let pki = pki();
    let target = format!(
        "/v1/cases/{}/persons/{}",
        env.ids.uden_case, env.ids.uden_man
    );
    let politie = env.client("politie");
    let token = politie.token("professional", "casusoverleg");
    let request = get(&target, &token);
    let mut push = |name: &str, who: Who, expect: Expect| {
        out.push(Case {
            class: "certificate",
            name: name.into(),
            who,
            request: request.clone(),
            expect,
            garbage_trace: false,
        })
    };
    push(
        "from another CA",
        Who::Cert("untrusted", pki.untrusted.clone()),
        Expect::Tls,
    );
    push(
        "expired",
        Who::Cert("expired", pki.expired.clone()),
        Expect::Tls,
    );
    push(
        "not yet valid",
        Who::Cert("not yet valid", pki.not_yet_valid.clone()),
        Expect::Tls,
    );
    push(
        "revoked (CRL)",
        Who::Cert("revoked", pki.revoked.clone()),
        Expect::Tls,
    );
    push(
        "server authentication only",
        Who::Cert("server-only", pki.server_only.clone()),
        Expect::Tls,
    );
    push(
        "self-signed with politie's OIN",
        Who::Cert("self-signed", self_signed_politie()),
        Expect::Tls,
    );
    push("no client certificate", Who::NoCert, Expect::Tls);
    // These chain to the convenant CA, so they pass the handshake; the gateway then finds no
    // partner for them: 403 unknown-organisation, logged with whatever OIN could be read.
    push(
        "without an OIN",
        Who::Cert("no OIN", convenant_cert(None, "Zonder OIN")),
        Expect::Refused(403),
    );
    for (label, oin) in [
        ("OIN 19 digits", "0000000100000000001"),
        ("OIN 21 digits", "000000010000000000011"),
        ("OIN with letters", "0000000100000000ABCD"),
        ("OIN empty", ""),
        ("OIN a BSN", "999990019"),
        ("OIN with spaces", "00000001 0000000001 "),
        ("OIN SQL", "1' OR '1'='1"),
    ] {
        push(
            &format!("malformed OIN: {label}"),
            Who::Cert(label, convenant_cert(Some(oin), "Vreemd")),
            Expect::Refused(403),
        );
    }
    push(
        "unregistered OIN",
        Who::Cert("stranger", pki.stranger.clone()),
        Expect::Refused(403),
    );
}

fn http_cases(env: &Env, out: &mut Vec<Case>) {
    let politie = env.client("politie");
    let token = politie.token("professional", "casusoverleg");
    let auth = bearer(&token);
    let bsn = env.ids.uden_man_bsn;
    let mut push = |name: &str, request: Vec<u8>, expect: Expect| {
        out.push(Case {
            class: "http",
            name: name.into(),
            who: Who::Partner("politie"),
            request,
            expect,
            garbage_trace: false,
        })
    };
    let lookup = |body: &[u8]| post("/v1/lookup", &token, body);
    let json_ct: &[u8] = b"application/json";

    // Bodies too large.
    push(
        "1 MiB body",
        lookup(&vec![b' '; 1024 * 1024]),
        Expect::Refused(413),
    );
    push(
        "64 KiB + 1 body",
        lookup(&vec![b' '; 64 * 1024 + 1]),
        Expect::Refused(413),
    );
    push(
        "Content-Length of 10 GB, expecting 100-continue",
        raw(
            "POST",
            "/v1/lookup",
            &[
                ("authorization", &auth),
                ("content-type", json_ct),
                ("content-length", b"10000000000"),
                ("expect", b"100-continue"),
            ],
            b"",
        ),
        Expect::Refused(413),
    );
    let mut chunked = Vec::new();
    for _ in 0..40 {
        chunked.extend_from_slice(format!("{:x}\r\n", 4096).as_bytes());
        chunked.extend_from_slice(&[b' '; 4096]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    push(
        "160 KiB chunked body without a length",
        raw(
            "POST",
            "/v1/lookup",
            &[
                ("authorization", &auth),
                ("content-type", json_ct),
                ("transfer-encoding", b"chunked"),
            ],
            &chunked,
        ),
        Expect::Refused(413),
    );
    // Headers too large.
    push(
        "40 KiB header",
        raw(
            "GET",
            "/healthz",
            &[("x-filler", &vec![b'a'; 40 * 1024])],
            b"",
        ),
        Expect::Refused(431),
    );
    push(
        "200 KiB over many headers",
        raw(
            "GET",
            "/healthz",
            &(0..50)
                .map(|_| ("x-filler", &[b'b'; 4096][..]))
                .collect::<Vec<_>>(),
            b"",
        ),
        Expect::Refused(431),
    );
    push(
        "1 MiB header",
        raw(
            "GET",
            "/healthz",
            &[("x-filler", &vec![b'c'; 1024 * 1024])],
            b"",
        ),
        Expect::Early(431),
    );
    push(
        "150 headers",
        raw(
            "GET",
            "/healthz",
            &(0..150).map(|_| ("x-many", &b"1"[..])).collect::<Vec<_>>(),
            b"",
        ),
        Expect::Early(431),
    );
    // Framing hyper refuses itself.
    push(
        "Content-Length not a number",
        raw(
            "POST",
            "/v1/lookup",
            &[("authorization", &auth), ("content-length", b"abc")],
            b"{}",
        ),
        Expect::Early(400),
    );
    push(
        "two different Content-Lengths",
        raw(
            "POST",
            "/v1/lookup",
            &[
                ("authorization", &auth),
                ("content-length", b"2"),
                ("content-length", b"3"),
            ],
            b"{}x",
        ),
        Expect::Early(400),
    );
    push(
        "header name with a space",
        raw("GET", "/healthz", &[("bad header", b"x")], b""),
        Expect::Early(400),
    );
    push(
        "control character in a header value",
        raw("GET", "/healthz", &[("x-bad", b"a\x01b")], b""),
        Expect::Early(400),
    );
    // JSON that does not parse or is the wrong shape.
    let deep_list = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_object = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
    let many_keys = format!(
        "{{{}\"bsn\":\"{bsn}\"}}",
        (0..5000)
            .map(|i| format!("\"k{i}\":0,"))
            .collect::<String>()
    );
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("10k nested lists", deep_list.into_bytes()),
        ("10k nested objects", deep_object.into_bytes()),
        ("5000 unknown keys", many_keys.into_bytes()),
        (
            "duplicate bsn keys",
            format!("{{\"bsn\":\"{bsn}\",\"bsn\":\"123456782\"}}").into_bytes(),
        ),
        ("invalid UTF-8", b"{\"bsn\":\"\xff\xfe\xfd\"}".to_vec()),
        ("lone surrogate escape", b"{\"bsn\":\"\\ud800\"}".to_vec()),
        (
            "UTF-8 byte order mark",
            format!("\u{feff}{{\"bsn\":\"{bsn}\"}}").into_bytes(),
        ),
        ("empty body", b"".to_vec()),
        ("whitespace only", b"   \n ".to_vec()),
        ("null", b"null".to_vec()),
        ("a list", format!("[\"{bsn}\"]").into_bytes()),
        ("a bare string", format!("\"{bsn}\"").into_bytes()),
        ("a number", b"123".to_vec()),
        ("true", b"true".to_vec()),
        ("bsn a number", format!("{{\"bsn\":{bsn}}}").into_bytes()),
        ("bsn 1e400", b"{\"bsn\":1e400}".to_vec()),
        (
            "bsn a 400-digit number",
            format!("{{\"bsn\":{}}}", "9".repeat(400)).into_bytes(),
        ),
        (
            "bsn a list",
            format!("{{\"bsn\":[\"{bsn}\"]}}").into_bytes(),
        ),
        (
            "bsn an operator object",
            b"{\"bsn\":{\"$ne\":null}}".to_vec(),
        ),
        ("bsn null", b"{\"bsn\":null}".to_vec()),
        (
            "an extra unknown field",
            format!("{{\"bsn\":\"{bsn}\",\"naam\":\"x\"}}").into_bytes(),
        ),
        (
            "an extra field that asks for more",
            format!("{{\"bsn\":\"{bsn}\",\"include_content\":true}}").into_bytes(),
        ),
        (
            "trailing garbage",
            format!("{{\"bsn\":\"{bsn}\"}} x").into_bytes(),
        ),
        (
            "two documents",
            format!("{{\"bsn\":\"{bsn}\"}}{{\"bsn\":\"{bsn}\"}}").into_bytes(),
        ),
        (
            "a comment",
            format!("{{/* hi */\"bsn\":\"{bsn}\"}}").into_bytes(),
        ),
        ("NaN", b"{\"bsn\":NaN}".to_vec()),
        ("single quotes", format!("{{'bsn':'{bsn}'}}").into_bytes()),
        ("unterminated", format!("{{\"bsn\":\"{bsn}").into_bytes()),
        ("NUL in the BSN", b"{\"bsn\":\"99999\\u00000019\"}".to_vec()),
    ];
    for (what, body) in bodies {
        push(
            &format!("lookup body: {what}"),
            lookup(&body),
            Expect::Refused(400),
        );
    }
    push(
        "registration: persons a string",
        post(
            "/v1/cases",
            &token,
            br#"{"kind":"persoon","region":"oost-brabant","reason":"r","persons":"everyone"}"#,
        ),
        Expect::Refused(400),
    );
    push(
        "registration: 10k nested persons",
        post(
            "/v1/cases",
            &token,
            format!(
                "{{\"kind\":\"persoon\",\"region\":\"oost-brabant\",\"reason\":\"r\",\"persons\":{}{}}}",
                "[".repeat(10_000),
                "]".repeat(10_000)
            )
            .as_bytes(),
        ),
        Expect::Refused(400),
    );
    // Content types.
    let valid_body = format!("{{\"bsn\":\"{bsn}\"}}");
    for ct in [
        &b"text/plain"[..],
        b"application/x-www-form-urlencoded",
        b"multipart/form-data; boundary=x",
        b"application/xml",
        b"application/jsonp",
        b"json",
        b";;;",
        b"application/gzip",
        b"text/json\xff",
    ] {
        push(
            &format!("content type {}", String::from_utf8_lossy(ct)),
            raw(
                "POST",
                "/v1/lookup",
                &[("authorization", &auth), ("content-type", ct)],
                valid_body.as_bytes(),
            ),
            Expect::Refused(415),
        );
    }
    push(
        "no content type, not JSON",
        raw(
            "POST",
            "/v1/lookup",
            &[("authorization", &auth)],
            format!("bsn={bsn}").as_bytes(),
        ),
        Expect::Refused(400),
    );
    // Routes and methods.
    for (method, target, status) in [
        ("GET", "/v1/lookup", 405),
        ("PUT", "/v1/lookup", 405),
        ("DELETE", "/v1/cases", 405),
        ("TRACE", "/healthz", 405),
        ("OPTIONS", "/v1/lookup", 405),
        ("FOO", "/v1/lookup", 405),
        ("POST", "/healthz", 405),
        (bsn, "/v1/lookup", 405),
        ("GET", "/", 404),
        ("GET", "/v2/lookup", 404),
        ("POST", "/V1/LOOKUP", 404),
        ("POST", "/v1/lookup/", 404),
        ("POST", "//v1/lookup", 404),
        ("GET", "/v1/nothing-here", 404),
        ("GET", "/admin", 404),
        ("GET", "/.env", 404),
        ("GET", "/v1/cases/", 404),
        ("GET", "/openapi.json/../healthz", 404),
    ] {
        push(
            &format!(
                "{} {target}",
                if method == bsn {
                    "<a BSN as method>"
                } else {
                    method
                }
            ),
            raw(method, target, &[("authorization", &auth)], b""),
            Expect::Refused(status),
        );
    }
    push(
        "absolute-form target",
        raw(
            "GET",
            "https://evil.example/v1/lookup",
            &[("authorization", &auth)],
            b"",
        ),
        Expect::Refused(405),
    );
}

fn path_cases(env: &Env, out: &mut Vec<Case>) {
    let politie = env.client("politie");
    let token = politie.token("professional", "casusoverleg");
    let vh = env.client("veiligheidshuis");
    let fg = vh.token("privacy_officer", "toezicht");
    let case = env.ids.uden_case;
    let person = env.ids.uden_man;
    let bsn = env.ids.uden_man_bsn;
    let mut cases: Vec<(String, &'static str, Vec<u8>, u16, bool)> = vec![];
    let mut p = |name: String, who: &'static str, request: Vec<u8>, status: u16| {
        cases.push((name, who, request, status, false));
    };

    // Traversal and encodings in the case and person ids.
    let ids = [
        "..",
        "..%2f..%2f..%2fetc%2fpasswd",
        "%2e%2e",
        "%2e%2e%2f%2e%2e%2fhealthz",
        "%252e%252e%252f",
        "..%5c..%5cwindows",
        "%c0%ae%c0%ae",
        "%ff%fe",
        "%00",
        "x%00y",
        "%e2%80%ae",
        "1'+OR+'1'='1",
        "1%27%20OR%20%271%27%3D%271",
        "1;DROP%20TABLE%20persons;--",
        "%27%29%3B--",
        "1%20UNION%20SELECT%20naam%20FROM%20persons",
        bsn,
        "x",
        "123",
        "00000000-0000-0000-0000-00000000000g",
        "00000000-0000-0000-0000-0000000000000",
        "%d9%a0%d9%a1%d9%a2%d9%a3%d9%a4%d9%a5%d9%a6%d9%a7-0000-0000-0000-000000000000",
    ];
    for id in ids {
        p(
            format!("case id {id}"),
            "politie",
            get(&format!("/v1/cases/{id}/persons/{person}"), &token),
            400,
        );
        p(
            format!("person id {id}"),
            "politie",
            get(&format!("/v1/cases/{case}/persons/{id}"), &token),
            400,
        );
    }
    // Ids that parse but name nothing: refused as not found (logged like any decision). The
    // uuid parser also takes the braced and URN spellings.
    for id in [
        "{00000000-0000-0000-0000-000000000000}",
        "urn:uuid:00000000-0000-0000-0000-000000000000",
    ] {
        p(
            format!("case id {id}"),
            "politie",
            get(&format!("/v1/cases/{id}/persons/{person}"), &token),
            404,
        );
        p(
            format!("person id {id}"),
            "politie",
            get(&format!("/v1/cases/{case}/persons/{id}"), &token),
            404,
        );
    }
    p(
        "nil case id".into(),
        "politie",
        get(
            &format!("/v1/cases/00000000-0000-0000-0000-000000000000/persons/{person}"),
            &token,
        ),
        404,
    );
    p(
        "person of another case".into(),
        "politie",
        get(
            &format!("/v1/cases/{case}/persons/{}", env.ids.oss_youth),
            &token,
        ),
        404,
    );
    // Raw traversal outside the routes.
    for target in [
        "/../../etc/passwd",
        "/v1/cases/../../../etc/passwd",
        "/v1/%2e%2e/%2e%2e/etc/passwd",
        "/v1/cases/%2e%2e/%2e%2e/persons",
        "/%2e%2e%2f%2e%2e%2fhealthz",
        "/v1/lookup%00",
        "/v1/lookup;jsessionid=1",
    ] {
        p(
            format!("path {target}"),
            "politie",
            get(target, &token),
            404,
        );
    }
    // Query parameters.
    let read = format!("/v1/cases/{case}/persons/{person}");
    for query in [
        "leefgebieden=wonen'%20OR%201=1--",
        "leefgebieden=tuinieren",
        "leefgebieden=wonen&bsn=999990019",
        "bsn=999990019",
        "leefgebieden[$ne]=x",
        "leefgebieden=%ff",
        "leefgebieden=wonen%00",
        "x=1",
        "=",
        "&&&=&",
    ] {
        p(
            format!("read query {query}"),
            "politie",
            get(&format!("{read}?{query}"), &token),
            400,
        );
    }
    for query in [
        "case_id=1'%20OR%20'1'='1",
        "case_id=999990019",
        "partner=1;DROP%20TABLE%20disclosure_log",
        "partner=999990019",
        "limit=-1",
        "limit=0",
        "limit=99999999999999999999",
        "limit=1e3",
        "since=yesterday",
        "until=2026-13-45T99:99:99Z",
        "outcome=allowed'--",
        "before=abc",
        "bsn=999990019",
        "unknown=1",
    ] {
        p(
            format!("disclosures query {query}"),
            "veiligheidshuis",
            get(&format!("/v1/disclosures?{query}"), &fg),
            400,
        );
    }
    // Other routes' path ids.
    for (method, target, status) in [
        ("GET", "/v1/cases/x/registration", 400),
        ("GET", "/v1/cases/1'--/screening", 400),
        ("GET", "/v1/cases/%2e%2e/afspraken", 400),
        ("GET", "/v1/cases/999990019/attention", 400),
        ("GET", "/v1/log/receipts/..%2f..%2f", 400),
        ("GET", "/v1/log/receipts/999990019", 400),
        ("DELETE", "/v1/cases/x/participants/y", 400),
        ("GET", "/v1/cases/%ff/contributions", 400),
    ] {
        p(
            format!("{method} {target}"),
            "politie",
            raw(method, target, &[("authorization", &bearer(&token))], b""),
            status,
        );
    }
    p(
        "DELETE participant OIN a BSN".into(),
        "politie",
        raw(
            "DELETE",
            &format!("/v1/cases/{case}/participants/999990019"),
            &[("authorization", &bearer(&token))],
            b"",
        ),
        400,
    );
    p(
        "spoed review id SQL".into(),
        "veiligheidshuis",
        post(
            "/v1/spoed-reviews/1'%20OR%20'1'='1/review",
            &fg,
            br#"{"verdict":"justified"}"#,
        ),
        400,
    );
    // Invalid BSNs wherever a BSN goes in.
    let bad_bsns = [
        "123456789",
        "999990018",
        "99999001",
        "9999900190",
        "99999001a",
        "٩٩٩٩٩٠٠١٩",
        "９９９９９００１９",
        "999 990 019",
        " 999990019",
        "999990019\n",
        "+99999001",
        "-99999001",
        "000000000",
        "",
        "999990019' OR '1'='1",
    ];
    for b in bad_bsns {
        let body = json!({ "bsn": b }).to_string();
        p(
            format!("lookup BSN {b:?}"),
            "politie",
            post("/v1/lookup", &token, body.as_bytes()),
            400,
        );
    }
    for b in ["123456789", "99999001a", "٩٩٩٩٩٠٠١٩", ""] {
        let body = json!({ "bsn": b }).to_string();
        p(
            format!("access report BSN {b:?}"),
            "veiligheidshuis",
            post("/v1/subjects/access-report", &fg, body.as_bytes()),
            400,
        );
        p(
            format!("disclosure search BSN {b:?}"),
            "veiligheidshuis",
            post("/v1/disclosures/search", &fg, body.as_bytes()),
            400,
        );
        let registration = json!({
            "kind": "persoon",
            "region": "oost-brabant",
            "reason": "attack corpus",
            "persons": [{"bsn": b, "naam": "Test Persoon"}],
        })
        .to_string();
        p(
            format!("registration BSN {b:?}"),
            "politie",
            post("/v1/cases", &token, registration.as_bytes()),
            400,
        );
    }
    // The transparency log's proofs: problem+json, not logged.
    for query in [
        "index=-1&size=1",
        "index=0&size=99999999999999999999",
        "from=x&to=y",
    ] {
        let route = if query.starts_with("from") {
            "consistency"
        } else {
            "inclusion"
        };
        out.push(Case {
            class: "path",
            name: format!("proof {route} {query}"),
            who: Who::Partner("politie"),
            request: get(&format!("/v1/log/proof/{route}?{query}"), &token),
            expect: Expect::RefusedUnlogged(400),
            garbage_trace: false,
        });
    }
    // Garbage trace context on a refused request: refused as usual, never recorded.
    for tp in [
        "zz-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        "",
        "00-999990019000000000000000000000-00f067aa0ba902b7-01x",
    ] {
        cases.push((
            format!("traceparent {tp:?}"),
            "politie",
            raw("GET", &read, &[("traceparent", tp.as_bytes())], b""),
            401,
            true,
        ));
    }
    cases.push((
        "traceparent 8 KiB".into(),
        "politie",
        raw(
            "GET",
            &read,
            &[("traceparent", "0".repeat(8192).as_bytes())],
            b"",
        ),
        401,
        true,
    ));
    cases.push((
        "traceparent non-ASCII".into(),
        "politie",
        raw(
            "GET",
            &read,
            &[(
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0\u{e9}".as_bytes(),
            )],
            b"",
        ),
        401,
        true,
    ));
    for (name, who, request, status, garbage_trace) in cases {
        out.push(Case {
            class: "path",
            name,
            who: Who::Partner(who),
            request,
            expect: Expect::Refused(status),
            garbage_trace,
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Sending.

/// Sends the raw request over a fresh mutual-TLS connection and reads until the gateway
/// closes it. `Err` when no HTTP answer came back (a refused handshake).
async fn exchange(env: &Env, who: &Who, request: &[u8]) -> Result<RawAnswer, String> {
    let config = match who {
        Who::Partner(name) => {
            let layout = &pki().layout;
            mtls_config(
                &std::fs::read_to_string(layout.partner_cert(name)).expect("cert"),
                &std::fs::read_to_string(layout.partner_key(name)).expect("key"),
            )
        }
        Who::Cert(_, cert) => mtls_config(&cert.cert_pem, &cert.key_pem),
        Who::NoCert => {
            let mut roots = rustls::RootCertStore::empty();
            for c in rustls::pki_types::CertificateDer::pem_slice_iter(pki().ca_pem.as_bytes()) {
                roots.add(c.expect("ca")).expect("root");
            }
            rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth()
        }
    };
    raw_exchange(env, config, request).await
}

/// What must never appear in an answer or an entry: the seeded persons' names (whole and in
/// parts), BSNs, birth dates, addresses and item contents.
async fn seeded_secrets(env: &Env) -> Vec<String> {
    let record = env.record();
    let ids = &env.ids;
    let mut pairs = vec![
        (ids.uden_case, ids.uden_man),
        (ids.oss_case, ids.oss_youth),
        (ids.gezin_case, ids.gezin_mother),
        (ids.gezin_case, ids.gezin_father),
        (ids.closed_case, ids.closed_person),
        (ids.new_case, ids.new_person),
    ];
    pairs.extend(ids.gezin_children.iter().map(|c| (ids.gezin_case, *c)));
    let mut out = vec![ids.uden_man_bsn.to_string(), ids.oss_youth_bsn.to_string()];
    for (case, person) in pairs {
        if let Some(p) = record.person_in_case(case, person).await.expect("person") {
            out.push(p.naam.clone());
            out.extend(
                p.naam
                    .split_whitespace()
                    .filter(|w| w.len() >= 4)
                    .map(str::to_owned),
            );
            out.extend(p.geboortedatum.clone());
            out.extend(p.adres.clone());
            if let Some(bsn) = record.reveal_bsn(&p).expect("bsn") {
                out.push(bsn.expose().to_string());
            }
        }
        for item in record.items(case, person).await.expect("items") {
            out.push(item.content);
        }
    }
    out.sort();
    out.dedup();
    assert!(out.len() >= 20, "too few seeded strings: {out:?}");
    out
}

#[derive(Default)]
struct Tally {
    inputs: usize,
    statuses: BTreeMap<String, usize>,
    logged: usize,
    unlogged_by_design: usize,
}

async fn attack_corpus(env: &Env) {
    let started = std::time::Instant::now();
    let secrets = seeded_secrets(env).await;
    let mut corpus = Vec::new();
    let valid = jwt_cases(env, &mut corpus);
    certificate_cases(env, &mut corpus);
    http_cases(env, &mut corpus);
    path_cases(env, &mut corpus);

    // Distinct inputs: no name and no (certificate, bytes) pair twice.
    let mut names = HashSet::new();
    let mut inputs = HashSet::new();
    for case in &corpus {
        assert!(
            names.insert((case.class, case.name.clone())),
            "duplicate case name {}",
            case.name
        );
        assert!(
            inputs.insert((case.who.label(), case.request.clone())),
            "duplicate input {}",
            case.name
        );
    }
    assert!(corpus.len() >= 200, "{} inputs", corpus.len());

    // Politie's valid token is verified (and cached) first, so the replay over om's
    // certificate meets the cache.
    let politie = env.client("politie");
    let r = politie
        .read_person(env, &valid, env.ids.uden_case, env.ids.uden_man)
        .await;
    assert_eq!(r.status, reqwest::StatusCode::OK, "{}", r.body);
    let health = politie.http.clone();

    let mut tallies: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut failures = Vec::new();
    for case in &corpus {
        let before = env.log_count().await;
        let answer = exchange(env, &case.who, &case.request).await;
        let after = env.log_count().await;
        let tally = tallies.entry(case.class).or_default();
        tally.inputs += 1;
        let mut fail =
            |what: String| failures.push(format!("[{}] {}: {what}", case.class, case.name));
        match (case.expect, &answer) {
            (Expect::Tls, Err(_)) => {
                *tally.statuses.entry("TLS refused".into()).or_default() += 1;
                if after != before {
                    fail(format!(
                        "{} entries for a refused handshake",
                        after - before
                    ));
                }
            }
            (Expect::Tls, Ok(a)) => fail(format!("handshake accepted, answered {}", a.status)),
            (_, Err(e)) => fail(format!("no HTTP answer: {e}")),
            (Expect::Early(status), Ok(a)) => {
                *tally
                    .statuses
                    .entry(format!("{} (before routing)", a.status))
                    .or_default() += 1;
                let body: Value = serde_json::from_slice(&a.body).unwrap_or(Value::Null);
                let problem_ok = a.header("content-type") == Some("application/problem+json")
                    && body["type"]
                        .as_str()
                        .is_some_and(|t| t.starts_with("urn:vhgate:problem:"))
                    && body["status"] == json!(a.status)
                    && body.get("disclosure_id").is_none();
                if a.status != status || !problem_ok {
                    fail(format!(
                        "expected a problem+json {status} before routing, got {} {:?}",
                        a.status,
                        String::from_utf8_lossy(&a.body)
                    ));
                }
                if after != before {
                    fail(format!(
                        "{} entries for a refusal before routing",
                        after - before
                    ));
                }
            }
            (Expect::Refused(status) | Expect::RefusedUnlogged(status), Ok(a)) => {
                *tally.statuses.entry(a.status.to_string()).or_default() += 1;
                let body: Value = serde_json::from_slice(&a.body).unwrap_or(Value::Null);
                if a.status != status {
                    fail(format!(
                        "expected {status}, got {} {}",
                        a.status,
                        String::from_utf8_lossy(&a.body)
                    ));
                }
                if a.header("content-type") != Some("application/problem+json") {
                    fail(format!("content-type {:?}", a.header("content-type")));
                }
                let problem_ok = body["type"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("urn:vhgate:problem:"))
                    && body["title"].as_str().is_some_and(|t| !t.is_empty())
                    && body["status"] == json!(a.status);
                if !problem_ok {
                    fail(format!("not a problem document: {body}"));
                }
                let logged = matches!(case.expect, Expect::Refused(_));
                if logged {
                    if after != before + 1 {
                        fail(format!("{} log entries, expected 1", after - before));
                    } else {
                        let entry = env.last_entry().await;
                        let id = a.header("disclosure-id").unwrap_or("");
                        if entry["id"] != json!(id) || body["disclosure_id"] != json!(id) {
                            fail(format!(
                                "answer names {id:?} / {}, the entry is {}",
                                body["disclosure_id"], entry["id"]
                            ));
                        }
                        if entry["status"] != json!(a.status) {
                            fail(format!("entry status {}", entry["status"]));
                        }
                        if entry["outcome"] != "denied" {
                            fail(format!("entry outcome {}", entry["outcome"]));
                        }
                        if case.garbage_trace && !entry["traceparent"].is_null() {
                            fail(format!(
                                "garbage traceparent logged: {}",
                                entry["traceparent"]
                            ));
                        }
                        let text = entry.to_string();
                        if let Some(s) = secrets.iter().find(|s| text.contains(s.as_str())) {
                            fail(format!("the log entry holds {s:?}"));
                        }
                        tally.logged += 1;
                    }
                } else {
                    if after != before {
                        fail(format!("{} entries for an unlogged route", after - before));
                    }
                    tally.unlogged_by_design += 1;
                }
            }
        }
        if let Ok(a) = &answer {
            let text = String::from_utf8_lossy(&a.body);
            if let Some(s) = secrets.iter().find(|s| text.contains(s.as_str())) {
                failures.push(format!(
                    "[{}] {}: the answer discloses {s:?}",
                    case.class, case.name
                ));
            }
        }
        // Still serving.
        let alive = health.get(env.url("/healthz")).send().await;
        if !alive.is_ok_and(|r| r.status() == reqwest::StatusCode::OK) {
            failures.push(format!(
                "[{}] {}: /healthz no longer answers",
                case.class, case.name
            ));
            break;
        }
    }
    env.assert_log_intact().await;

    // The new entries: refusals before any decision name a route template (or `unmatched`),
    // never the raw path, and export like every other event.
    let rows = vhgate::disclosure::store::rows_after(&env.db, 0, 100_000)
        .await
        .expect("rows");
    let mut refused = 0;
    for row in &rows {
        let entry: vhgate::disclosure::LogEntry = serde_json::from_str(&row.entry).expect("entry");
        if entry.entry.event != vhgate::disclosure::Event::RequestRefused {
            continue;
        }
        refused += 1;
        let reason = entry.entry.reasons.first().cloned().unwrap_or_default();
        let (method, route) = reason.split_once(' ').unwrap_or(("", ""));
        let method_ok = [
            "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "other",
        ]
        .contains(&method);
        let route_ok = route == "unmatched"
            || (route.starts_with('/')
                && route
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/{}_-.".contains(&b))
                && !route.contains(".."));
        assert!(method_ok && route_ok, "raw request text in {reason:?}");
        assert!(entry.entry.subject.is_none() && entry.entry.disclosed.is_empty());
        // Not processing of personal data (no person named), and no policy decided it.
        let ldv = vhgate::disclosure::export::ldv::to_ldv(&entry);
        assert_eq!(ldv.len(), 1);
        assert_eq!(ldv[0]["name"], "vhgate.request_refused");
        assert_eq!(
            vhgate::disclosure::export::ldv::attribute(&ldv[0], "dpl.core.data_subject_id"),
            None
        );
        assert!(vhgate::disclosure::export::opa::to_opa(&entry, "test").is_none());
    }
    assert!(refused >= 100, "{refused} request_refused entries");

    let mut total = Tally::default();
    eprintln!("attack corpus on {:?}:", env.backend);
    for (class, t) in &tallies {
        let statuses: Vec<String> = t
            .statuses
            .iter()
            .map(|(s, n)| format!("{n}× {s}"))
            .collect();
        eprintln!(
            "  {class}: {} inputs, refused: {}; {} logged{}",
            t.inputs,
            statuses.join(", "),
            t.logged,
            if t.unlogged_by_design > 0 {
                format!(", {} unlogged by design (log proofs)", t.unlogged_by_design)
            } else {
                String::new()
            }
        );
        total.inputs += t.inputs;
        total.logged += t.logged;
        total.unlogged_by_design += t.unlogged_by_design;
    }
    eprintln!(
        "  total: {} inputs, {} failures, {} logged, {:.1} s",
        total.inputs,
        failures.len(),
        total.logged,
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} of {} inputs misbehaved:\n{}",
        failures.len(),
        total.inputs,
        failures.join("\n")
    );
}
