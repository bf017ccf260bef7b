//! Fuzz targets for every parser that sees outside bytes (issue 12): partner tokens and their
//! claims, the API's request bodies, query strings, path segments and headers, policy bundle
//! archives and their signatures, C2SP signed notes, checkpoints and verifier keys, the
//! witness's `add-checkpoint` body, and the configuration file.
//!
//! Each target takes `&[u8]`, drives the parser the server itself uses, and panics when an
//! invariant breaks (a refusal must be the typed error, a token built from random bytes must
//! never verify, what parses must re-encode to the same thing, ...). It returns a short label
//! of the outcome, which guides the stable-Rust mutational [`engine`]. `tests/fuzz.rs` replays
//! the checked-in corpus (`fuzz/corpus/<target>/`) and searches for a fixed time per target;
//! the cargo-fuzz crate in `fuzz/` calls the same functions under libFuzzer.
//!
//! Compiled into the library (not behind a feature) so `cargo test` and clippy always build
//! it, and so the integration test and the cargo-fuzz crate can reach the crate-private parse
//! functions through it; it holds no server state and nothing in the server calls it.

pub mod engine;
pub mod keys;
mod targets;

pub use targets::{
    fuzz_checkpoint, fuzz_leaves, signed_files, witness_dir, PARTNER_OIN, THUMBPRINT, WITNESS_NOW,
    WITNESS_STATE_SIZE,
};

/// One fuzz target: a name (also its corpus folder) and the function that runs an input.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    pub name: &'static str,
    /// Runs one input; panics when an invariant breaks; returns the outcome label.
    pub run: fn(&[u8]) -> String,
}

/// Every target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "token",
        run: targets::token,
    },
    Target {
        name: "claims",
        run: targets::claims,
    },
    Target {
        name: "api_body",
        run: crate::api::fuzzing::body,
    },
    Target {
        name: "api_query",
        run: crate::api::fuzzing::query,
    },
    Target {
        name: "proof_query",
        run: crate::api::fuzzing::proof_query,
    },
    Target {
        name: "api_path",
        run: crate::api::fuzzing::path_and_headers,
    },
    Target {
        name: "domain",
        run: targets::domain,
    },
    Target {
        name: "bundle",
        run: targets::bundle,
    },
    Target {
        name: "bundle_signatures",
        run: targets::bundle_signatures,
    },
    Target {
        name: "canonical_json",
        run: targets::canonical_json,
    },
    Target {
        name: "checkpoint",
        run: targets::checkpoint,
    },
    Target {
        name: "vkey",
        run: targets::vkey,
    },
    Target {
        name: "witness",
        run: targets::witness,
    },
    Target {
        name: "config",
        run: targets::config,
    },
];

/// The target named `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

/// Phrases after which error messages echo the input unquoted (or quoted with the input's own
/// quotes): a label stops there.
const ECHOES: &[&str] = &[
    "unknown field",
    "unknown variant",
    "invalid type: string",
    "invalid value: string",
    "unknown query parameter",
    "token algorithm",
];

/// The gist of an error message for an outcome label: cut where echoed input starts, quoted
/// parts left out, digit runs (positions, sizes) folded to `#`, up to the first line break, at
/// most 60 characters.
pub fn gist(message: &str) -> String {
    let mut message = message;
    for echo in ECHOES {
        if let Some(i) = message.find(echo) {
            message = &message[..i + echo.len()];
        }
    }
    let mut out = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut in_digits = false;
    for c in message.chars() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        if matches!(c, '"' | '`') {
            quote = Some(c);
            continue;
        }
        if c.is_ascii_digit() {
            if !in_digits {
                out.push('#');
            }
            in_digits = true;
            continue;
        }
        in_digits = false;
        if c == '\n' {
            break;
        }
        out.push(c);
        if out.len() >= 60 {
            break;
        }
    }
    out
}
