//! The two tiny types every service uses.

crate::go_struct! {
    /// The reply of Ping, ReportStatus, Judge.Send and Graph.Send: `{"code":0}` (0 ok, 1 bad request).
    pub struct SimpleRpcResponse => "model.SimpleRpcResponse" {
        /// 0 for success.
        pub code: i64 = "code" as "int",
    }
}

crate::go_struct! {
    /// The empty argument of Ping, TrustableIps, GetStrategies and GetExpressions: `{}`.
    pub struct NullRpcRequest => "model.NullRpcRequest" {}
}
