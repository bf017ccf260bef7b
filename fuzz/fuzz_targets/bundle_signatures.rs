#![no_main]

// The same target as `cargo test --test fuzz bundle_signatures` (see vhgate::fuzz), under libFuzzer.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some(target) = vhgate::fuzz::target("bundle_signatures") {
        let _ = (target.run)(data);
    }
});
