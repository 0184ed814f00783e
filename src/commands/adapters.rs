//! `unsee adapters`: what GPUs are there, and which one unsee would pick.

use unsee::gpu::{GpuContext, adapter};

/// Prints every adapter, marking the default choice.
pub fn run() -> anyhow::Result<()> {
    let instance = GpuContext::headless_instance();
    let infos: Vec<_> = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::PRIMARY))
        .iter()
        .map(|a| a.get_info())
        .collect();
    let chosen = adapter::select(&infos, None)?;
    for (i, info) in infos.iter().enumerate() {
        let mark = if i == chosen { "*" } else { " " };
        let soft = if adapter::is_software(info) {
            " [software]"
        } else {
            ""
        };
        outln!("{mark} {}{soft}", adapter::describe(info));
    }
    Ok(())
}
