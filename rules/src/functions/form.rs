//! Whether a client loaded a form before it posted from it. A browser shows a form (`GET` of its
//! page) before anyone can submit it, and names that page as `Referer` when it does; a bot
//! replaying a captured login request posts with the captured `Referer` and never loads the
//! page. `login-form-never-loaded` uses `form_never_loaded` (stateful, SQL filters only,
//! learning per rule and task like `endpoint_is_new`): what a client loaded is remembered
//! across windows, so a form loaded at 12:09:50 and posted at 12:10:10 is one visit whatever
//! the window boundaries.

use std::sync::{Arc, Mutex};

use arrow::array::{Array, AsArray, BooleanArray};
use arrow::datatypes::{DataType, Int64Type, TimeUnit};
use datafusion::logical_expr::{create_udf, ColumnarValue, ScalarUDF, Volatility};

use super::EndpointLearner;

/// The name of the stateful helper: filters calling it are evaluated per task, in record order,
/// with a learner of their own (see `crate::filter`).
pub const FORM_NEVER_LOADED: &str = "form_never_loaded";

/// Client keys longer than this are cut (an address is at most 45 bytes, a host name 253; the
/// column holds whatever a log wrote there, a forwarded header's value too). Two values cut to
/// one share what they loaded: a client can only make its own posts look loaded, as loading
/// the form would.
const MAX_CLIENT: usize = 256;

/// Whether a row posted from a form (`from_form`) that `client` did not load (`load`) within
/// `within_ms` before `t`; then remembers the row's load. A row may be both: a login's answer is
/// the form again (a typo, or a login widget's failure shown on the login page), so the next
/// post from that page is from a form the client loaded. A load later than the post (records
/// out of order) counts as loaded.
/// `key` is scratch space for the learner's key, reused from row to row.
pub fn never_loaded(
    l: &mut EndpointLearner,
    key: &mut String,
    client: &str,
    t: i64,
    load: bool,
    from_form: bool,
    within_ms: i64,
) -> bool {
    key.clear();
    key.push_str("form ");
    key.push_str(cut(client));
    let loaded = l
        .value(key)
        .is_some_and(|last| t.saturating_sub(last) <= within_ms);
    if load {
        l.set(key, t);
    }
    from_form && !loaded
}

/// `s` cut to [`MAX_CLIENT`] bytes at a character boundary.
fn cut(s: &str) -> &str {
    &s[..s.floor_char_boundary(MAX_CLIENT)]
}

/// `form_never_loaded(client, event_time, load, from_form, within_ms)`, answering from
/// `learner`: stateful (volatile), so every task gets its own instance bound to its own learner.
/// A null client or time is null (nothing learned); a null `load` or `from_form` is false.
pub fn form_never_loaded_udf(learner: Arc<Mutex<EndpointLearner>>) -> ScalarUDF {
    create_udf(
        FORM_NEVER_LOADED,
        vec![
            DataType::Utf8,
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            DataType::Boolean,
            DataType::Boolean,
            DataType::Int64,
        ],
        DataType::Boolean,
        Volatility::Volatile,
        Arc::new(move |args| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let clients = arrow::compute::cast(&arrays[0], &DataType::Utf8)?;
            let clients = clients.as_string::<i32>();
            let times = arrow::compute::cast(&arrays[1], &DataType::Int64)?;
            let times = times.as_primitive::<Int64Type>();
            let (loads, forms) = (arrays[2].as_boolean(), arrays[3].as_boolean());
            let within = arrow::compute::cast(&arrays[4], &DataType::Int64)?;
            let within = within.as_primitive::<Int64Type>();
            let flag = |a: &BooleanArray, i: usize| a.is_valid(i) && a.value(i);
            let mut l = EndpointLearner::lock(&learner)?;
            let mut key = String::new();
            let out: BooleanArray = (0..clients.len())
                .map(|i| {
                    if clients.is_null(i) || times.is_null(i) {
                        return None;
                    }
                    let within = if within.is_null(i) {
                        0
                    } else {
                        within.value(i)
                    };
                    Some(never_loaded(
                        &mut l,
                        &mut key,
                        clients.value(i),
                        times.value(i),
                        flag(loads, i),
                        flag(forms, i),
                        within,
                    ))
                })
                .collect();
            Ok(ColumnarValue::Array(Arc::new(out)))
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    /// Asks one learner about `(client, time, load, from_form, reported?)` rows in order.
    fn replay(rows: &[(&str, i64, bool, bool, bool)]) {
        let (mut l, mut k) = (EndpointLearner::default(), String::new());
        for &(client, t, load, from_form, want) in rows {
            let got = never_loaded(&mut l, &mut k, client, t, load, from_form, HOUR);
            assert_eq!(got, want, "{client} at {t}");
        }
    }

    #[test]
    fn a_post_from_a_form_the_client_loaded_within_the_hour_is_not_reported() {
        replay(&[
            // A person: the form, a typo (the answer is the form again), the right password.
            ("198.51.100.1", 0, true, false, false),
            ("198.51.100.1", 20_000, true, true, false),
            ("198.51.100.1", 31_000, true, true, false),
            // A login widget on the home page fails; the retry comes from the login page it
            // shows.
            ("198.51.100.2", 0, true, false, false),
            ("198.51.100.2", 9_000, true, true, false),
            // Records out of order: the post logged before the load.
            ("198.51.100.2", 5_000, true, true, false),
        ]);
    }

    #[test]
    fn a_post_from_a_form_never_loaded_or_loaded_long_ago_is_reported_once_per_load() {
        replay(&[
            ("203.0.113.1", 0, true, true, true),
            // Its answer was the form: the bot's next post names it too, and is not reported.
            ("203.0.113.1", 1_000, true, true, false),
            ("203.0.113.9", 0, true, false, false),
            ("203.0.113.9", 2 * HOUR, true, true, true),
            // Another client's load is not this one's; hostile times do not overflow.
            ("203.0.113.2", 1_000, true, true, true),
            ("203.0.113.3", i64::MIN, true, false, false),
            ("203.0.113.3", i64::MAX, true, true, true),
        ]);
    }

    #[test]
    fn client_keys_are_bounded() {
        let long = "é".repeat(300);
        // The same first 256 bytes are the same client.
        let other = format!("{}x", "é".repeat(200));
        replay(&[
            (&long, 0, true, false, false),
            (&other, 1, false, true, false),
        ]);
        assert_eq!(cut(&long).len(), 256);
        assert_eq!(cut(&format!("a{}", "é".repeat(200))).len(), 255);
    }
}
