#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tresor_fuzz::gateway_wire::run(data));
