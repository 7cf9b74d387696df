use super::*;

/// Deterministic pseudo-random numbers (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A batch of `rows` rows over `groups` groups: text from a small alphabet (so values repeat
/// and share prefixes, non-ASCII included), NULLs, and a filter with false and NULL rows.
fn batch(rng: &mut Rng, rows: usize, groups: usize) -> (ArrayRef, Vec<usize>, BooleanArray) {
    let alphabet = ["a", "b", "ab", "é", "Mozilla/5.0", "z", ""];
    let text: StringArray = (0..rows)
        .map(|_| {
            let n = (rng.next() % 4) as usize;
            (!rng.next().is_multiple_of(9)).then(|| {
                (0..n)
                    .map(|_| alphabet[(rng.next() % alphabet.len() as u64) as usize])
                    .collect::<String>()
            })
        })
        .collect();
    let group_indices = (0..rows)
        .map(|_| (rng.next() % groups as u64) as usize)
        .collect();
    let filter = (0..rows)
        .map(|_| match rng.next() % 7 {
            0 => None,
            1 => Some(false),
            _ => Some(true),
        })
        .collect();
    (Arc::new(text), group_indices, filter)
}

/// The same, brute force: every counted, non-NULL value of each group, then its min or max.
fn expected(
    batches: &[(ArrayRef, Vec<usize>, Option<BooleanArray>)],
    groups: usize,
    max: bool,
) -> Vec<Option<String>> {
    let mut all: Vec<Vec<String>> = vec![Vec::new(); groups];
    for (text, idx, filter) in batches {
        let text = text.as_string::<i32>();
        for (row, &g) in idx.iter().enumerate() {
            let counted = filter
                .as_ref()
                .is_none_or(|f| f.is_valid(row) && f.value(row));
            if text.is_valid(row) && counted {
                all[g].push(text.value(row).to_owned());
            }
        }
    }
    all.into_iter()
        .map(|v| {
            if max {
                v.into_iter().max()
            } else {
                v.into_iter().min()
            }
        })
        .collect()
}

fn strings(a: &ArrayRef) -> Vec<Option<String>> {
    a.as_string::<i32>()
        .iter()
        .map(|v| v.map(str::to_owned))
        .collect()
}

/// Min and max over several batches, with and without the aggregate's filter, equal the brute
/// force; so does a state merged into another accumulator (a window merging its panes); the
/// size counts every value's bytes and is back to the bare vector once emitted.
#[test]
fn text_min_and_max_agree_with_brute_force_through_batches_and_merges() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let groups = 13;
    for max in [true, false] {
        let batches: Vec<(ArrayRef, Vec<usize>, Option<BooleanArray>)> = (0..6)
            .map(|i| {
                let (t, g, f) = batch(&mut rng, 200, groups);
                (t, g, (i % 2 == 0).then_some(f))
            })
            .collect();
        let want = expected(&batches, groups, max);
        let mut acc = TextMinMax::new(max);
        for (t, g, f) in &batches {
            acc.update_batch(std::slice::from_ref(t), g, f.as_ref(), groups)
                .unwrap();
        }
        assert!(acc.size() > acc.values.capacity() * std::mem::size_of::<Option<String>>());
        // Split in two panes, merged through their states.
        let (first, second) = batches.split_at(3);
        let mut panes: Vec<TextMinMax> = Vec::new();
        for part in [first, second] {
            let mut pane = TextMinMax::new(max);
            for (t, g, f) in part {
                pane.update_batch(std::slice::from_ref(t), g, f.as_ref(), groups)
                    .unwrap();
            }
            panes.push(pane);
        }
        let mut window = TextMinMax::new(max);
        let all: Vec<usize> = (0..groups).collect();
        for pane in &mut panes {
            let state = pane.state(EmitTo::All).unwrap();
            window.merge_batch(&state, &all, groups).unwrap();
        }
        assert_eq!(
            strings(&window.evaluate(EmitTo::All).unwrap()),
            want,
            "merged, max={max}"
        );
        let head = acc.evaluate(EmitTo::First(5)).unwrap();
        let rest = acc.evaluate(EmitTo::All).unwrap();
        let mut got = strings(&head);
        got.extend(strings(&rest));
        assert_eq!(got, want, "max={max}");
        assert_eq!(acc.heap, 0);
        // A batch's rows as states, merged: the same as folding the batch in.
        let (t, g, f) = &batches[0];
        let mut folded = TextMinMax::new(max);
        folded
            .update_batch(std::slice::from_ref(t), g, f.as_ref(), groups)
            .unwrap();
        let mut merged = TextMinMax::new(max);
        let state = merged
            .convert_to_state(std::slice::from_ref(t), f.as_ref())
            .unwrap();
        merged.merge_batch(&state, g, groups).unwrap();
        assert_eq!(
            strings(&merged.evaluate(EmitTo::All).unwrap()),
            strings(&folded.evaluate(EmitTo::All).unwrap())
        );
    }
}
