#![no_main]

// The same target as `cargo test --test fuzz api_query` (see vhgate::fuzz), under libFuzzer.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some(target) = vhgate::fuzz::target("api_query") {
        let _ = (target.run)(data);
    }
});
