//! The memory model's switches as command-line flags, shared by `heddle litmus` and
//! `heddle xcheck` (docs/model.md, "Switches").

use heddle_model::{Config, FenceSemantics, WokenOrder};

/// Order of WOKEN events after a NOTIFY (spec erratum, MODEL.md §7.3 item 8).
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum WokenOrderArg {
    /// Any order (default).
    Any,
    /// Oldest waiter first.
    OldestFirst,
    /// Youngest first (the spec text taken literally).
    YoungestFirst,
}

/// The switch of `memory.grow`'s failure, one flag for the model (`heddle litmus`, `heddle
/// xcheck`: `Config::spurious_grow_failure`) and the explorer (`heddle explore`:
/// `ExploreOptions::spurious_grow_failure`), so that both read the spec alike.
#[derive(clap::Args, Debug, Clone)]
pub struct GrowSwitch {
    /// A memory.grow fails only when it would exceed the maximum (by default, as the spec
    /// says, any grow may fail and return -1).
    #[arg(long)]
    pub grow_fails_only_at_max: bool,
}

impl GrowSwitch {
    /// Whether a grow may fail though it would fit (the spec's reading, the default).
    pub fn spurious_grow_failure(&self) -> bool {
        !self.grow_fails_only_at_max
    }
}

/// The model's switches (all off by default: the spec as Heddle reads it).
#[derive(clap::Args, Debug, Clone)]
pub struct ModelSwitches {
    /// Drop clause (†) of sc-last-visible.
    #[arg(long)]
    pub no_dagger: bool,
    /// Drop clause (‡) of sc-last-visible (with --no-dagger: the JavaScript 2019 model).
    #[arg(long)]
    pub no_ddagger: bool,
    /// Let a wait with a finite timeout stay blocked forever (the formal rules allow it).
    #[arg(long)]
    pub finite_timeout_may_block: bool,
    /// Give atomic.fence meaning: an idempotent seq-cst RMW on one hidden location.
    #[arg(long)]
    pub fence_as_rmw: bool,
    /// tearfree exactly as relaxed.rst writes it (non-atomic accesses never tear-free).
    #[arg(long)]
    pub literal_tearfree: bool,
    /// Whether a memory.grow may fail though it would fit.
    #[command(flatten)]
    pub grow: GrowSwitch,
    /// Order of the WOKEN events that follow a NOTIFY.
    #[arg(long, value_enum, default_value_t = WokenOrderArg::Any)]
    pub woken_order: WokenOrderArg,
}

impl ModelSwitches {
    /// The model configuration these flags select, with extra thin-air `seeds`.
    pub fn config(&self, seeds: &[u64]) -> Config {
        Config {
            dagger: !self.no_dagger,
            ddagger: !self.no_ddagger,
            finite_timeout_may_block: self.finite_timeout_may_block,
            fence: if self.fence_as_rmw {
                FenceSemantics::RmwOnHiddenLocation
            } else {
                FenceSemantics::Ignore
            },
            woken_order: match self.woken_order {
                WokenOrderArg::Any => WokenOrder::Any,
                WokenOrderArg::OldestFirst => WokenOrder::OldestFirst,
                WokenOrderArg::YoungestFirst => WokenOrder::YoungestFirst,
            },
            literal_tearfree: self.literal_tearfree,
            thin_air_seeds: seeds.to_vec(),
            spurious_grow_failure: self.grow.spurious_grow_failure(),
        }
    }
}
