#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tresor_fuzz::kms_ciphertext_blob::run(data));
