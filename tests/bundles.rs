//! Policy bundles (OPA format): build, read back, validate; invalid bundles are refused with
//! the file/line or test that failed.

use std::path::{Path, PathBuf};

use vhgate::policy::bundle::{validate, Bundle};

fn policies() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("policies")
}

/// A copy of the shipped policies with one file replaced (or added).
fn variant(file: &str, text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("data")).expect("data dir");
    for entry in std::fs::read_dir(policies()).expect("policies") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "rego") {
            std::fs::copy(&path, dir.path().join(path.file_name().expect("name"))).expect("copy");
        }
    }
    std::fs::copy(
        policies().join("data/convenant.json"),
        dir.path().join("data/convenant.json"),
    )
    .expect("copy data");
    std::fs::write(dir.path().join(file), text).expect("write variant");
    dir
}

fn problems_of(dir: &Path) -> Vec<String> {
    let bundle = Bundle::from_tar_gz(&Bundle::build(dir).expect("build")).expect("read");
    match validate(&bundle.sources) {
        Ok(_) => vec![],
        Err(problems) => problems
            .into_iter()
            .map(|p| format!("{}: {}", p.location, p.message))
            .collect(),
    }
}

#[test]
fn shipped_policies_round_trip_and_validate() {
    let bytes = Bundle::build(&policies()).expect("build");
    let bundle = Bundle::from_tar_gz(&bytes).expect("read back");
    assert_eq!(bundle.manifest.rego_version, Some(1));
    let shipped = vhgate::policy::PolicySources::read_dir(&policies(), false).expect("sources");
    assert_eq!(
        bundle.manifest.revision,
        shipped.revision(),
        "the revision the gateway logs"
    );
    assert!(bundle
        .sources
        .modules
        .iter()
        .any(|(p, _)| p == "decision.rego"));
    assert!(
        validate(&bundle.sources).is_ok(),
        "{:?}",
        validate(&bundle.sources).err()
    );
}

#[test]
fn syntax_error_names_file_and_line() {
    let dir = variant(
        "doelmatigheid.rego",
        "package vhgate.doelmatigheid\n\nholds if {\n  1 ==\n}\n",
    );
    let problems = problems_of(dir.path());
    assert!(
        problems
            .iter()
            .any(|p| p.contains("doelmatigheid.rego:5:1")),
        "{problems:?}"
    );
}

#[test]
fn failing_test_is_named() {
    let dir = variant(
        "zz_extra_test.rego",
        "package vhgate.zz_extra_test\n\ntest_always_fails if { 1 == 2 }\n",
    );
    let problems = problems_of(dir.path());
    assert!(
        problems
            .iter()
            .any(|p| p.contains("zz_extra_test.rego test_always_fails")),
        "{problems:?}"
    );
    // With the expression that failed, as `vhgate policy test -v` shows it.
    assert!(
        problems
            .iter()
            .any(|p| p.ends_with("failed at zz_extra_test.rego:3: 1 == 2")),
        "{problems:?}"
    );
}

#[test]
fn unsafe_rule_is_refused() {
    // Someone "simplifies" proportionaliteit so every category goes through.
    let permissive = "package vhgate.proportionaliteit\n\ndeny := set()\n\nwithhold := set()\n";
    let dir = variant("proportionaliteit.rego", permissive);
    // The shipped tests would catch it too; drop them to show the built-in safety check alone.
    for test in ["proportionaliteit_test.rego", "decision_test.rego"] {
        std::fs::remove_file(dir.path().join(test)).expect("remove test");
    }
    let problems = problems_of(dir.path());
    assert!(
        problems
            .iter()
            .any(|p| p.contains("safety: bijzonder for woningcorporatie")),
        "{problems:?}"
    );
}

#[test]
fn wrong_output_shape_is_refused() {
    let dir = variant(
        "decision.rego",
        "package vhgate.decision\n\ndecision := {\"allow\": true}\n",
    );
    let problems = problems_of(dir.path());
    assert!(
        problems.iter().any(|p| p.contains("decision shape")),
        "{problems:?}"
    );
}

#[test]
fn malformed_archives_are_refused() {
    assert!(Bundle::from_tar_gz(b"not a tarball").is_err());
    // A tar with a path escaping the bundle (written raw: the tar crate will not build one).
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    let manifest = br#"{"revision": "x", "rego_version": 1}"#;
    let mut header = tar::Header::new_gnu();
    header.set_size(manifest.len() as u64);
    header.set_cksum();
    tar.append_data(&mut header, ".manifest", &manifest[..])
        .expect("manifest");
    let body = b"package x\n";
    let mut header = tar::Header::new_old();
    header.set_size(body.len() as u64);
    header.as_old_mut().name[..12].copy_from_slice(b"../evil.rego");
    header.set_cksum();
    tar.append(&header, &body[..]).expect("append");
    let bytes = tar.into_inner().and_then(|gz| gz.finish()).expect("tar");
    let err = Bundle::from_tar_gz(&bytes)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("unsafe path"), "{err}");
}

/// Without the `opa-wasm` feature a bundle carrying an OPA-compiled policy.wasm is refused,
/// saying why (with the feature, tests/opa_wasm.rs covers such bundles).
#[cfg(not(feature = "opa-wasm"))]
#[test]
fn wasm_bundles_need_the_opa_wasm_feature() {
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    let files: [(&str, &[u8]); 3] = [
        (".manifest", br#"{"revision": "x", "wasm": [{"entrypoint": "vhgate/decision/decision", "module": "/policy.wasm"}]}"#),
        ("data.json", b"{}"),
        ("policy.wasm", b"\0asm\x01\0\0\0"),
    ];
    for (name, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_cksum();
        tar.append_data(&mut header, name, bytes).expect("append");
    }
    let bytes = tar.into_inner().and_then(|gz| gz.finish()).expect("tar");
    let err = Bundle::from_tar_gz(&bytes)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("built without the opa-wasm feature"), "{err}");
}
