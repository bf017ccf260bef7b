#![no_main]

// The same target as `cargo test --test fuzz vkey` (see vhgate::fuzz), under libFuzzer.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some(target) = vhgate::fuzz::target("vkey") {
        let _ = (target.run)(data);
    }
});
