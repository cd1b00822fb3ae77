//! Go's HTTP envelopes (`RenderDataJson`, `RenderMsgJson`) as bytes, for the three binaries' HTTP APIs.

use serde::Serialize;

/// The Content-Type Go sets on both envelopes.
pub const JSON_CONTENT_TYPE: &str = "application/json; charset=UTF-8";

#[derive(Serialize)]
struct Dto<'a, T: Serialize> {
    msg: &'a str,
    data: &'a T,
}

#[derive(Serialize)]
struct Msg<'a> {
    msg: &'a str,
}

/// `{"msg":"success","data":<v>}` with Go's encoding; an error for an unencodable value (NaN).
pub fn data_json<T: Serialize>(v: &T) -> Result<Vec<u8>, serde_json::Error> {
    falcon_proto::gojson::to_vec(&Dto { msg: "success", data: v })
}

/// `{"msg":"<m>"}`.
pub fn msg_json(m: &str) -> Vec<u8> {
    falcon_proto::gojson::to_vec(&Msg { msg: m }).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_envelopes() {
        assert_eq!(data_json(&vec!["vm"]).unwrap(), br#"{"msg":"success","data":["vm"]}"#);
        assert_eq!(data_json(&None::<Vec<u8>>).unwrap(), br#"{"msg":"success","data":null}"#);
        assert_eq!(msg_json("not <prepared>"), br#"{"msg":"not \u003cprepared\u003e"}"#);
    }
}
