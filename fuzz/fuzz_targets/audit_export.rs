#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tresor_fuzz::audit_export::run(data));
