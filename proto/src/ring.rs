//! The consistent-hash ring of Go's `toolkits/consistent`, as falcon-transfer builds it.
//!
//! Members are node *names* (`judge-00`), added in sorted order; each gets `replicas` points at
//! `crc32(decimal index ++ name)`; when two points collide the later node wins; a key goes to the first point
//! strictly above `crc32(key)`, wrapping to the first. Any difference moves series to other shards than a Go
//! transfer would pick, so this is tested against vectors computed by the Go code.

/// Why a ring cannot be built or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RingError {
    /// No members (Go: `empty circle`).
    #[error("empty circle")]
    Empty,
    /// Zero replicas would give an empty circle too.
    #[error("replicas must be at least 1")]
    NoReplicas,
}

/// An immutable ring: sorted points, each naming a member by index.
#[derive(Debug, Clone)]
pub struct HashRing {
    points: Vec<(u32, u32)>,
    nodes: Vec<String>,
}

impl HashRing {
    /// Builds the ring Go builds for these node names (sorted here, as `KeysOfMap` does) with `replicas`
    /// points each. Duplicate names count once.
    pub fn new<I, S>(nodes: I, replicas: usize) -> Result<Self, RingError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        if replicas == 0 {
            return Err(RingError::NoReplicas);
        }
        let mut names: Vec<String> = nodes.into_iter().map(Into::into).collect();
        names.sort();
        names.dedup();
        if names.is_empty() {
            return Err(RingError::Empty);
        }
        // Go's circle is a map: a later node overwrites an earlier one's point.
        let mut circle = std::collections::HashMap::with_capacity(names.len() * replicas);
        let mut key = String::with_capacity(64);
        for (idx, name) in names.iter().enumerate() {
            for i in 0..replicas {
                key.clear();
                key.push_str(&i.to_string());
                key.push_str(name);
                circle.insert(crc32fast::hash(key.as_bytes()), idx as u32);
            }
        }
        let mut points: Vec<(u32, u32)> = circle.into_iter().collect();
        points.sort_unstable_by_key(|p| p.0);
        Ok(HashRing { points, nodes: names })
    }

    /// The node for `key` (a PK): the first point strictly greater than `crc32(key)`, wrapping.
    pub fn get(&self, key: &str) -> &str {
        &self.nodes[self.get_index(key)]
    }

    /// Like [`get`](Self::get), as an index into [`nodes`](Self::nodes).
    pub fn get_index(&self, key: &str) -> usize {
        let h = crc32fast::hash(key.as_bytes());
        let i = self.points.partition_point(|p| p.0 <= h);
        let (_, node) = if i == self.points.len() { self.points[0] } else { self.points[i] };
        node as usize
    }

    /// Member names in sorted order.
    pub fn nodes(&self) -> &[String] {
        &self.nodes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIBRARY: &str = include_str!("../../../shared/captures/vectors/ring-go-library.txt");
    const TRANSFER: &str = include_str!("../../../shared/captures/vectors/ring-transfer.tsv");

    #[test]
    fn matches_go_library_vectors() {
        // reps=500 nodes=[judge-00 judge-01 judge-02] key="host-00/cpu.idle" -> judge-00
        let mut n = 0;
        for line in LIBRARY.lines().filter(|l| l.starts_with("reps=")) {
            let reps: usize = line["reps=".len()..line.find(' ').unwrap()].parse().unwrap();
            let nodes = &line[line.find('[').unwrap() + 1..line.find(']').unwrap()];
            let key_start = line.find("key=\"").unwrap() + 5;
            let key_end = line.rfind("\" -> ").unwrap();
            let want = &line[key_end + 5..];
            let ring = HashRing::new(nodes.split(' '), reps).unwrap();
            assert_eq!(ring.get(&line[key_start..key_end]), want, "{line}");
            n += 1;
        }
        assert!(n >= 18, "only {n} vectors");
    }

    #[test]
    fn matches_go_transfer_vectors() {
        let mut n = 0;
        let mut cache: Option<(String, usize, HashRing)> = None;
        for line in TRANSFER.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
            let f: Vec<&str> = line.split('\t').collect();
            let reps: usize = f[0].parse().unwrap();
            if cache.as_ref().map(|c| (c.0.as_str(), c.1)) != Some((f[1], reps)) {
                cache = Some((f[1].to_string(), reps, HashRing::new(f[1].split(','), reps).unwrap()));
            }
            let ring = &cache.as_ref().unwrap().2;
            assert_eq!(ring.get(f[2]), f[3], "{line}");
            n += 1;
        }
        assert_eq!(n, 660);
    }

    #[test]
    fn order_of_nodes_does_not_matter_and_errors_are_clear() {
        let a = HashRing::new(["graph-01", "graph-00", "graph-02"], 500).unwrap();
        let b = HashRing::new(["graph-02", "graph-00", "graph-01"], 500).unwrap();
        for i in 0..1000 {
            let k = format!("host-{i}/cpu.idle");
            assert_eq!(a.get(&k), b.get(&k));
        }
        assert_eq!(HashRing::new(Vec::<String>::new(), 500).unwrap_err(), RingError::Empty);
        assert_eq!(HashRing::new(["a"], 0).unwrap_err(), RingError::NoReplicas);
    }
}
