//! One module per subcommand.

pub mod adapters;
pub mod classify;
pub mod inpaint;
