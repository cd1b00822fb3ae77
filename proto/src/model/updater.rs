//! The ops-updater / ops-meta protocol (`model` of Open-Falcon's ops-common): what an updater reports on
//! `POST /heartbeat` and what the server answers. Keys are the Go structs' JSON tags.

crate::go_struct! {
    /// One agent as found on the host.
    pub struct RealAgent => "model.RealAgent" {
        /// The agent's directory name under the updater's directory (`falcon-agent`).
        pub name: String = "name",
        /// The content of its `.version` file, trimmed.
        pub version: String = "version",
        /// The trimmed output of `./control status` (`started` or `stoped` by the contract), or the error.
        pub status: String = "status",
        /// Unix seconds of the report.
        pub timestamp: i64 = "timestamp",
    }
}

crate::go_struct! {
    /// The heartbeat an updater sends.
    pub struct HeartbeatRequest => "model.HeartbeatRequest" {
        /// The host's name.
        pub hostname: String = "hostname",
        /// Every agent directory with a `.version` and a `<version>/control`.
        pub real_agents: Option<Vec<RealAgent>> = "realAgents" as "[]*model.RealAgent",
    }
}

crate::go_struct! {
    /// One agent as the server wants it.
    pub struct DesiredAgent => "model.DesiredAgent" {
        /// Its directory name (`falcon-agent`).
        pub name: String = "name",
        /// The version to run.
        pub version: String = "version",
        /// Base URL of tarballs: the file is `{tarball}/{name}-{version}.tar.gz`.
        pub tarball: String = "tarball",
        /// Base URL of the `.md5` file; empty: the tarball's.
        pub md5: String = "md5",
        /// `start` (install if needed and run this version, stopping the old one) or `stop`; anything else is
        /// ignored.
        pub cmd: String = "cmd",
    }
}

crate::go_struct! {
    /// The server's answer.
    pub struct HeartbeatResponse => "model.HeartbeatResponse" {
        /// Non-empty: the server refused; nothing is done.
        pub error_message: String = "errorMessage",
        /// What to run.
        pub desired_agents: Option<Vec<DesiredAgent>> = "desiredAgents" as "[]*model.DesiredAgent",
    }
}

impl DesiredAgent {
    /// `{name}-{version}.tar.gz`.
    pub fn tarball_file(&self) -> String {
        format!("{}-{}.tar.gz", self.name, self.version)
    }

    /// Where the tarball is.
    pub fn tarball_url(&self) -> String {
        format!("{}/{}", self.tarball, self.tarball_file())
    }

    /// Where its `md5sum` line is: `{md5 or tarball}/{file}.md5`.
    pub fn md5_url(&self) -> String {
        let base = if self.md5.is_empty() { &self.tarball } else { &self.md5 };
        format!("{base}/{}.md5", self.tarball_file())
    }

    /// Where its SHA-256 may be (ours, optional): next to the `.md5`.
    pub fn sha256_url(&self) -> String {
        let base = if self.md5.is_empty() { &self.tarball } else { &self.md5 };
        format!("{base}/{}.sha256", self.tarball_file())
    }

    /// Whether the name and version can be used as directory names: no separators, no `..`, nothing hidden.
    pub fn safe_names(&self) -> Result<(), String> {
        for (what, v) in [("name", &self.name), ("version", &self.version)] {
            if v.is_empty() || v.starts_with('.') || v.contains(['/', '\\', '\0']) || v.len() > 128 {
                return Err(format!("desired agent {what} {v:?} cannot be a directory name"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_of_the_go_model() {
        // As Go's json.Marshal writes them (field order of the Go structs).
        let req = HeartbeatRequest {
            hostname: "web-01".into(),
            real_agents: Some(vec![RealAgent {
                name: "falcon-agent".into(),
                version: "5.1.0".into(),
                status: "started".into(),
                timestamp: 1_795_261_500,
            }]),
        };
        assert_eq!(
            String::from_utf8(crate::gojson::to_vec(&req).unwrap()).unwrap(),
            r#"{"hostname":"web-01","realAgents":[{"name":"falcon-agent","version":"5.1.0","status":"started","timestamp":1795261500}]}"#
        );
        let empty = HeartbeatRequest { hostname: "h".into(), real_agents: Some(vec![]) };
        assert_eq!(
            String::from_utf8(crate::gojson::to_vec(&empty).unwrap()).unwrap(),
            r#"{"hostname":"h","realAgents":[]}"#
        );
        // ops-meta's answer, nil agents included.
        let r: HeartbeatResponse = crate::gojson::from_slice(
            br#"{"errorMessage":"","desiredAgents":[{"name":"falcon-agent","version":"0.0.1","tarball":"http://11.11.11.11:8888/falcon","md5":"","cmd":"start"}]}"#,
        )
        .unwrap();
        let d = &r.desired_agents.as_ref().unwrap()[0];
        assert_eq!(d.tarball_url(), "http://11.11.11.11:8888/falcon/falcon-agent-0.0.1.tar.gz");
        assert_eq!(d.md5_url(), "http://11.11.11.11:8888/falcon/falcon-agent-0.0.1.tar.gz.md5");
        let r: HeartbeatResponse = crate::gojson::from_slice(br#"{"errorMessage":"","desiredAgents":null}"#).unwrap();
        assert!(r.desired_agents.is_none());
        let d = DesiredAgent { md5: "http://m/x".into(), ..d.clone() };
        assert_eq!(d.md5_url(), "http://m/x/falcon-agent-0.0.1.tar.gz.md5");
        assert_eq!(d.sha256_url(), "http://m/x/falcon-agent-0.0.1.tar.gz.sha256");
    }

    #[test]
    fn names_that_would_leave_the_directory_are_refused() {
        let ok = DesiredAgent { name: "falcon-agent".into(), version: "1.2.3".into(), ..Default::default() };
        assert!(ok.safe_names().is_ok());
        for (n, v) in [("..", "1"), ("a/b", "1"), ("a", "../x"), ("a", ""), (".hidden", "1"), ("a", "1/2")] {
            let d = DesiredAgent { name: n.into(), version: v.into(), ..Default::default() };
            assert!(d.safe_names().is_err(), "{n} {v}");
        }
    }
}
