#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tresor_fuzz::json_decode::run(data));
