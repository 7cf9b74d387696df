//! Every decoder (Kong, Envoy, NGINX, and `auto`) on arbitrary bytes: no panic, and every
//! line is accounted for as rows or dead letters.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    gatewatch_ingest::fuzz::decode_bytes(data);
});
