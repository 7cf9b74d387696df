//! Rule files, parameter overrides and durations on arbitrary text: no panic, and errors
//! point inside the text.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    gatewatch_rules::fuzz::parse_rule(data);
});
