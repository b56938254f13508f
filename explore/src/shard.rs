//! Sharding one exploration over several machines (`heddle explore --shard K/N`), and
//! uniting the shards' JSON results (`heddle explore --merge`).
//!
//! **The split.** The search tree of an exploration is the tree of [`ChoiceLog`] prefixes.
//! Every shard explores the top of the tree, the choices before depth
//! [`Shard::split_depth`], in the same order and *without* state caching, so that all shards
//! reach the same nodes at that depth (a run that ends above it is a node of its own). A
//! node belongs to shard `key mod N + 1`, where the key is a hash of the node's state (the
//! script threads' positions and results and the litmus memory's state; it contains no
//! address of the process, so every process of the same `heddle` build computes the same
//! key). Below its nodes a shard explores with state caching as usual, its visited set
//! shared between its own subtrees only. Every run of the whole search lies below exactly
//! one node, and a state cut as "seen before" in a shard was fully explored by that same
//! shard, so the union of the shards' reachable outcomes is the whole search's. Nodes in the
//! same state have the same key, so they go to one shard, which explores them once.
//!
//! **Costs.** The top of the tree is run by every shard (at most `N · b^depth` short runs for
//! `b` choices per point); states reached below the nodes of different shards are explored
//! by each of them. Run counts (`executions`, an outcome's `count`) therefore add up to more
//! than a single exploration's; the reachable sets are the same. All shards must run the
//! same `heddle` build (the key uses the standard library's hasher).
//!
//! [`ChoiceLog`]: heddle_interp::ChoiceLog

use indexmap::IndexMap;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashSet};

/// Shard `index + 1` of `count` (`--shard K/N` has `K = index + 1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shard {
    /// 0-based index, `< count`.
    pub index: u32,
    /// Number of shards, at least 1.
    pub count: u32,
}

impl Shard {
    /// Parse `"K/N"` with `1 <= K <= N`.
    ///
    /// Errors: anything else, e.g. `"0/4"`, `"5/4"`, `"2"`.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || format!("bad shard {s:?}: expected K/N with 1 <= K <= N, e.g. 2/4");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let k: u32 = k.trim().parse().map_err(|_| bad())?;
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        if k == 0 || n == 0 || k > n {
            return Err(bad());
        }
        Ok(Shard {
            index: k - 1,
            count: n,
        })
    }

    /// The depth (number of choices) at which the tree is split: `⌈log₂ N⌉ + 4`, so that
    /// there are typically at least 16 nodes per shard to balance the load. 0 for `N = 1`
    /// (no split: a single shard is the ordinary exploration).
    pub fn split_depth(self) -> usize {
        if self.count <= 1 {
            0
        } else {
            (u32::BITS - (self.count - 1).leading_zeros()) as usize + 4
        }
    }

    /// Whether the node with key `key` (at the split depth) is this shard's.
    pub fn owns(self, key: u64) -> bool {
        key % u64::from(self.count) == u64::from(self.index)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index + 1, self.count)
    }
}

/// One file's merged result.
#[derive(Clone, Debug, Default)]
struct Merged {
    /// Outcome (as its JSON text) to (outcome, count, schedule), in order of first sight.
    found: IndexMap<String, (Value, u64, Value)>,
    complete: bool,
    executions: u64,
    pruned: u64,
    /// Shard counts seen (should be one), and the shard indices present.
    counts: BTreeSet<u32>,
    present: BTreeSet<u32>,
    duplicate: bool,
    checked: bool,
    not_allowed: IndexMap<String, Value>,
    /// Allowed outcomes not reached, per shard (the merged list is what no shard reached).
    not_reached: Option<IndexMap<String, Value>>,
    refused: Option<Value>,
}

/// Unite the JSON result lines of `heddle explore --format json` runs (shards of the same
/// files, each line one file's object as documented in docs/explore.md) into one object per
/// file, in order of first appearance.
///
/// A file's merged object has the fields of an exploration (`file`, `reachable`, `complete`,
/// `found`, `executions`, `pruned`, with `--check` results `not_allowed` and
/// `allowed_not_reachable`) plus `shards` (N) and `missing_shards` (the `K`s absent). Counts
/// and run numbers are summed; each outcome keeps the schedule of the first line that
/// reached it. `complete` holds when every shard `1..=N` is present exactly once, all with
/// the same `N`, and each is complete. A line without `shard` counts as shard 1/1.
///
/// Errors: a line that is not a JSON object with a `file` string, a `--replay` result, a
/// malformed `shard`, or a `found` entry without `outcome`, `count` and `schedule`.
pub fn merge(lines: &[Value]) -> Result<Vec<Value>, String> {
    let mut files: IndexMap<String, Merged> = IndexMap::new();
    for (n, line) in lines.iter().enumerate() {
        let at = |m: &str| format!("result {}: {m}", n + 1);
        let file = line
            .get("file")
            .and_then(Value::as_str)
            .ok_or_else(|| at("not an exploration result (no \"file\")"))?;
        if line.get("schedule").is_some() && line.get("found").is_none() {
            return Err(at("a --replay result cannot be merged"));
        }
        let shard = match line.get("shard") {
            None | Some(Value::Null) => Shard { index: 0, count: 1 },
            Some(Value::String(s)) => Shard::parse(s).map_err(|e| at(&e))?,
            Some(_) => return Err(at("\"shard\" is not a string K/N")),
        };
        let m = files.entry(file.to_string()).or_insert_with(|| Merged {
            complete: true,
            ..Merged::default()
        });
        m.counts.insert(shard.count);
        m.duplicate |= !m.present.insert(shard.index);
        if let Some(r) = line.get("refused") {
            m.complete = false;
            m.refused.get_or_insert_with(|| r.clone());
            continue;
        }
        m.complete &= line.get("complete").and_then(Value::as_bool) == Some(true);
        m.executions += line.get("executions").and_then(Value::as_u64).unwrap_or(0);
        m.pruned += line.get("pruned").and_then(Value::as_u64).unwrap_or(0);
        let found = line
            .get("found")
            .and_then(Value::as_array)
            .ok_or_else(|| at("no \"found\" list"))?;
        for f in found {
            let (Some(o), Some(c), Some(s)) = (
                f.get("outcome"),
                f.get("count").and_then(Value::as_u64),
                f.get("schedule"),
            ) else {
                return Err(at("a \"found\" entry needs outcome, count and schedule"));
            };
            m.found
                .entry(o.to_string())
                .and_modify(|e| e.1 += c)
                .or_insert_with(|| (o.clone(), c, s.clone()));
        }
        if let Some(na) = line.get("not_allowed").and_then(Value::as_array) {
            m.checked = true;
            for o in na {
                m.not_allowed.insert(o.to_string(), o.clone());
            }
        }
        if let Some(nr) = line.get("allowed_not_reachable").and_then(Value::as_array) {
            m.checked = true;
            let this: IndexMap<String, Value> =
                nr.iter().map(|o| (o.to_string(), o.clone())).collect();
            m.not_reached = Some(match m.not_reached.take() {
                None => this,
                Some(prev) => prev
                    .into_iter()
                    .filter(|(k, _)| this.contains_key(k))
                    .collect(),
            });
        }
    }
    Ok(files
        .into_iter()
        .map(|(file, m)| {
            let count = m.counts.iter().copied().max().unwrap_or(1);
            let missing: Vec<String> = (0..count)
                .filter(|i| !m.present.contains(i))
                .map(|i| (i + 1).to_string())
                .collect();
            let complete = m.complete && m.counts.len() == 1 && missing.is_empty() && !m.duplicate;
            let reached: HashSet<&String> = m.found.keys().collect();
            let mut obj = json!({
                "file": file,
                "reachable": m.found.values().map(|f| &f.0).collect::<Vec<_>>(),
                "complete": complete,
                "found": m.found.values().map(|(o, c, s)| json!({
                    "outcome": o, "count": c, "schedule": s
                })).collect::<Vec<_>>(),
                "executions": m.executions,
                "pruned": m.pruned,
                "shards": count,
                "missing_shards": missing,
            });
            if m.counts.len() > 1 {
                obj["shard_counts"] = json!(m.counts);
            }
            if m.duplicate {
                obj["duplicate_shards"] = json!(true);
            }
            if let Some(r) = m.refused {
                obj["refused"] = r;
            }
            if m.checked {
                obj["not_allowed"] = json!(m.not_allowed.values().collect::<Vec<_>>());
                // An outcome some shard reached is reached, whatever the others say.
                let nr: Vec<&Value> = m
                    .not_reached
                    .as_ref()
                    .map(|n| {
                        n.iter()
                            .filter(|(k, _)| !reached.contains(k))
                            .map(|(_, v)| v)
                            .collect()
                    })
                    .unwrap_or_default();
                obj["allowed_not_reachable"] = json!(nr);
            }
            obj
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_k_of_n() {
        assert_eq!(Shard::parse("2/4"), Ok(Shard { index: 1, count: 4 }));
        assert_eq!(Shard::parse("1/1").map(|s| s.split_depth()), Ok(0));
        assert_eq!(Shard::parse("1/2").map(|s| s.split_depth()), Ok(5));
        assert_eq!(Shard::parse("3/4").map(|s| s.split_depth()), Ok(6));
        assert_eq!(Shard::parse("3/5").map(|s| s.split_depth()), Ok(7));
        for bad in ["0/4", "5/4", "2", "a/b", "1/0", ""] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Shard::parse("2/4").unwrap().to_string(), "2/4");
    }

    #[test]
    fn merge_unites_counts_and_needs_every_shard() {
        let line = |shard: &str, outs: &[(&str, u64)]| {
            json!({"file": "f", "shard": shard, "complete": true, "executions": 3, "pruned": 1,
                "found": outs.iter().map(|(o, c)| json!({"outcome": {"T0": [[o]]}, "count": c,
                    "schedule": "0"})).collect::<Vec<_>>()})
        };
        let a = line("1/2", &[("i32:0", 2), ("i32:1", 1)]);
        let b = line("2/2", &[("i32:1", 4), ("i32:2", 1)]);
        let m = merge(&[a.clone(), b]).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0]["complete"], json!(true));
        assert_eq!(m[0]["executions"], json!(6));
        assert_eq!(m[0]["reachable"].as_array().unwrap().len(), 3);
        assert_eq!(m[0]["found"][1]["count"], json!(5));
        // Shard 2 missing: incomplete, and says which.
        let m = merge(std::slice::from_ref(&a)).unwrap();
        assert_eq!(m[0]["complete"], json!(false));
        assert_eq!(m[0]["missing_shards"], json!(["2"]));
        // The same shard twice is not a whole either.
        let m = merge(&[a.clone(), a]).unwrap();
        assert_eq!(m[0]["complete"], json!(false));
        assert!(merge(&[json!({"x": 1})]).is_err());
        assert!(merge(&[json!({"file": "f", "shard": "3/2", "found": []})]).is_err());
    }
}
