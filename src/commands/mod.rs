//! One module per subcommand.

pub mod adapters;
pub mod bench;
pub mod classify;
pub mod evaluate;
pub mod explain;
pub mod inpaint;
pub mod replay;
