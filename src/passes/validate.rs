//! Every WGSL file parses and validates with naga — checked without a GPU (unit test), so a broken
//! shader fails on any machine, not only where an adapter builds the pipeline.

#[cfg(test)]
mod tests {
    use wgpu::naga;

    const SHADERS: [(&str, &str); 6] = [
        (
            "preprocess.wgsl",
            include_str!("../../shaders/preprocess.wgsl"),
        ),
        ("telea.wgsl", include_str!("../../shaders/telea.wgsl")),
        (
            "patchmatch.wgsl",
            include_str!("../../shaders/patchmatch.wgsl"),
        ),
        ("paint.wgsl", include_str!("../../shaders/paint.wgsl")),
        ("compose.wgsl", include_str!("../../shaders/compose.wgsl")),
        (
            "morphology.wgsl",
            include_str!("../../shaders/morphology.wgsl"),
        ),
    ];

    #[test]
    fn every_shader_validates() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
        let on_disk = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(
            on_disk,
            SHADERS.len(),
            "a shader in shaders/ is not listed here"
        );
        for (name, source) in SHADERS {
            let module = naga::front::wgsl::parse_str(source)
                .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(source)));
            naga::valid::Validator::new(
                naga::valid::ValidationFlags::all(),
                naga::valid::Capabilities::all(),
            )
            .validate(&module)
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        }
    }
}
