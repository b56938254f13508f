//! Helpers shared by the model's integration tests.

use heddle_model::{InvokeResult, Outcome};

/// An outcome flattened to its values in thread order, e.g. `"0 1"`; `blocked` / `trap`.
pub fn flat(o: &Outcome) -> String {
    let mut v = Vec::new();
    for (_, rs) in &o.threads {
        for r in rs {
            match r {
                InvokeResult::Values(vs) => v.extend(vs.iter().map(|x| x.bits().to_string())),
                InvokeResult::Blocked => v.push("blocked".into()),
                InvokeResult::Trap => v.push("trap".into()),
            }
        }
    }
    v.join(" ")
}
