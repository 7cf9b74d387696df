//! Records through the hop, without a broker: what a record carries, duplicates, resume points.
use super::*;
use arrow::array::{Int32Array, StringArray, TimestampMillisecondArray};

fn shuffle() -> Shuffle {
    let mut cols = ColumnSet::required();
    cols.insert(Column::UserAgent);
    Shuffle {
        key: KeyGroup::Column(Column::UserAgent),
        column: Some(Column::UserAgent),
        topic: "g-repartition-user_agent".into(),
        partitions: 4,
        rules: vec![0],
        schema: cols.schema(),
    }
}

/// Three rows of input partition `in/1`: the third released with the second.
fn input() -> TaskInput {
    let batch = RecordBatch::try_from_iter([
        (
            "event_time",
            Arc::new(
                TimestampMillisecondArray::from(vec![1_000, 2_000, 1_500]).with_timezone("UTC"),
            ) as ArrayRef,
        ),
        (
            "source_name",
            Arc::new(StringArray::from(vec!["in"; 3])) as _,
        ),
        (
            "source_partition",
            Arc::new(Int32Array::from(vec![1; 3])) as _,
        ),
        (
            "source_offset",
            Arc::new(Int64Array::from(vec![10, 11, 9])) as _,
        ),
        (
            "user_agent",
            Arc::new(StringArray::from(vec!["a", "b", "c"])) as _,
        ),
        ("status", Arc::new(Int32Array::from(vec![401; 3])) as _),
    ])
    .unwrap();
    TaskInput {
        upstream: TopicPartition::new("in", 1),
        batch,
        times: Arc::from(vec![1_000, 2_000, 1_500]),
        wm_before: Arc::from(vec![0, 500, 500]),
        wm_after: 700,
        selection: None,
        masks: None,
        last_offset: Some(11),
        positions: Some(Arc::from(vec![10, 11, 11])),
        ledger: None,
    }
}

fn record(s: &Shuffle, input: &TaskInput, rows: Vec<u32>, offset: i64) -> Shuffled {
    let positions = input.positions.clone().unwrap();
    Shuffled {
        tp: TopicPartition::new(s.topic.as_str(), 2),
        offset,
        payload: encode(s, input, &positions, &UInt32Array::from(rows), false).unwrap(),
    }
}

#[test]
fn a_record_carries_rows_watermarks_and_source_and_resent_rows_are_dropped() {
    let s = shuffle();
    let input = input();
    let mut d = Downstream::default();
    let rtp = TopicPartition::new(s.topic.as_str(), 2);
    d.start(&rtp, s.key, Marks::new());

    let (got, idle) = d
        .accept(&record(&s, &input, vec![0, 2], 100))
        .unwrap()
        .unwrap();
    assert!(!idle);
    assert_eq!(got.upstream, TopicPartition::new("in", 1));
    assert_eq!(got.batch.num_rows(), 2);
    assert_eq!(&*got.times, &[1_000, 1_500]);
    assert_eq!(&*got.wm_before, &[0, 500]);
    assert_eq!(got.wm_after, 700);
    assert_eq!(got.ledger, Some((rtp.clone(), 100)));
    // Projected to the shuffle's columns: the rows' source offsets stay theirs.
    assert!(got.batch.column_by_name("status").is_none());
    let offsets = got.batch.column_by_name("source_offset").unwrap();
    assert_eq!(offsets.as_primitive::<Int64Type>().values(), &[10, 9]);
    assert_eq!(got.selection.unwrap()[&s.key].as_ref(), &[0, 1]);

    // The same rows again (an upstream replayed after a crash): dropped, but the
    // watermark still counts.
    let (again, _) = d
        .accept(&record(&s, &input, vec![0, 2], 101))
        .unwrap()
        .unwrap();
    assert_eq!(again.batch.num_rows(), 0);
    assert_eq!(again.wm_after, 700);
    assert_eq!(d.duplicates, 2);

    // A watermark alone.
    let (marker, _) = d.accept(&record(&s, &input, vec![], 102)).unwrap().unwrap();
    assert_eq!((marker.batch.num_rows(), marker.wm_after), (0, 700));

    // Resuming at a record restores the marks from just before it.
    let (at, marks) = d.resume_point(&rtp, 100).unwrap();
    assert_eq!((at, marks.len()), (100, 0));
    let (at, marks) = d.resume_point(&rtp, 101).unwrap();
    assert_eq!(at, 101);
    assert_eq!(marks_from_json(&marks_to_json(&marks)), marks);
    assert_eq!(marks[&TopicPartition::new("in", 1)], 11);
}

#[test]
fn records_of_partitions_not_started_here_are_ignored_and_garbage_is_an_error() {
    let s = shuffle();
    let mut d = Downstream::default();
    assert!(d
        .accept(&record(&s, &input(), vec![0], 1))
        .unwrap()
        .is_none());
    let rtp = TopicPartition::new(s.topic.as_str(), 2);
    d.start(&rtp, s.key, Marks::new());
    let bad = Shuffled {
        tp: rtp,
        offset: 5,
        payload: b"not arrow".to_vec(),
    };
    let e = d.accept(&bad).unwrap_err().to_string();
    assert!(e.contains("offset 5"), "{e}");
}
