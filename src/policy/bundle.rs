//! Policy bundles in OPA's format (a gzipped tar with `.manifest`, Rego files and `data.json`
//! files), and the validation a bundle must pass before it can be proposed: it compiles, its
//! own `test_` rules pass, its decisions have the contract's shape, and vhgate's built-in
//! safety properties hold.

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::signing::{BundleSigner, BundleVerifier, SignatureError, Verified, SIGNATURES_FILE};
use super::{
    grounds, testing, Decision, PolicyEngine, PolicyError, PolicyInput, PolicySources,
    RegorusEngine,
};

/// Largest bundle accepted, uncompressed (a convenant's policies are a few hundred KiB).
pub const MAX_UNCOMPRESSED: u64 = 16 * 1024 * 1024;
/// Most files in a bundle.
const MAX_FILES: usize = 1000;

/// The `.manifest` of an OPA bundle (the fields vhgate uses).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub revision: String,
    #[serde(default)]
    pub roots: Vec<String>,
    #[serde(default)]
    pub rego_version: Option<u32>,
    /// Which compiled module resolves which entrypoint (OPA's `wasm` manifest entries).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wasm: Vec<WasmResolver>,
}

/// One `wasm` entry of an OPA manifest: `{"entrypoint": "vhgate/decision/decision",
/// "module": "/policy.wasm"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WasmResolver {
    pub entrypoint: String,
    pub module: String,
}

/// A bundle read into memory.
#[derive(Clone, Debug)]
pub struct Bundle {
    pub manifest: Manifest,
    /// Modules (tests included) and data, as the engine loads them.
    pub sources: PolicySources,
    /// `.signatures.json`, if the bundle carries one (checked by [`Bundle::verify_signature`]).
    pub signatures: Option<String>,
    /// Every other file as it is in the archive (name without a leading `/`, raw bytes): what a
    /// signature covers, `policy.wasm` included.
    pub files: Vec<(String, Vec<u8>)>,
    /// An OPA-compiled `policy.wasm` (path in the bundle, bytes), if the bundle carries one:
    /// then that module is the policy (feature `opa-wasm`), and the Rego files serve its tests.
    pub wasm: Option<(String, Vec<u8>)>,
}

fn invalid(message: impl Into<String>) -> PolicyError {
    PolicyError::Bundle(message.into())
}

/// A bundle path without `..`, empty components or control characters. A leading `/` is dropped: OPA writes
/// bundle entries as `/data.json`, `/.manifest`, and names them without it in signatures.
fn clean_path(raw: &Path) -> Result<String, PolicyError> {
    let mut parts = Vec::new();
    for (i, c) in raw.components().enumerate() {
        match c {
            std::path::Component::RootDir if i == 0 => {}
            std::path::Component::Normal(p) => {
                let p = p.to_str().ok_or_else(|| invalid("non-UTF-8 file name"))?;
                // A GNU long name or PAX path can carry any byte, NUL included; such a name
                // could not even be written back into a tar (or a signature's file list).
                if p.chars().any(char::is_control) {
                    return Err(invalid("control character in a file name"));
                }
                parts.push(p)
            }
            std::path::Component::CurDir => {}
            _ => return Err(invalid(format!("unsafe path in bundle: {}", raw.display()))),
        }
    }
    if parts.is_empty() {
        return Err(invalid("empty path in bundle"));
    }
    Ok(parts.join("/"))
}

/// Reads at most `left` bytes of `inner`, then fails rather than ending: a plain `take` would
/// end the stream, which a tar reader could take for a shorter archive (zip-bomb cap).
struct Capped<R> {
    inner: R,
    left: u64,
    exceeded: std::rc::Rc<std::cell::Cell<bool>>,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? == 0 {
                return Ok(0);
            }
            self.exceeded.set(true);
            return Err(std::io::Error::other(
                "bundle over the uncompressed size cap",
            ));
        }
        let n = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let read = self.inner.read(&mut buf[..n])?;
        self.left -= read as u64;
        Ok(read)
    }
}

/// Wraps `value` under the directories of a `data.json` path (`a/b/data.json` is `data.a.b`).
fn nest(path: &str, value: serde_json::Value) -> serde_json::Value {
    let dirs: Vec<&str> = path.split('/').collect();
    dirs[..dirs.len() - 1]
        .iter()
        .rev()
        .fold(value, |v, dir| serde_json::json!({ *dir: v }))
}

impl Bundle {
    /// Reads a `.tar.gz` bundle. Refuses unsafe paths, oversized content, a missing or
    /// malformed manifest, Rego other than v1, and files it does not understand.
    pub fn from_tar_gz(bytes: &[u8]) -> Result<Bundle, PolicyError> {
        let exceeded = std::rc::Rc::new(std::cell::Cell::new(false));
        let mut archive = tar::Archive::new(Capped {
            inner: flate2::read::GzDecoder::new(bytes),
            left: MAX_UNCOMPRESSED,
            exceeded: exceeded.clone(),
        });
        // Any read error past the cap is reported as the cap, whatever the tar reader made of it.
        let corrupt = |message: String| {
            if exceeded.get() {
                invalid(format!(
                    "larger than {} MiB uncompressed",
                    MAX_UNCOMPRESSED / (1024 * 1024)
                ))
            } else {
                invalid(message)
            }
        };
        let mut manifest = None;
        let mut modules = Vec::new();
        let mut data = Vec::new();
        let mut signatures = None;
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        let mut wasm = None;
        let entries = archive
            .entries()
            .map_err(|e| corrupt(format!("not a gzipped tar: {e}")))?;
        for (count, entry) in entries.enumerate() {
            if count >= MAX_FILES {
                return Err(invalid(format!("more than {MAX_FILES} files")));
            }
            let mut entry = entry.map_err(|e| corrupt(format!("corrupt archive: {e}")))?;
            if entry.header().entry_type().is_dir() {
                continue;
            }
            if !entry.header().entry_type().is_file() {
                return Err(invalid("only regular files are allowed in a bundle"));
            }
            let path = clean_path(&entry.path().map_err(|e| corrupt(e.to_string()))?)?;
            let mut raw = Vec::new();
            entry
                .read_to_end(&mut raw)
                .map_err(|e| corrupt(format!("{path}: {e}")))?;
            if path.rsplit('/').next() == Some("policy.wasm") {
                if files.iter().any(|(p, _)| *p == path) {
                    return Err(invalid(format!("{path}: appears twice")));
                }
                // Listed with the other files, so a signature must cover the module too.
                files.push((path.clone(), raw.clone()));
                read_wasm(raw, path, &mut wasm)?;
                continue;
            }
            let text = String::from_utf8(raw.clone())
                .map_err(|_| invalid(format!("{path}: not UTF-8")))?;
            if path == SIGNATURES_FILE {
                if signatures.replace(text).is_some() {
                    return Err(invalid(format!("{path}: appears twice")));
                }
                continue;
            }
            if files.iter().any(|(p, _)| *p == path) {
                return Err(invalid(format!("{path}: appears twice")));
            }
            files.push((path.clone(), raw));
            let name = path.rsplit('/').next().unwrap_or(&path);
            match name {
                ".manifest" => {
                    manifest = Some(
                        serde_json::from_str::<Manifest>(&text)
                            .map_err(|e| invalid(format!(".manifest: {e}")))?,
                    )
                }
                SIGNATURES_FILE => {
                    return Err(invalid(format!(
                        "{path}: {SIGNATURES_FILE} belongs at the bundle root"
                    )))
                }
                "data.json" => {
                    let value = serde_json::from_str(&text).map_err(|e| PolicyError::Data {
                        path: path.clone(),
                        message: e.to_string(),
                    })?;
                    data.push((path.clone(), nest(&path, value)));
                }
                _ if name.ends_with(".rego") => modules.push((path, text)),
                _ => {
                    return Err(invalid(format!(
                        "{path}: not a Rego, data.json or manifest file"
                    )))
                }
            }
        }
        let manifest = manifest.ok_or_else(|| invalid("the bundle has no .manifest"))?;
        if manifest.revision.trim().is_empty() {
            return Err(invalid(".manifest: revision must not be empty"));
        }
        if manifest.rego_version.is_some_and(|v| v != 1) {
            return Err(invalid(".manifest: only rego_version 1 is accepted"));
        }
        check_wasm_manifest(&manifest, wasm.as_ref())?;
        if modules.is_empty() && wasm.is_none() {
            return Err(invalid("the bundle has no Rego modules"));
        }
        modules.sort();
        data.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Bundle {
            manifest,
            sources: PolicySources { modules, data },
            signatures,
            files,
            wasm,
        })
    }

    /// Checks the bundle's signature (if any) against the configured keys: see
    /// [`BundleVerifier::verify`].
    pub fn verify_signature(&self, verifier: &BundleVerifier) -> Result<Verified, SignatureError> {
        verifier.verify(&self.files, self.signatures.as_deref())
    }

    /// The revision the gateway logs for this bundle: the content hash of its runtime modules
    /// and data and, for a WASM bundle, of `policy.wasm` too. The manifest must name it.
    pub fn revision(&self) -> String {
        let rego = self.sources.without_tests().revision();
        let Some((_, bytes)) = &self.wasm else {
            return rego;
        };
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        for part in [rego.as_bytes(), b"policy.wasm", bytes] {
            ctx.update(part);
            ctx.update(&[0]);
        }
        hex::encode(&ctx.finish().as_ref()[..16])
    }

    /// Builds a bundle from a policy directory (`*.rego` incl. tests, `data/*.json` merged
    /// into the root `data.json`); the revision is the content hash the gateway logs.
    pub fn build(dir: &Path) -> Result<Vec<u8>, PolicyError> {
        Self::build_signed(dir, None)
    }

    /// [`Bundle::build`], with a `.signatures.json` over every file when `signer` is given.
    pub fn build_signed(dir: &Path, signer: Option<&BundleSigner>) -> Result<Vec<u8>, PolicyError> {
        let sources = PolicySources::read_dir(dir, true)?;
        let mut root = serde_json::Map::new();
        for (path, value) in &sources.data {
            let obj = value
                .as_object()
                .ok_or_else(|| invalid(format!("{path}: data must be a JSON object")))?;
            for (k, v) in obj {
                if root.insert(k.clone(), v.clone()).is_some() {
                    return Err(invalid(format!("{path}: key {k} is defined twice")));
                }
            }
        }
        let manifest = Manifest {
            // The revision the gateway logs: over the runtime modules and data (tests excluded).
            revision: PolicySources::read_dir(dir, false)?.revision(),
            roots: vec!["vhgate".into(), "convenant".into()],
            rego_version: Some(1),
            wasm: Vec::new(),
        };
        let mut files: Vec<(String, Vec<u8>)> = vec![
            (
                ".manifest".into(),
                serde_json::to_vec(&manifest).map_err(|e| invalid(e.to_string()))?,
            ),
            (
                "data.json".into(),
                serde_json::to_vec_pretty(&root).map_err(|e| invalid(e.to_string()))?,
            ),
        ];
        for (path, text) in &sources.modules {
            let name = Path::new(path)
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or(path);
            files.push((name.to_string(), text.as_bytes().to_vec()));
        }
        if let Some(signer) = signer {
            let signatures = signer.sign(&files).map_err(|e| invalid(e.to_string()))?;
            files.push((SIGNATURES_FILE.into(), signatures.into_bytes()));
        }
        write_tar_gz(&files)
    }
}

/// A gzipped tar of `files` (name, bytes), in that order.
pub fn write_tar_gz(files: &[(String, Vec<u8>)]) -> Result<Vec<u8>, PolicyError> {
    let io = |e: std::io::Error| invalid(format!("writing the bundle: {e}"));
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    for (name, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, name, bytes.as_slice())
            .map_err(io)?;
    }
    tar.into_inner().and_then(|gz| gz.finish()).map_err(io)
}

/// Why a bundle may not be proposed: where, and what.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ValidationProblem {
    /// File (and line, where the compiler gives one) or test that failed.
    pub location: String,
    pub message: String,
}

/// A partner type, purpose and role that the convenant allows to read a case.
fn probe(partner_type: &str, region: &str, fields: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "action": "read_person",
        "now": "2026-01-01T00:00:00Z",
        "requester": {"oin": "00000099000000000099", "partner_type": partner_type, "role": "professional",
                      "purpose": "casusoverleg", "sub": "probe"},
        "budget": {"used": 0},
        "case": {"id": "00000000-0000-7000-8000-000000000000", "kind": "persoon", "phase": "mdo", "region": region,
                 "requester_is_participant": true,
                 "participants": [{"oin": "00000099000000000099", "partner_type": partner_type, "since": "2026-01-01T00:00:00Z"}]},
        "request": {"leefgebieden": null},
        "fields": fields,
    })
}

/// Validates a bundle: compile, its own tests, decision shape, and vhgate's safety properties.
/// Returns the prepared engine when everything holds.
pub fn validate(sources: &PolicySources) -> Result<RegorusEngine, Vec<ValidationProblem>> {
    let runtime: PolicySources = sources.without_tests();
    let engine = match RegorusEngine::prepare(&runtime) {
        Ok(e) => e,
        Err(PolicyError::Parse { path, message }) => return Err(vec![problem(&path, message)]),
        Err(e) => return Err(vec![problem("bundle", e.to_string())]),
    };
    let mut problems = test_problems(sources);
    problems.extend(safety_problems(&engine, sources));
    if problems.is_empty() {
        Ok(engine)
    } else {
        Err(problems)
    }
}

fn problem(location: &str, message: String) -> ValidationProblem {
    ValidationProblem {
        location: location.into(),
        message,
    }
}

/// Failures of the bundle's own `test_` rules (run on its Rego source, with regorus).
fn test_problems(sources: &PolicySources) -> Vec<ValidationProblem> {
    let mut problems = Vec::new();
    match testing::run_tests_on(sources) {
        Ok(results) => problems.extend(results.into_iter().filter(|r| !r.passed).map(|r| {
            let mut message = r.message.unwrap_or_else(|| "failed".into());
            // Where it failed, as `vhgate policy test -v` shows it (first line of the expression).
            if let Some(f) = r.failures.first() {
                let mut lines = f.text.lines();
                let first = lines.next().unwrap_or_default();
                let more = if lines.next().is_some() { " ..." } else { "" };
                message.push_str(&format!("; failed at {}:{}: {first}{more}", f.file, f.line));
            }
            problem(&format!("{} {}", r.file, r.rule), message)
        })),
        Err(e) => problems.push(problem("tests", e.to_string())),
    }
    problems
}

/// vhgate's built-in safety properties, probed through the prepared engine (whichever it is),
/// whatever the bundle's own tests say.
fn safety_problems(engine: &dyn PolicyEngine, sources: &PolicySources) -> Vec<ValidationProblem> {
    let mut problems = Vec::new();
    let decide = |input: serde_json::Value| -> Result<Decision, String> {
        let input: PolicyInput = serde_json::from_value(input).map_err(|e| e.to_string())?;
        engine.decide(&input).map_err(|e| e.to_string())
    };
    let convenant_data = sources.convenant_json();
    // Every grant cites a registered ground that covers its category.
    problems.extend(grounds::problems(&convenant_data));
    // Probes use the bundle's own region, so doelmatigheid does not refuse them for that alone.
    let region = convenant_data["region"].as_str().unwrap_or_default();
    let field = |name: &str, category: &str| serde_json::json!({"name": name, "category": category, "leefgebied": null, "age_days": 1});
    // 1. A partner type that is not in the convenant gets nothing.
    match decide(probe(
        "onbekend_type",
        region,
        serde_json::json!([field("persoon.naam", "identificerend")]),
    )) {
        Ok(d) if !d.allow && d.allowed_fields.is_empty() => {}
        Ok(_) => problems.push(problem(
            "safety: unknown partner type",
            "a partner type outside the convenant was allowed data".into(),
        )),
        Err(e) => problems.push(problem("safety: decision shape", e)),
    }
    // 2. Sensitive data (special-category, criminal, BSN and what the convenant marks) never
    //    goes to a partner type without a registered ground for it.
    let convenant = engine.convenant().clone();
    let grants = grounds::resolved_grants(&convenant_data);
    for partner_type in &convenant.partner_types {
        for category in &grounds::sensitive_categories(&convenant_data) {
            if grants
                .get(partner_type)
                .is_some_and(|g| g.contains_key(category))
            {
                continue;
            }
            let input = probe(
                partner_type,
                region,
                serde_json::json!([field("item:probe", category)]),
            );
            match decide(input) {
                Ok(d) if d.allowed_fields.iter().any(|f| f == "item:probe") => problems.push(problem(
                    &format!("safety: {category} for {partner_type}"),
                    format!("{category} data would go to partner type {partner_type}, which has no ground for it"),
                )),
                Ok(_) => {}
                Err(e) => problems.push(problem("safety: decision shape", e)),
            }
        }
    }
    // 3. An empty input is decided, and refused.
    match decide(
        serde_json::json!({"action": "lookup", "now": "", "requester": {"oin": "", "partner_type": "", "role": "", "purpose": "", "sub": ""}, "budget": {"used": 0}}),
    ) {
        Ok(d) if !d.allow => {}
        Ok(_) => problems.push(problem(
            "safety: empty request",
            "an empty request was allowed".into(),
        )),
        Err(e) => problems.push(problem("safety: decision shape", e)),
    }
    problems
}

// --- Bundles with an OPA-compiled policy.wasm (feature `opa-wasm`) -------------------------

/// Why a gateway without the feature refuses a WASM bundle.
const WITHOUT_OPA_WASM: &str = "this gateway was built without the opa-wasm feature, so it \
                                cannot evaluate an OPA-compiled policy.wasm (rebuild with \
                                `--features opa-wasm`, or propose a Rego bundle)";

/// Keeps a bundle's `policy.wasm` (one per bundle), or refuses it without the feature.
fn read_wasm(
    bytes: Vec<u8>,
    path: String,
    slot: &mut Option<(String, Vec<u8>)>,
) -> Result<(), PolicyError> {
    if !cfg!(feature = "opa-wasm") {
        return Err(invalid(format!("{path}: {WITHOUT_OPA_WASM}")));
    }
    if let Some((first, _)) = slot {
        return Err(invalid(format!(
            "{path}: only one policy.wasm per bundle is supported (also {first})"
        )));
    }
    *slot = Some((path, bytes));
    Ok(())
}

/// The manifest's `wasm` entries must name the bundle's policy.wasm, and only it.
fn check_wasm_manifest(
    manifest: &Manifest,
    wasm: Option<&(String, Vec<u8>)>,
) -> Result<(), PolicyError> {
    for resolver in &manifest.wasm {
        let module = resolver.module.trim_start_matches('/');
        if wasm.is_none_or(|(path, _)| path != module) {
            return Err(invalid(format!(
                ".manifest: wasm entrypoint {} names module {}, which is not the bundle's policy.wasm",
                resolver.entrypoint, resolver.module
            )));
        }
    }
    Ok(())
}

/// A bundle that passed validation: its prepared engine, and what validation could not check.
pub struct Validated {
    pub engine: std::sync::Arc<dyn PolicyEngine>,
    /// Checks that did not (or could not) run as for a Rego bundle, for the operator to read.
    pub notes: Vec<String>,
}

/// Validates a bundle with the engine it needs: Rego ([`validate`]) or, for a bundle that
/// carries a `policy.wasm`, OPA-compiled WASM (feature `opa-wasm`; refused without it).
pub fn validate_bundle(bundle: &Bundle) -> Result<Validated, Vec<ValidationProblem>> {
    let Some((path, bytes)) = &bundle.wasm else {
        return validate(&bundle.sources).map(|engine| Validated {
            engine: std::sync::Arc::new(engine),
            notes: Vec::new(),
        });
    };
    #[cfg(not(feature = "opa-wasm"))]
    {
        let _ = bytes;
        Err(vec![problem(path, WITHOUT_OPA_WASM.into())])
    }
    #[cfg(feature = "opa-wasm")]
    {
        validate_wasm(bundle, path, bytes)
    }
}

/// The engine for a bundle that passed [`validate_bundle`] before (a stored proposal): compiled,
/// without running its tests and probes again.
pub fn prepare_engine(bundle: &Bundle) -> Result<std::sync::Arc<dyn PolicyEngine>, PolicyError> {
    let Some((path, bytes)) = &bundle.wasm else {
        return Ok(std::sync::Arc::new(RegorusEngine::prepare(
            &bundle.sources.without_tests(),
        )?));
    };
    #[cfg(not(feature = "opa-wasm"))]
    {
        let _ = bytes;
        Err(invalid(format!("{path}: {WITHOUT_OPA_WASM}")))
    }
    #[cfg(feature = "opa-wasm")]
    {
        let engine = super::WasmEngine::prepare(bytes, &bundle.sources.data, bundle.revision())
            .map_err(|e| invalid(format!("{path}: {e}")))?;
        Ok(std::sync::Arc::new(engine))
    }
}

/// A WASM bundle: the module compiles and exports the vhgate entrypoints, the Rego source it
/// ships (if any) passes its `test_` rules, and the safety probes hold on the compiled module.
#[cfg(feature = "opa-wasm")]
fn validate_wasm(
    bundle: &Bundle,
    path: &str,
    bytes: &[u8],
) -> Result<Validated, Vec<ValidationProblem>> {
    let engine = super::WasmEngine::prepare(bytes, &bundle.sources.data, bundle.revision())
        .map_err(|e| vec![problem(path, e.to_string())])?;
    let mut notes = Vec::new();
    let mut problems = Vec::new();
    if bundle.sources.modules.is_empty() {
        notes.push(format!(
            "{path}: the bundle carries no Rego source, so no test_ rules could run; only the \
             built-in safety probes checked the compiled policy"
        ));
    } else {
        notes.push(format!(
            "the test_ rules ran on the bundle's Rego source (regorus), not on {path}; the \
             built-in safety probes ran on {path}"
        ));
        problems.extend(test_problems(&bundle.sources));
    }
    problems.extend(safety_problems(&engine, &bundle.sources));
    if problems.is_empty() {
        Ok(Validated {
            engine: std::sync::Arc::new(engine),
            notes,
        })
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BundleSigningConfig;
    use crate::policy::signing::{generate_keypair, key_config};

    /// A tar entry written raw, so names like `/data.json` (as OPA writes them) are possible.
    fn raw_tar(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::default(),
        ));
        for (name, body) in files {
            let mut header = tar::Header::new_old();
            header.set_size(body.len() as u64);
            header.set_mode(0o644);
            header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            header.set_cksum();
            tar.append(&header, *body).expect("append");
        }
        tar.into_inner().and_then(|gz| gz.finish()).expect("tar")
    }

    #[test]
    fn a_bundle_over_the_size_cap_is_refused_not_cut() {
        let manifest: &[u8] = br#"{"revision":"r","rego_version":1}"#;
        let rego = b"package vhgate

allow := false
"
        .to_vec();
        // Past the cap by a tar block, so a cut at the cap lands on a block boundary.
        let padding = vec![b' '; MAX_UNCOMPRESSED as usize];
        let files = [
            (".manifest".to_string(), manifest.to_vec()),
            ("vhgate/policy.rego".to_string(), rego),
            ("vhgate/padding.rego".to_string(), padding),
        ];
        let bytes = write_tar_gz(&files).expect("tar");
        let err = Bundle::from_tar_gz(&bytes).err().map(|e| e.to_string());
        assert!(
            err.as_deref().is_some_and(|e| e.contains("uncompressed")),
            "{err:?}"
        );
    }

    #[test]
    fn opa_style_paths_and_signatures() {
        let manifest: &[u8] = br#"{"revision":"r","rego_version":1}"#;
        let data: &[u8] = br#"{"vhgate":{}}"#;
        let rego: &[u8] = b"package vhgate\n\nallow := false\n";
        let named = [
            (".manifest".to_string(), manifest.to_vec()),
            ("data.json".to_string(), data.to_vec()),
            ("vhgate/policy.rego".to_string(), rego.to_vec()),
        ];
        let (private, public) = generate_keypair("ES256").expect("keypair");
        let sigs = BundleSigner::new(&private, "ES256", "k", None)
            .expect("signer")
            .sign(&named)
            .expect("sign");
        // OPA writes entries with a leading `/` and names them without it in the signature.
        let bytes = raw_tar(&[
            ("/.manifest", manifest),
            ("/data.json", data),
            ("/vhgate/policy.rego", rego),
            ("/.signatures.json", sigs.as_bytes()),
        ]);
        let bundle = Bundle::from_tar_gz(&bytes).expect("bundle");
        assert_eq!(bundle.files, named.to_vec());
        let verifier = BundleVerifier::from_config(&BundleSigningConfig {
            required: true,
            scope: None,
            keys: vec![key_config("k", "ES256", &public)],
        })
        .expect("verifier");
        assert_eq!(
            bundle.verify_signature(&verifier),
            Ok(Verified::Signed { key_id: "k".into() })
        );
        // A file twice, or a signatures file below the root, is refused.
        let twice = raw_tar(&[
            ("/.manifest", manifest),
            ("/vhgate/policy.rego", rego),
            ("vhgate/policy.rego", rego),
        ]);
        assert!(Bundle::from_tar_gz(&twice)
            .err()
            .is_some_and(|e| e.to_string().contains("appears twice")));
        let nested = raw_tar(&[
            ("/.manifest", manifest),
            ("/vhgate/policy.rego", rego),
            ("/x/.signatures.json", sigs.as_bytes()),
        ]);
        assert!(Bundle::from_tar_gz(&nested)
            .err()
            .is_some_and(|e| e.to_string().contains("bundle root")));
    }
}
