use super::*;

/// Feeds `input` in pieces of `piece` bytes; returns the end of the value, or the error.
fn scan(input: &[u8], top: Top, piece: usize) -> Result<Option<u64>, SyntaxError> {
    let mut s = Scanner::new(top);
    let mut done = 0u64;
    for chunk in input.chunks(piece.max(1)) {
        if let Some(end) = s.feed(chunk)? {
            return Ok(Some(done + end as u64));
        }
        done += chunk.len() as u64;
    }
    Ok(if s.finish()? { Some(done) } else { None })
}

#[test]
fn valid_values_end_where_they_end_however_they_arrive() {
    let docs: &[&[u8]] = &[
        br#"{"method":"Transfer.Update","params":[[{"endpoint":"h","metric":"m","value":-1.5e+3,"tags":"a=b"}]],"id":0}"#,
        br#"  {"a" : [ true , false , null , 0 , -0.0 , 12E-2 , "\u00e9\"\\\/\b\f\n\r\t" ] , "b" : { } }"#,
        b"null",
        br#"[[],{},"",0]"#,
    ];
    for doc in docs {
        let end = doc.len() as u64;
        for piece in [1, 2, 3, 7, 64, 4096] {
            let mut with_tail = doc.to_vec();
            with_tail.extend_from_slice(b"{garbage after the value is not looked at");
            assert_eq!(
                scan(&with_tail, Top::Any, piece),
                Ok(Some(end)),
                "{} piece {piece}",
                String::from_utf8_lossy(doc)
            );
        }
    }
    // A top-level number ends at the end of input, or at the byte after it.
    assert_eq!(scan(b"12.5", Top::Any, 1), Ok(Some(4)));
    assert_eq!(scan(b"12.5 ", Top::Any, 1), Ok(Some(4)));
    assert_eq!(scan(b"  ", Top::Any, 1), Ok(None));
}

#[test]
fn malformed_prefixes_fail_at_gos_byte() {
    let deep = [b'['].repeat(MAX_DEPTH + 1);
    let cases: Vec<(&[u8], u64, &str)> = vec![
        (b"{x", 1, "looking for beginning of object key string"),
        (b"{,}", 1, "looking for beginning of object key string"),
        (b"}", 0, "looking for beginning of value"),
        (br#"{"a" 1}"#, 5, "after object key"),
        (br#"{"a"::1}"#, 5, "looking for beginning of value"),
        (br#"{"a":1 "b"}"#, 7, "after object key:value pair"),
        (br#"{"a":1,}"#, 7, "looking for beginning of object key string"),
        (b"[1,]", 3, "looking for beginning of value"),
        (b"[1 2]", 3, "after array element"),
        (b"[1}", 2, "after array element"),
        (br#"{"a":1]"#, 6, "after object key:value pair"),
        (br#"{"a":tru }"#, 8, "in literal true (expecting 'e')"),
        (br#"{"a":fals}"#, 9, "in literal false (expecting 'e')"),
        (br#"{"a":nulL}"#, 8, "in literal null (expecting 'l')"),
        (br#"{"a":nx}"#, 6, "in literal null (expecting 'u')"),
        (br#"{"a":-}"#, 6, "in numeric literal"),
        (br#"{"a":-x}"#, 6, "in numeric literal"),
        (br#"{"a":01}"#, 6, "after object key:value pair"),
        (br#"{"a":1.}"#, 7, "after decimal point in numeric literal"),
        (br#"{"a":1e}"#, 7, "in exponent of numeric literal"),
        (br#"{"a":1e+}"#, 8, "in exponent of numeric literal"),
        (br#"{"a":.5}"#, 5, "looking for beginning of value"),
        (br#"{"a":+5}"#, 5, "looking for beginning of value"),
        (br#"{"a":"\x"}"#, 7, "in string escape code"),
        (br#"{"a":"\u12g4"}"#, 10, "in \\u hexadecimal character escape"),
        (b"{\"a\":\"\x01\"}", 6, "in string literal"),
        (b"{\"a\n\":1}", 3, "in string literal"),
        (b"{\"a\":'x'}", 5, "looking for beginning of value"),
        (&deep, MAX_DEPTH as u64, "exceeded max depth"),
    ];
    for (input, offset, context) in cases {
        for piece in [1, 3, 4096] {
            let e = scan(input, Top::Any, piece).expect_err(&String::from_utf8_lossy(input));
            assert_eq!((e.offset, e.context), (offset, context), "{} piece {piece}", String::from_utf8_lossy(input));
            assert_eq!(e.byte, input[offset as usize]);
        }
    }
}

#[test]
fn every_truncation_of_a_request_waits_and_every_bad_byte_fails_at_once() {
    let doc = br#"{"method":"Agent.ReportStatus","params":[{"Hostname":"h-1","IP":"10.0.0.1","AgentVersion":"5.1.2","PluginVersion":""}],"id":12}"#;
    for cut in 0..doc.len() {
        assert_eq!(scan(&doc[..cut], Top::ObjectOrNull, 5), Ok(None), "prefix of {cut} bytes is incomplete, not wrong");
    }
    // A control byte in place of any byte is refused at that byte: nothing after it is needed.
    for at in 0..doc.len() {
        let mut bad = doc[..=at].to_vec();
        bad[at] = 0x01;
        let e = scan(&bad, Top::ObjectOrNull, 4096).expect_err("a control byte is never valid JSON");
        assert_eq!(e.offset, at as u64);
    }
}

#[test]
fn json_rpc_requests_are_objects_or_null() {
    assert_eq!(scan(b"null", Top::ObjectOrNull, 1), Ok(Some(4)));
    let e = scan(b"[1]", Top::ObjectOrNull, 1).unwrap_err();
    assert_eq!((e.offset, e.context), (0, "looking for beginning of object"));
    let e = scan(b"nul!", Top::ObjectOrNull, 1).unwrap_err();
    assert_eq!((e.offset, e.byte), (3, b'!'));
    let e = scan(b" \n GET / HTTP/1.1", Top::ObjectOrNull, 1).unwrap_err();
    assert_eq!((e.offset, e.byte), (3, b'G'));
}

#[test]
fn the_first_nested_container_end_is_reported() {
    let doc = br#"  {"method":"x","params":[{"a":[1]}],"id":1}"#;
    let mut s = Scanner::new(Top::ObjectOrNull);
    for (k, b) in doc.iter().enumerate() {
        if let Some(end) = s.feed(std::slice::from_ref(b)).unwrap() {
            assert_eq!((k, end), (doc.len() - 1, 1));
        }
    }
    let params_end = doc.iter().position(|&b| b == b']').unwrap() + 1;
    let params_end = params_end + doc[params_end..].iter().position(|&b| b == b']').unwrap() + 1;
    assert_eq!(s.first_nested_end(), Some((params_end - 2) as u64), "counted from the value's first byte");
    s.reset();
    assert!(s.idle());
    assert_eq!(s.feed(b"{}"), Ok(Some(2)));
    assert_eq!(s.first_nested_end(), None);
}
