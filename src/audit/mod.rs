//! The auditor's view across many captures: hosts merged over every
//! connection report of a run, and the relay-target list they give
//! (`hosts.rs`); the self-contained HTML report (`html.rs`). Fed finished,
//! correlated reports; reads `posture` only.
#![forbid(unsafe_code)]

mod hosts;
pub mod html;

pub use hosts::{
    ClientHost, Hosts, Listed, MAX_HOSTS, MAX_LISTED, Observed, Posture, ServerHost, Tallies,
    WorstFinding,
};
