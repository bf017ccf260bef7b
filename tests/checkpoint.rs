//! C2SP signed notes, checkpoints and cosignatures (`vhgate::disclosure::checkpoint`).
//!
//! Known answers, which prove interoperability rather than self-consistency:
//! * c2sp.org/signed-note, "Verifier keys" / "Example": the `example.com/foo` key and note;
//! * golang.org/x/mod/sumdb/note `note_test.go`: the `PeterNeumann` verifier and signer keys
//!   and signed note (signing must reproduce it byte for byte), the `EnochRoot` key and
//!   signature, the malformed-note table and the verifier-key manglings;
//! * transparency-dev/formats `note/note_cosigv1_test.go`: verifier keys of both types (one whose
//!   base64 contains `+`, the `remora.n621.de` cosigner key) and invalid ones;
//! * a real production checkpoint of the `arche2025h1.staging.ct.transparency.dev` log with the
//!   cosignatures of four public witnesses (`tests/data/c2sp/arche2025h1-cosigned.checkpoint`,
//!   verified independently with pyca/cryptography before use; witness keys as published by
//!   their operators);
//! * cosignature/v1 and note-signature answers computed independently with pyca/cryptography
//!   by `tests/data/c2sp/cosignature_kat.py` (Go's PeterNeumann seed, the checkpoint and
//!   timestamp of the tlog-checkpoint / tlog-cosignature examples).

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use proptest::prelude::*;
use vhgate::disclosure::checkpoint::{
    add_signatures, ensure_signer_key_file, key_id, open_note, read_signer_key_file, Checkpoint,
    NoteError, NoteSigner, NoteVerifier, MAX_SIGNATURES, SIG_TYPE_COSIGNATURE_V1, SIG_TYPE_ED25519,
};

// --- vectors -------------------------------------------------------------------------------

/// c2sp.org/signed-note, "Verifier keys", "Example".
const SPEC_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
const SPEC_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

/// golang.org/x/mod/sumdb/note, note_test.go.
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

/// A production checkpoint with four witness cosignatures (see the module comment).
const ARCHE_NOTE: &str = include_str!("data/c2sp/arche2025h1-cosigned.checkpoint");
const ARCHE_LOG_VKEY: &str =
    "arche2025h1.staging.ct.transparency.dev+ba2f06c0+AU0vHmlGCS/PdN8b2OaGmKprLI8HKM+dJ472xgFYh15f";
const ARCHE_WITNESS_VKEYS: [&str; 4] = [
    "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2",
    "witness.stagemole.eu+67f7aea0+BEqSG3yu9YrmcM3BHvQYTxwFj3uSWakQepafafpUqklv",
    "witness1.smartit.nu/witness1+a48c820f+BPSFWg9G6KPiO7QPryYO5Xq4oYJJ+kAvLKLSimDhoxMO",
    "transparency.dev/DEV:witness-little-garden+d8042a87+BCtusOxINQNUTN5Oj8HObRkh2yHf/MwYaGX4CPdiVEPM",
];
/// The little-garden witness key published as a type 0x01 key: same public key, other key ID.
const LITTLE_GARDEN_ED25519_VKEY: &str =
    "transparency.dev/DEV:witness-little-garden+4b7fca75+AStusOxINQNUTN5Oj8HObRkh2yHf/MwYaGX4CPdiVEPM";
const ARCHE_COSIGNED_AT: u64 = 1_779_573_024;

/// tlog-checkpoint / tlog-cosignature example checkpoint and timestamp; the answers are from
/// tests/data/c2sp/cosignature_kat.py (pyca/cryptography).
const SOFA_BODY: &str =
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
const SOFA_TIME: u64 = 1_679_315_147;
const KAT_LOG_VKEY: &str =
    "example.com/behind-the-sofa+bed5581b+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const KAT_LOG_LINE: &str = "\u{2014} example.com/behind-the-sofa vtVYG5/3L9NHv4CxP0XTzEcSuWnwY/BYfHU7NnQPhQyrEuH+AqeHvF+HXNvu8ujR9RQHE17Tcer4sDE9uIi/Yx6ihwc=\n";
const KAT_COSIG_VKEY: &str =
    "witness.example/w1+cc9a7044+BBpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const KAT_COSIG_LINE: &str = "\u{2014} witness.example/w1 zJpwRAAAAABkGFDLJeR//pqzhnEKVvEm2wWbh2RJ6oru5+cUUfm5X9NnlaGr8aSH9QE5RVZD4QGlxl2F5UpVIIi94p178KLfqPPsAA==\n";

// --- helpers -------------------------------------------------------------------------------

fn verifier(vkey: &str) -> NoteVerifier {
    NoteVerifier::from_vkey(vkey).unwrap_or_else(|e| panic!("{vkey}: {e}"))
}

/// PKCS#8 v1 (RFC 8410) of an Ed25519 seed: a fixed DER prefix, then the 32 seed bytes.
fn pkcs8_v1_from_seed(seed: &[u8]) -> Vec<u8> {
    assert_eq!(seed.len(), 32);
    let mut der = hex::decode("302e020100300506032b657004220420").unwrap();
    der.extend_from_slice(seed);
    der
}

/// The seed of a Go `PRIVATE+KEY+<name>+<id>+base64(0x01 || seed)` signer key.
fn go_skey_seed(skey: &str) -> (String, u32, Vec<u8>) {
    let parts: Vec<&str> = skey.splitn(5, '+').collect();
    assert_eq!(&parts[..2], ["PRIVATE", "KEY"]);
    let raw = STANDARD.decode(parts[4]).unwrap();
    assert_eq!(raw[0], SIG_TYPE_ED25519);
    (
        parts[2].to_owned(),
        u32::from_str_radix(parts[3], 16).unwrap(),
        raw[1..].to_vec(),
    )
}

fn peter_signer(name: &str) -> NoteSigner {
    let (_, _, seed) = go_skey_seed(PETER_SKEY);
    NoteSigner::from_pkcs8(name, &pkcs8_v1_from_seed(&seed)).unwrap()
}

fn fresh_signer(name: &str) -> NoteSigner {
    NoteSigner::from_pkcs8(name, &NoteSigner::generate_pkcs8().unwrap()).unwrap()
}

fn sofa() -> Checkpoint {
    Checkpoint::parse_body(SOFA_BODY).unwrap()
}

fn is_malformed(r: Result<impl std::fmt::Debug, NoteError>) -> bool {
    matches!(r, Err(NoteError::MalformedNote(_)))
}

// --- signed-note known answers ---------------------------------------------------------------

#[test]
fn spec_example_note_verifies() {
    let v = verifier(SPEC_VKEY);
    assert_eq!(v.name(), "example.com/foo");
    assert_eq!(v.key_id(), 0x530d903a);
    assert_eq!(v.signature_type(), SIG_TYPE_ED25519);
    assert_eq!(v.vkey(), SPEC_VKEY);
    assert_eq!(v.to_string(), SPEC_VKEY);
    let opened = open_note(SPEC_NOTE, &[v]).unwrap();
    assert_eq!(opened.body, "This is an example message.\n");
    assert_eq!(opened.verified, ["example.com/foo"]);
    assert!(opened.cosigned_at.is_empty());
}

#[test]
fn spec_examples_without_keys_parse_but_do_not_verify() {
    let quasimodo = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \u{e8} subito sera.\n\n\u{2014} quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";
    let checkpoint = format!("{SOFA_BODY}\n\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n");
    let cosigned = format!("{checkpoint}\u{2014} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n");
    for note in [quasimodo, &checkpoint, &cosigned, SPEC_NOTE] {
        // Well-formed (an empty-line body in the poem is fine), but no trusted key.
        assert!(matches!(
            open_note(note, &[verifier(PETER_VKEY)]),
            Err(NoteError::NoVerifiedSignature)
        ));
    }
    let cp = sofa();
    assert_eq!(cp.origin, "example.com/behind-the-sofa");
    assert_eq!(cp.size, 20852163);
    assert!(cp.extensions.is_empty());
    assert_eq!(cp.body(), SOFA_BODY);
}

#[test]
fn go_peter_neumann_signs_byte_for_byte() {
    let (name, id, _) = go_skey_seed(PETER_SKEY);
    let signer = peter_signer(&name);
    assert_eq!(signer.key_id(), id);
    assert_eq!(signer.key_id(), 0xc74f20a3);
    assert_eq!(signer.verifier_key(), PETER_VKEY);
    let note = signer.sign_note(PETER_TEXT).unwrap();
    assert_eq!(note, format!("{PETER_TEXT}\n{PETER_SIG}"));
}

#[test]
fn go_open_cases() {
    let peter = verifier(PETER_VKEY);
    let enoch = verifier(ENOCH_VKEY);
    let both = format!("{PETER_TEXT}\n{PETER_SIG}{ENOCH_SIG}");

    // One signature verified, the other from an unknown key ignored.
    let n = open_note(&both, std::slice::from_ref(&peter)).unwrap();
    assert_eq!(n.body, PETER_TEXT);
    assert_eq!(n.verified, ["PeterNeumann"]);

    // Both verified, in note order.
    let n = open_note(&both, &[enoch.clone(), peter.clone()]).unwrap();
    assert_eq!(n.verified, ["PeterNeumann", "EnochRoot"]);

    // Neither known.
    assert!(matches!(
        open_note(&both, &[]),
        Err(NoteError::NoVerifiedSignature)
    ));

    // The same verifier configured twice is not ambiguous (it is the same key).
    let enoch_only = format!("{PETER_TEXT}\n{ENOCH_SIG}");
    let n = open_note(&enoch_only, &[enoch.clone(), peter.clone(), enoch.clone()]).unwrap();
    assert_eq!(n.verified, ["EnochRoot"]);

    // Too many signatures, known or not: rejected before any verification.
    let many = format!("{PETER_TEXT}\n{}", PETER_SIG.repeat(MAX_SIGNATURES + 1));
    assert!(matches!(
        open_note(&many, std::slice::from_ref(&peter)),
        Err(NoteError::TooManySignatures)
    ));
    assert!(matches!(
        open_note(&many, &[]),
        Err(NoteError::TooManySignatures)
    ));
    let at_limit = format!("{PETER_TEXT}\n{}", PETER_SIG.repeat(MAX_SIGNATURES));
    assert_eq!(
        open_note(&at_limit, std::slice::from_ref(&peter))
            .unwrap()
            .verified,
        ["PeterNeumann"]
    );

    // A known key's signature that does not verify rejects the note.
    let bad = format!("{PETER_TEXT}\n{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
    match open_note(&bad, std::slice::from_ref(&peter)) {
        Err(NoteError::InvalidSignature { name, key_id }) => {
            assert_eq!((name.as_str(), key_id), ("PeterNeumann", 0xc74f20a3));
        }
        other => panic!("{other:?}"),
    }

    // Duplicated verified and unknown (even broken unknown) signatures are fine.
    let enoch_abcd = format!("{}ABCD{}", &ENOCH_SIG[..60], &ENOCH_SIG[60..]);
    let dup = format!("{PETER_TEXT}\n{PETER_SIG}{PETER_SIG}{ENOCH_SIG}{ENOCH_SIG}{enoch_abcd}");
    let n = open_note(&dup, std::slice::from_ref(&peter)).unwrap();
    assert_eq!(n.verified, ["PeterNeumann"]);

    // Malformed encodings (Go's table; its invalid-UTF-8 case cannot be a &str).
    let bad_msgs = [
        PETER_TEXT.to_owned(),
        format!("{PETER_TEXT}\n"),
        format!("{PETER_TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1]),
        format!("\x01{PETER_TEXT}\n{PETER_SIG}"),
        format!("{PETER_TEXT}\n\u{2014} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"),
        format!("{PETER_TEXT}\n{PETER_SIG}Unexpected line.\n"),
    ];
    for msg in &bad_msgs {
        assert!(
            is_malformed(open_note(msg, std::slice::from_ref(&peter))),
            "{msg:?}"
        );
    }
}

#[test]
fn more_malformed_notes() {
    let peter = [verifier(PETER_VKEY)];
    let sig_b64 = PETER_SIG.trim_end().rsplit(' ').next().unwrap().to_owned();
    let cases = [
        // Hyphen instead of em dash, missing space after the dash, no signature.
        format!("{PETER_TEXT}\n- PeterNeumann {sig_b64}\n"),
        format!("{PETER_TEXT}\n\u{2014}PeterNeumann {sig_b64}\n"),
        format!("{PETER_TEXT}\n\u{2014} PeterNeumann\n"),
        format!("{PETER_TEXT}\n\u{2014} PeterNeumann \n"),
        // Name with '+', two spaces, CRLF, a tab, unpadded or bad base64, too short.
        format!("{PETER_TEXT}\n\u{2014} Peter+Neumann {sig_b64}\n"),
        format!("{PETER_TEXT}\n\u{2014} PeterNeumann  {sig_b64}\n"),
        format!("{PETER_TEXT}\n\u{2014} PeterNeumann {sig_b64}\r\n"),
        format!("{PETER_TEXT}\n\u{2014} PeterNeumann\t{sig_b64}\n"),
        format!(
            "{PETER_TEXT}\n\u{2014} PeterNeumann {}\n",
            sig_b64.trim_end_matches('=')
        ),
        format!("{PETER_TEXT}\n\u{2014} PeterNeumann {sig_b64}!\n"),
        format!("{PETER_TEXT}\n\u{2014} PeterNeumann AAAAAA==\n"),
        // A Unicode space (U+00A0) in the name.
        format!("{PETER_TEXT}\n\u{2014} Peter\u{a0}Neumann {sig_b64}\n"),
        // Only a signature, no text separator.
        PETER_SIG.to_owned(),
        String::new(),
    ];
    for note in &cases {
        assert!(is_malformed(open_note(note, &peter)), "{note:?}");
    }
}

// --- verifier keys ---------------------------------------------------------------------------

#[test]
fn go_verifier_key_manglings_are_rejected() {
    verifier(PETER_VKEY);
    let b = PETER_VKEY.as_bytes();
    for i in 0..=b.len() {
        for j in i + 1..=b.len() {
            if i != 0 || j != b.len() {
                let k = std::str::from_utf8(&b[i..j]).unwrap();
                assert!(NoteVerifier::from_vkey(k).is_err(), "{k}");
            }
        }
    }
    for i in 0..b.len() {
        let mut m = b.to_vec();
        m[i] += 1;
        let k = String::from_utf8(m).unwrap();
        assert!(NoteVerifier::from_vkey(&k).is_err(), "{k}");
    }
    // Wrong key length and unknown algorithm, each with an adjusted key hash.
    assert!(NoteVerifier::from_vkey(
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
    )
    .is_err());
    assert!(NoteVerifier::from_vkey(
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    )
    .is_err());
    // The key ID is fixed-length lowercase hex.
    assert!(NoteVerifier::from_vkey(&PETER_VKEY.replace("c74f20a3", "C74F20A3")).is_err());
}

#[test]
fn transparency_dev_verifier_keys() {
    // Base64 containing '+': only the first two '+' separate fields.
    let plus = verifier("TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6");
    assert_eq!((plus.name(), plus.key_id()), ("TEST", 0x7997405c));
    let remora = verifier(ARCHE_WITNESS_VKEYS[0]);
    assert_eq!(remora.signature_type(), SIG_TYPE_COSIGNATURE_V1);
    assert_eq!(remora.key_id(), 0xda77ade7);

    assert!(NoteVerifier::from_vkey("bananas.sigstore.dev+12344556").is_err());
    assert!(NoteVerifier::from_vkey("rekor.sigstore.dev+12345678+THIS_IS_NOT_BASE64!").is_err());
    assert!(matches!(
        NoteVerifier::from_vkey("rekor.sigstore.dev+12345678+AwEB"),
        Err(NoteError::UnsupportedSignatureType(0x03))
    ));
    assert!(NoteVerifier::from_vkey(
        "rekor.sigstore.dev+NOT_A_NUMBER+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"
    )
    .is_err());
    assert!(matches!(
        NoteVerifier::from_vkey("TEST+00000000+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"),
        Err(NoteError::MalformedVerifierKey(_))
    ));
}

#[test]
fn ml_dsa_verifier_keys_are_unsupported() {
    // A well-formed type 0x06 (ML-DSA-44 cosignature) vkey with a correct key ID.
    let pk = vec![7u8; 1312];
    let mut material = vec![0x06];
    material.extend_from_slice(&pk);
    let vkey = format!(
        "witness.example/pq+{:08x}+{}",
        key_id("witness.example/pq", 0x06, &pk),
        STANDARD.encode(material)
    );
    assert!(matches!(
        NoteVerifier::from_vkey(&vkey),
        Err(NoteError::UnsupportedSignatureType(0x06))
    ));
}

#[test]
fn key_id_matches_the_spec_formula() {
    // SHA-256(name || 0x0A || type || public key)[:4], big-endian.
    let peter = verifier(PETER_VKEY);
    let pk = STANDARD
        .decode(PETER_VKEY.rsplit('+').next().unwrap())
        .unwrap()[1..]
        .to_vec();
    assert_eq!(key_id("PeterNeumann", SIG_TYPE_ED25519, &pk), 0xc74f20a3);
    assert_eq!(peter.key_id(), 0xc74f20a3);
    for (name, ty) in [("a", 1u8), ("example.com/log", 1), ("w\u{e9}/x", 4)] {
        let mut input = name.as_bytes().to_vec();
        input.push(0x0a);
        input.push(ty);
        input.extend_from_slice(&pk);
        let h = ring::digest::digest(&ring::digest::SHA256, &input);
        let want = u32::from_be_bytes(h.as_ref()[..4].try_into().unwrap());
        assert_eq!(key_id(name, ty, &pk), want);
    }
    // Same key and name, different type: different IDs (little-garden publishes both).
    let a = verifier(LITTLE_GARDEN_ED25519_VKEY);
    let b = verifier(ARCHE_WITNESS_VKEYS[3]);
    assert_eq!(a.name(), b.name());
    assert_ne!(a.key_id(), b.key_id());
    assert_eq!((a.key_id(), b.key_id()), (0x4b7fca75, 0xd8042a87));
}

// --- real-world checkpoint and cosignatures --------------------------------------------------

#[test]
fn production_checkpoint_with_witness_cosignatures() {
    let mut verifiers = vec![verifier(ARCHE_LOG_VKEY)];
    verifiers.extend(ARCHE_WITNESS_VKEYS.iter().map(|k| verifier(k)));
    let opened = open_note(ARCHE_NOTE, &verifiers).unwrap();
    // The RFC 6962 (type 0x05) signature of the log is an unknown signature, ignored.
    assert_eq!(
        opened.verified,
        [
            "arche2025h1.staging.ct.transparency.dev",
            "transparency.dev/DEV:witness-little-garden",
            "witness1.smartit.nu/witness1",
            "remora.n621.de",
            "witness.stagemole.eu",
        ]
    );
    assert_eq!(opened.cosigned_at.len(), 4);
    assert!(opened
        .cosigned_at
        .iter()
        .all(|(_, t)| *t == ARCHE_COSIGNED_AT));

    let cp = Checkpoint::parse_body(&opened.body).unwrap();
    assert_eq!(cp.origin, "arche2025h1.staging.ct.transparency.dev");
    assert_eq!(cp.size, 1_432_088_532);
    assert_eq!(cp.body(), opened.body);

    // Each witness alone suffices to open it; the type 0x01 little-garden key does not match.
    for k in ARCHE_WITNESS_VKEYS {
        let n = open_note(ARCHE_NOTE, &[verifier(k)]).unwrap();
        assert_eq!(n.cosigned_at.len(), 1);
    }
    assert!(matches!(
        open_note(ARCHE_NOTE, &[verifier(LITTLE_GARDEN_ED25519_VKEY)]),
        Err(NoteError::NoVerifiedSignature)
    ));
    assert!(matches!(
        open_note(ARCHE_NOTE, &[verifier(SPEC_VKEY)]),
        Err(NoteError::NoVerifiedSignature)
    ));

    // Another tree size: every known signature is now invalid.
    let forged = ARCHE_NOTE.replacen("1432088532", "1432088533", 1);
    for v in &verifiers {
        assert!(matches!(
            open_note(&forged, std::slice::from_ref(v)),
            Err(NoteError::InvalidSignature { .. })
        ));
    }
}

#[test]
fn cosignature_and_note_signature_known_answers() {
    let cp = sofa();
    let log = peter_signer("example.com/behind-the-sofa");
    let witness = peter_signer("witness.example/w1");
    assert_eq!(log.verifier_key(), KAT_LOG_VKEY);
    assert_eq!(witness.cosignature_verifier_key(), KAT_COSIG_VKEY);
    assert_eq!(witness.cosignature_key_id(), 0xcc9a7044);

    let note = log.sign_checkpoint(&cp).unwrap();
    assert_eq!(note, format!("{SOFA_BODY}\n{KAT_LOG_LINE}"));
    let line = witness.cosign(&cp, SOFA_TIME).unwrap();
    assert_eq!(line, KAT_COSIG_LINE);

    // The timestamp bytes match the encoding in the tlog-cosignature example line, which
    // cosigns the same checkpoint at the same time ("...AAAAAGQYUMs...").
    let raw = STANDARD
        .decode(line.trim_end().rsplit(' ').next().unwrap())
        .unwrap();
    assert_eq!(raw.len(), 4 + 8 + 64);
    assert_eq!(
        u64::from_be_bytes(raw[4..12].try_into().unwrap()),
        SOFA_TIME
    );

    let cosigned = add_signatures(&note, &[line]).unwrap();
    assert_eq!(
        cosigned,
        format!("{SOFA_BODY}\n{KAT_LOG_LINE}{KAT_COSIG_LINE}")
    );
    let opened = open_note(
        &cosigned,
        &[verifier(KAT_LOG_VKEY), verifier(KAT_COSIG_VKEY)],
    )
    .unwrap();
    assert_eq!(
        opened.verified,
        ["example.com/behind-the-sofa", "witness.example/w1"]
    );
    assert_eq!(
        opened.cosigned_at,
        [("witness.example/w1".to_owned(), SOFA_TIME)]
    );
}

// --- round trips, tampering, key matching ----------------------------------------------------

#[test]
fn sign_open_round_trip_with_extensions() {
    let signer = fresh_signer("vhgate.example/log");
    let cp = Checkpoint {
        origin: "vhgate.example/log".into(),
        size: 0,
        root: [0xab; 32],
        extensions: vec!["ext one".into(), "\u{2014} looks like a signature".into()],
    };
    let note = signer.sign_checkpoint(&cp).unwrap();
    let v = verifier(&signer.verifier_key());
    assert_eq!(v.name(), "vhgate.example/log");
    assert_eq!(v.key_id(), signer.key_id());
    let opened = open_note(&note, &[v]).unwrap();
    assert_eq!(opened.body, cp.body());
    assert_eq!(Checkpoint::parse_body(&opened.body).unwrap(), cp);
}

#[test]
fn sign_note_rejects_bad_text() {
    let s = fresh_signer("a");
    assert!(is_malformed(s.sign_note("no newline")));
    assert!(is_malformed(s.sign_note("")));
    assert!(is_malformed(s.sign_note("tab\there\n")));
    assert!(is_malformed(s.sign_note("cr\r\n")));
    // Text with empty lines (even a trailing one) still round-trips.
    for body in ["a\n\nb\n", "a\n\n", "\n"] {
        let note = s.sign_note(body).unwrap();
        let opened = open_note(&note, &[verifier(&s.verifier_key())]).unwrap();
        assert_eq!(opened.body, body);
    }
    assert!(matches!(
        NoteSigner::from_pkcs8("bad name", &NoteSigner::generate_pkcs8().unwrap()),
        Err(NoteError::InvalidName(_))
    ));
    assert!(matches!(
        NoteSigner::from_pkcs8("a+b", &NoteSigner::generate_pkcs8().unwrap()),
        Err(NoteError::InvalidName(_))
    ));
    assert!(matches!(
        NoteSigner::from_pkcs8("a", b"not a key"),
        Err(NoteError::InvalidPrivateKey(_))
    ));
}

/// Every single-byte change of a signed note (XOR with each of a few masks) fails to open.
#[test]
fn every_byte_of_body_and_signature_is_protected() {
    let s = fresh_signer("vhgate.example/log");
    let v = verifier(&s.verifier_key());
    let note = s.sign_checkpoint(&sofa()).unwrap();
    let bytes = note.as_bytes();
    for i in 0..bytes.len() {
        for mask in [0x01u8, 0x02, 0x20, 0x40] {
            let mut m = bytes.to_vec();
            m[i] ^= mask;
            if let Ok(text) = String::from_utf8(m) {
                assert!(
                    open_note(&text, std::slice::from_ref(&v)).is_err(),
                    "byte {i} ^ {mask:#x}: {text:?}"
                );
            }
        }
    }
}

#[test]
fn unknown_names_and_ids_are_ignored_but_known_forgeries_rejected() {
    let a = fresh_signer("example.com/a");
    let b = fresh_signer("example.com/b");
    let va = verifier(&a.verifier_key());
    let vb = verifier(&b.verifier_key());
    let note = a.sign_note("hello\n").unwrap();

    assert!(matches!(
        open_note(&note, std::slice::from_ref(&vb)),
        Err(NoteError::NoVerifiedSignature)
    ));
    assert_eq!(
        open_note(&note, &[vb.clone(), va.clone()])
            .unwrap()
            .verified,
        ["example.com/a"]
    );

    // Same ID, other name: unknown, ignored.
    let renamed = note.replace("\u{2014} example.com/a ", "\u{2014} example.com/x ");
    assert!(matches!(
        open_note(&renamed, std::slice::from_ref(&va)),
        Err(NoteError::NoVerifiedSignature)
    ));
    // Same name, other ID: a key named example.com/a but a different key: ignored.
    let other_a = fresh_signer("example.com/a");
    let by_other = other_a.sign_note("hello\n").unwrap();
    assert!(matches!(
        open_note(&by_other, std::slice::from_ref(&va)),
        Err(NoteError::NoVerifiedSignature)
    ));
    // Name and ID of a known key but signed by another key: the whole note is rejected, even
    // next to a valid signature.
    let sig_a = note.split_once("\n\n").unwrap().1;
    let sig_b = b.sign_note("hello\n").unwrap();
    let raw_b = STANDARD
        .decode(sig_b.trim_end().rsplit(' ').next().unwrap())
        .unwrap();
    let mut forged = a.key_id().to_be_bytes().to_vec();
    forged.extend_from_slice(&raw_b[4..]);
    let forged_line = format!("\u{2014} example.com/a {}\n", STANDARD.encode(forged));
    let note2 = format!("hello\n\n{sig_a}{forged_line}");
    assert!(matches!(
        open_note(&note2, std::slice::from_ref(&va)),
        Err(NoteError::InvalidSignature { .. })
    ));
    // Unknown to a verifier list without a: the forged line is just an unknown signature.
    assert!(matches!(
        open_note(&note2, std::slice::from_ref(&vb)),
        Err(NoteError::NoVerifiedSignature)
    ));
}

#[test]
fn accepts_sixteen_signatures_and_two_distinct_keys_colliding_are_ambiguous() {
    let known = fresh_signer("log");
    let mut note = known.sign_note("body\n").unwrap();
    let others: Vec<String> = (0..16)
        .map(|i| {
            let s = fresh_signer(&format!("w{i}"));
            s.cosign(&sofa(), 1).unwrap()
        })
        .collect();
    note = add_signatures(&note, &others).unwrap();
    assert_eq!(
        open_note(&note, &[verifier(&known.verifier_key())])
            .unwrap()
            .verified,
        ["log"]
    );

    // Find two public keys whose key IDs under one name collide (a 32-bit birthday search,
    // which signed-note says is easy), and configure both: a signature naming them is
    // ambiguous.
    let name = "collide";
    let mut seen: HashMap<u32, [u8; 32]> = HashMap::new();
    let (k1, k2) = (0u64..)
        .find_map(|i| {
            let pk: [u8; 32] = ring::digest::digest(&ring::digest::SHA256, &i.to_be_bytes())
                .as_ref()
                .try_into()
                .unwrap();
            let id = key_id(name, SIG_TYPE_ED25519, &pk);
            seen.insert(id, pk).map(|prev| (prev, pk))
        })
        .unwrap();
    let vkey = |pk: &[u8; 32]| {
        let mut m = vec![SIG_TYPE_ED25519];
        m.extend_from_slice(pk);
        format!(
            "{name}+{:08x}+{}",
            key_id(name, SIG_TYPE_ED25519, pk),
            STANDARD.encode(m)
        )
    };
    let (v1, v2) = (verifier(&vkey(&k1)), verifier(&vkey(&k2)));
    assert_eq!(v1.key_id(), v2.key_id());
    let mut raw = v1.key_id().to_be_bytes().to_vec();
    raw.extend_from_slice(&[0u8; 64]);
    let line = format!("\u{2014} {name} {}\n", STANDARD.encode(raw));
    let note = format!("body\n\n{line}");
    assert!(matches!(
        open_note(&note, &[v1.clone(), v2]),
        Err(NoteError::AmbiguousKey { .. })
    ));
    assert!(matches!(
        open_note(&note, &[v1]),
        Err(NoteError::InvalidSignature { .. })
    ));
}

// --- cosignatures ----------------------------------------------------------------------------

#[test]
fn cosignature_round_trip_and_rejections() {
    let log = fresh_signer("vhgate.example/log");
    let w = fresh_signer("witness.example/w");
    let cp = Checkpoint {
        extensions: vec!["extension".into()],
        ..sofa()
    };
    let note = log.sign_checkpoint(&cp).unwrap();
    let line = w.cosign(&cp, 1_700_000_000).unwrap();
    assert!(line.starts_with("\u{2014} witness.example/w ") && line.ends_with('\n'));
    let later = w.cosign(&cp, 1_700_000_100).unwrap();
    let cosigned = add_signatures(&note, &[line.clone(), later.clone()]).unwrap();

    let vlog = verifier(&log.verifier_key());
    let vw = verifier(&w.cosignature_verifier_key());
    assert_eq!(vw.key_id(), w.cosignature_key_id());
    assert_ne!(vw.key_id(), w.key_id());
    let opened = open_note(&cosigned, &[vlog.clone(), vw.clone()]).unwrap();
    assert_eq!(opened.verified, ["vhgate.example/log", "witness.example/w"]);
    assert_eq!(
        opened.cosigned_at,
        [("witness.example/w".to_owned(), 1_700_000_100)]
    );
    // The cosigner alone can open it.
    assert_eq!(
        open_note(&cosigned, std::slice::from_ref(&vw))
            .unwrap()
            .verified,
        ["witness.example/w"]
    );

    // The witness key as a type 0x01 key does not match cosignature lines (other key ID), and
    // the cosignature verifier does not match plain note signatures by the same key.
    let vw_plain = verifier(&w.verifier_key());
    assert!(matches!(
        open_note(&cosigned, std::slice::from_ref(&vw_plain)),
        Err(NoteError::NoVerifiedSignature)
    ));
    let plain_by_w = w.sign_checkpoint(&cp).unwrap();
    assert!(matches!(
        open_note(&plain_by_w, std::slice::from_ref(&vw)),
        Err(NoteError::NoVerifiedSignature)
    ));

    // A cosignature of another checkpoint (the extension line is signed too).
    let other = Checkpoint {
        extensions: vec!["extension2".into()],
        ..cp.clone()
    };
    let wrong = add_signatures(&note, &[w.cosign(&other, 1_700_000_000).unwrap()]).unwrap();
    assert!(matches!(
        open_note(&wrong, &[vlog.clone(), vw.clone()]),
        Err(NoteError::InvalidSignature { .. })
    ));

    // A changed timestamp.
    let raw = STANDARD
        .decode(line.trim_end().rsplit(' ').next().unwrap())
        .unwrap();
    let mut bumped = raw.clone();
    bumped[11] ^= 1;
    let bumped_line = format!("\u{2014} witness.example/w {}\n", STANDARD.encode(&bumped));
    let bad = add_signatures(&note, &[bumped_line]).unwrap();
    assert!(matches!(
        open_note(&bad, std::slice::from_ref(&vw)),
        Err(NoteError::InvalidSignature { .. })
    ));
    // A timestamp above 2^63 - 1 is invalid even if it were signed; signing refuses it.
    assert!(matches!(
        w.cosign(&cp, 1 << 63),
        Err(NoteError::TimestampOutOfRange(_))
    ));
    assert!(w.cosign(&cp, i64::MAX as u64).is_ok());
    let mut huge = raw.clone();
    huge[4] |= 0x80;
    let huge_line = format!("\u{2014} witness.example/w {}\n", STANDARD.encode(&huge));
    assert!(matches!(
        open_note(
            &add_signatures(&note, &[huge_line]).unwrap(),
            std::slice::from_ref(&vw)
        ),
        Err(NoteError::InvalidSignature { .. })
    ));
    // Wrong length (a plain 64-byte signature under the cosignature key ID).
    let mut short = raw[..4].to_vec();
    short.extend_from_slice(&raw[12..]);
    let short_line = format!("\u{2014} witness.example/w {}\n", STANDARD.encode(&short));
    assert!(matches!(
        open_note(
            &add_signatures(&note, &[short_line]).unwrap(),
            std::slice::from_ref(&vw)
        ),
        Err(NoteError::InvalidSignature { .. })
    ));
}

#[test]
fn add_signatures_appends_dedupes_and_validates() {
    let log = fresh_signer("log");
    let w = fresh_signer("w");
    let cp = sofa();
    let note = log.sign_checkpoint(&cp).unwrap();
    let line = w.cosign(&cp, 5).unwrap();
    let without_newline = line.trim_end_matches('\n').to_owned();
    let out = add_signatures(&note, &[line.clone(), without_newline]).unwrap();
    assert_eq!(out, format!("{note}{line}"));
    assert_eq!(
        add_signatures(&out, std::slice::from_ref(&line)).unwrap(),
        out
    );

    assert!(is_malformed(add_signatures(&note, &["no dash".into()])));
    assert!(is_malformed(add_signatures(
        &note,
        &[format!("{line}{line}")]
    )));
    assert!(is_malformed(add_signatures(
        &cp.body(),
        std::slice::from_ref(&line)
    )));
    let many: Vec<String> = (0..MAX_SIGNATURES)
        .map(|i| format!("\u{2014} w{i} AAAAAAA=\n"))
        .collect();
    assert!(matches!(
        add_signatures(&note, &many),
        Err(NoteError::TooManySignatures)
    ));
}

// --- checkpoint parsing ----------------------------------------------------------------------

#[test]
fn checkpoint_parse_accepts_and_round_trips() {
    for text in [
        SOFA_BODY.to_owned(),
        "o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n".to_owned(),
        format!(
            "o\n{}\n{}\next 1\next 2\n",
            u64::MAX,
            STANDARD.encode([0u8; 32])
        ),
        // Origins need not be URLs; spaces and '+' are allowed (only recommended against).
        format!("my log+1\n7\n{}\n", STANDARD.encode([9u8; 32])),
    ] {
        let cp = Checkpoint::parse_body(&text).unwrap();
        assert_eq!(cp.body(), text);
        cp.validate().unwrap();
    }
    let cp = Checkpoint::parse_body(&format!(
        "o\n{}\n{}\nx\n",
        u64::MAX,
        STANDARD.encode([0u8; 32])
    ))
    .unwrap();
    assert_eq!(cp.size, u64::MAX);
    assert_eq!(cp.extensions, ["x"]);
}

#[test]
fn checkpoint_parse_rejects_malformed() {
    let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
    let cases = [
        String::new(),
        "o\n".into(),
        "o\n1\n".into(),
        format!("o\n1\n{root}"),           // no final newline
        format!("\n1\n{root}\n"),          // empty origin
        format!("o\n\n{root}\n"),          // empty size
        format!("o\n1\n{root}\n\n"),       // empty extension line
        format!("o\n1\n{root}\nx\n\ny\n"), // empty line among extensions
        format!("o\n01\n{root}\n"),        // leading zero
        format!("o\n00\n{root}\n"),
        format!("o\n+1\n{root}\n"),
        format!("o\n-1\n{root}\n"),
        format!("o\n 1\n{root}\n"),
        format!("o\n1 \n{root}\n"),
        format!("o\n1.0\n{root}\n"),
        format!("o\n0x1\n{root}\n"),
        format!("o\n\u{661}\n{root}\n"), // ARABIC-INDIC DIGIT ONE
        format!("o\n18446744073709551616\n{root}\n"), // u64::MAX + 1
        "o\n1\nnot base64!\n".into(),
        "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n".into(), // no padding
        "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n".into(), // non-zero trailing bits
        "o\n1\nCsUYapGGPo4dkMgIAUqom_Xajj7h2fB2MPA3j2jxq2I=\n".into(), // base64url
        format!("o\n1\n{}\n", STANDARD.encode([0u8; 31])),
        format!("o\n1\n{}\n", STANDARD.encode([0u8; 33])),
        format!("o\r\n1\r\n{root}\r\n"), // CRLF
        format!("o\n1\n{root}\nx\ty\n"),
    ];
    for text in &cases {
        assert!(
            matches!(
                Checkpoint::parse_body(text),
                Err(NoteError::MalformedCheckpoint(_))
            ),
            "{text:?}"
        );
    }
}

#[test]
fn invalid_checkpoint_fields_are_not_signed() {
    let s = fresh_signer("log");
    let base = sofa();
    let bad = [
        Checkpoint {
            origin: String::new(),
            ..base.clone()
        },
        Checkpoint {
            origin: "two\nlines".into(),
            ..base.clone()
        },
        Checkpoint {
            extensions: vec![String::new()],
            ..base.clone()
        },
        Checkpoint {
            extensions: vec!["a\nb".into()],
            ..base.clone()
        },
        Checkpoint {
            origin: "cr\r".into(),
            ..base.clone()
        },
    ];
    for cp in &bad {
        assert!(cp.validate().is_err());
        assert!(s.sign_checkpoint(cp).is_err());
        assert!(s.cosign(cp, 1).is_err());
    }
}

// --- key files -------------------------------------------------------------------------------

#[test]
fn key_file_is_created_once_with_mode_0600_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys/nested/log.key");
    assert!(ensure_signer_key_file(&path).unwrap());
    let first = std::fs::read(&path).unwrap();
    assert!(!ensure_signer_key_file(&path).unwrap());
    assert_eq!(std::fs::read(&path).unwrap(), first);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let s1 = read_signer_key_file(&path, "vhgate.example/log").unwrap();
    let s2 = read_signer_key_file(&path, "vhgate.example/log").unwrap();
    assert_eq!(s1.verifier_key(), s2.verifier_key());
    let note = s1.sign_note("x\n").unwrap();
    open_note(&note, &[verifier(&s2.verifier_key())]).unwrap();

    // Raw DER is accepted too (here: PKCS#8 v1 of the Go example seed).
    let raw = dir.path().join("raw.key");
    let (_, _, seed) = go_skey_seed(PETER_SKEY);
    std::fs::write(&raw, pkcs8_v1_from_seed(&seed)).unwrap();
    assert_eq!(
        read_signer_key_file(&raw, "PeterNeumann")
            .unwrap()
            .verifier_key(),
        PETER_VKEY
    );

    let junk = dir.path().join("junk.key");
    std::fs::write(&junk, "not a key\n").unwrap();
    assert!(matches!(
        read_signer_key_file(&junk, "x"),
        Err(NoteError::InvalidPrivateKey(_))
    ));
    assert!(matches!(
        read_signer_key_file(&dir.path().join("missing"), "x"),
        Err(NoteError::KeyFile { .. })
    ));
    // Debug output names the key but shows no key material.
    let dbg = format!("{s1:?}");
    assert!(dbg.contains("vhgate.example/log"));
    assert!(!dbg.contains(&String::from_utf8(first).unwrap().trim()[..20]));
}

// --- property: single-byte mutations never verify --------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// A note with one signature: any single-byte mutation fails to open.
    #[test]
    fn mutated_single_signature_note_never_opens(idx in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let s = peter_signer("vhgate.example/log");
        let note = s.sign_checkpoint(&sofa()).unwrap();
        let mut m = note.clone().into_bytes();
        let i = idx.index(m.len());
        prop_assume!(m[i] != byte);
        m[i] = byte;
        if let Ok(text) = String::from_utf8(m) {
            prop_assert!(open_note(&text, &[verifier(&s.verifier_key())]).is_err());
        }
    }

    /// A log-signed, witness-cosigned note: a mutation either fails, or (if it only made one
    /// signature unknown) opens with fewer verified keys and the same body.
    #[test]
    fn mutated_cosigned_note_loses_a_signature(idx in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let note = format!("{SOFA_BODY}\n{KAT_LOG_LINE}{KAT_COSIG_LINE}");
        let vs = [verifier(KAT_LOG_VKEY), verifier(KAT_COSIG_VKEY)];
        prop_assert_eq!(open_note(&note, &vs).unwrap().verified.len(), 2);
        let mut m = note.into_bytes();
        let i = idx.index(m.len());
        prop_assume!(m[i] != byte);
        m[i] = byte;
        if let Ok(text) = String::from_utf8(m) {
            if let Ok(opened) = open_note(&text, &vs) {
                prop_assert!(opened.verified.len() < 2);
                prop_assert_eq!(opened.body.as_str(), SOFA_BODY);
            }
        }
    }
}
