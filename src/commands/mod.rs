//! One module per subcommand.

pub mod adapters;
pub mod bench;
pub mod classify;
pub mod inpaint;
