use super::*;
use crate::point::CounterType;

fn pt(i: usize) -> Arc<Point> {
    Arc::new(Point {
        endpoint: Arc::from(format!("host-{}", i % 7).as_str()),
        metric: "m".into(),
        tags: format!("i={i}"),
        value: i as f64,
        timestamp: 1_700_000_000 + i as i64,
        step: 60,
        counter_type: CounterType::Gauge,
    })
}

fn values(v: &[Arc<Point>]) -> Vec<usize> {
    v.iter().map(|p| p.value as usize).collect()
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("falcon-spool-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn files(d: &Path) -> usize {
    std::fs::read_dir(d)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "spool"))
        .count()
}

#[test]
fn keeps_order_across_segments_and_deletes_what_was_read() {
    let d = dir("order");
    let s = Spool::open_with_segments(&d, 1 << 30, 1000).unwrap();
    let items: Vec<_> = (0..500).map(pt).collect();
    assert_eq!(s.lock().append(&items[..300]), 0);
    assert_eq!(s.lock().append(&items[300..]), 0);
    assert_eq!(s.len(), 500);
    assert!(files(&d) > 10, "small segments: {}", files(&d));
    let mut got = Vec::new();
    got.extend(s.lock().read(123));
    assert!(files(&d) < 45, "read segments are deleted");
    got.extend(s.lock().read(10_000));
    assert_eq!(values(&got), (0..500).collect::<Vec<_>>());
    assert_eq!((s.len(), s.stats().bytes, files(&d)), (0, 0, 0));
    // Appending after everything was read starts a fresh segment.
    s.lock().append(&[pt(9)]);
    assert_eq!(values(&s.lock().read(5)), vec![9]);
    let st = s.stats();
    assert_eq!((st.spilled, st.replayed, st.dropped), (501, 501, 0));
}

#[test]
fn refuses_past_the_byte_bound_and_counts_it() {
    let d = dir("bound");
    let mut one = Vec::new();
    record::encode(&pt(1), &mut one);
    let s = Spool::open_with_segments(&d, one.len() as u64 * 10, 1 << 20).unwrap();
    let items: Vec<_> = (0..25).map(pt).collect();
    assert_eq!(s.lock().append(&items), 15);
    assert_eq!((s.len(), s.stats().dropped), (10, 15));
    assert!(s.stats().bytes <= one.len() as u64 * 10);
    assert_eq!(values(&s.lock().read(100)), (0..10).collect::<Vec<_>>());
    assert_eq!(s.lock().append(&items[..3]), 0, "room again once read");
}

#[test]
fn survives_a_restart_without_losing_or_repeating() {
    let d = dir("restart");
    {
        let s = Spool::open_with_segments(&d, 1 << 30, 2000).unwrap();
        s.lock().append(&(0..300).map(pt).collect::<Vec<_>>());
        assert_eq!(values(&s.lock().read(100)), (0..100).collect::<Vec<_>>());
        // The memory queue at shutdown: older than what is on disk.
        assert_eq!(s.lock().prepend(&(1000..1010).map(pt).collect::<Vec<_>>()), 0);
        s.sync();
    }
    let s = Spool::open_with_segments(&d, 1 << 30, 2000).unwrap();
    assert_eq!(s.len(), 210);
    let got = values(&s.lock().read(1000));
    let want: Vec<usize> = (1000..1010).chain(100..300).collect();
    assert_eq!(got, want);
}

#[test]
fn a_torn_tail_is_cut_and_damage_costs_only_its_segment() {
    let d = dir("damage");
    {
        let s = Spool::open_with_segments(&d, 1 << 30, 600).unwrap();
        s.lock().append(&(0..40).map(pt).collect::<Vec<_>>());
    }
    let mut segs: Vec<PathBuf> = std::fs::read_dir(&d).unwrap().map(|e| e.unwrap().path()).collect();
    segs.sort();
    assert!(segs.len() >= 3);
    // A crash in the middle of a write leaves half a record at the end of the newest segment.
    let last = segs.last().unwrap();
    let mut f = OpenOptions::new().append(true).open(last).unwrap();
    f.write_all(&[9, 0, 0, 0, 1, 2]).unwrap();
    // A flipped byte in the payload of the first record of the second segment.
    let mut b = std::fs::read(&segs[1]).unwrap();
    b[record::HEADER + 2] ^= 0xff;
    std::fs::write(&segs[1], &b).unwrap();

    let s = Spool::open_with_segments(&d, 1 << 30, 600).unwrap();
    let in_first = s.lock().inner.segments[0].records;
    s.lock().append(&[pt(99)]);
    let got = values(&s.lock().read(1000));
    assert_eq!(&got[..in_first], &(0..in_first).collect::<Vec<_>>()[..]);
    assert_eq!(got.last(), Some(&99), "appends after the cut tail are whole");
    assert!(got.len() < 41 && got.len() > in_first + 1);
    assert_eq!(s.len(), 0);
    assert_eq!(files(&d), 0);
}

#[test]
fn a_bad_directory_is_an_error_naming_it() {
    let d = dir("notadir");
    std::fs::create_dir_all(d.parent().unwrap()).unwrap();
    std::fs::write(&d, b"file").unwrap();
    let e = Spool::open(&d, 1 << 20).unwrap_err().to_string();
    assert!(e.contains("falcon-spool-test"), "{e}");
    let _ = std::fs::remove_file(&d);
}
