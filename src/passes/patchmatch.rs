//! `PatchMatchPass`: PatchMatch image completion in Wexler's EM scheme, coarse to fine, on the
//! GPU (`shaders/patchmatch.wgsl`; CPU mirror: `src/cpu/patchmatch.rs`).

use super::{DynamicUniforms, layout};
use crate::error::check_mask_size;
use crate::{Error, Result};

pub use crate::plan::patchmatch::{
    PROPAGATION_STEPS, PatchMatchParams, Step, downsample_mask, has_legal_source, plan_levels,
    schedule,
};

/// Workgroup side. NOTE: keep in sync with WORKGROUP in shaders/patchmatch.wgsl.
const WORKGROUP: u32 = 8;

#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    size: [u32; 2],
    other_size: [u32; 2],
    radius: i32,
    seed: u32,
    counter: u32,
    step: i32,
    warm: u32,
    _pad: [u32; 3],
}

/// One pyramid level's GPU buffers.
struct Level {
    size: (u32, u32),
    img: wgpu::Buffer,
    hole: wgpu::Buffer,
    valid: wgpu::Buffer,
    targets: wgpu::Buffer,
    nnf: [wgpu::Buffer; 2],
}

/// GPU buffers kept between fills of the same image, so that an added stroke can warm-start
/// from the previous NNF and fill.
#[derive(Default)]
pub struct PatchMatchCache {
    levels: Vec<Level>,
    /// Which of level 0's two NNF buffers holds the last result.
    current: usize,
    /// A previous fill exists for this image.
    primed: bool,
    /// The bind groups and parameter buffers of recent fills, kept with the levels they bind.
    bound: Option<Bound>,
}

/// What a fill binds, kept between fills of the same image so that a job creates no buffer or
/// bind group at steady state: the per-level groups (made with the levels), the texture groups
/// (remade when the textures change) and the parameter buffers of the last few schedules (the
/// live loop alternates between a handful: fresh, warm start, per model input size).
struct Bound {
    /// `[level][which nnf is read]`.
    level_groups: Vec<[wgpu::BindGroup; 2]>,
    /// `[level][which nnf]`: a level read as the other one (down/upsampling).
    other_groups: Vec<[wgpu::BindGroup; 2]>,
    /// Groups 2 and 3 of a step that reads no other level and no texture.
    idle: wgpu::BindGroup,
    /// The textures' groups: (image, mask, output) → (load, store).
    textures: Option<([wgpu::Texture; 3], wgpu::BindGroup, wgpu::BindGroup)>,
    /// Parameter entries (as bytes) → their buffer and group; the most recent last.
    params: Vec<(Vec<u8>, DynamicUniforms, wgpu::BindGroup)>,
}

/// Schedules whose parameter buffers are kept.
const KEPT_SCHEDULES: usize = 4;

impl PatchMatchCache {
    /// Forgets the previous fill (next fill is fresh).
    pub fn invalidate(&mut self) {
        self.primed = false;
    }

    /// Whether a warm start is possible.
    pub fn primed(&self) -> bool {
        self.primed
    }

    /// Reads level 0's NNF back: per pixel `(source x, source y, distance, is target)`. Blocking;
    /// for tests.
    pub fn read_nnf(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
    ) -> Result<Vec<(i32, i32, f32, bool)>> {
        let level = self
            .levels
            .first()
            .ok_or_else(|| Error::Invalid("no fill yet".into()))?;
        let read = |b: &wgpu::Buffer| -> Result<Vec<u8>> {
            let staging = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("patchmatch.readback"),
                size: b.size(),
                usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
                mapped_at_creation: false,
            });
            let mut encoder = device.create_command_encoder(&Default::default());
            encoder.copy_buffer_to_buffer(b, 0, &staging, 0, b.size());
            queue.submit([encoder.finish()]);
            crate::gpu::texture::read_buffer(device, &staging)
        };
        let nnf = read(&level.nnf[self.current])?;
        let targets = read(&level.targets)?;
        Ok(nnf
            .chunks_exact(16)
            .zip(targets.chunks_exact(4))
            .map(|(m, t)| {
                let v = |k: usize| [m[k], m[k + 1], m[k + 2], m[k + 3]];
                (
                    i32::from_le_bytes(v(0)),
                    i32::from_le_bytes(v(4)),
                    f32::from_le_bytes(v(8)),
                    u32::from_le_bytes([t[0], t[1], t[2], t[3]]) == 1,
                )
            })
            .collect())
    }

    fn ensure(&mut self, device: &wgpu::Device, size: (u32, u32), levels: usize) {
        let fits =
            self.levels.first().is_some_and(|l| l.size == size) && self.levels.len() >= levels;
        if fits {
            return;
        }
        self.primed = false;
        self.current = 0;
        self.levels.clear();
        self.bound = None;
        let mut dims = size;
        for l in 0..levels {
            let n = u64::from(dims.0) * u64::from(dims.1);
            let buffer = |label: &str, bytes: u64| {
                device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(&format!("patchmatch.{label}.{l}")),
                    size: n * bytes,
                    usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                    mapped_at_creation: false,
                })
            };
            self.levels.push(Level {
                size: dims,
                img: buffer("img", 16),
                hole: buffer("hole", 4),
                valid: buffer("valid", 4),
                targets: buffer("targets", 4),
                nnf: [buffer("nnf_a", 16), buffer("nnf_b", 16)],
            });
            dims = (dims.0.div_ceil(2), dims.1.div_ceil(2));
        }
    }
}

/// The PatchMatch pipelines (a clone shares them).
#[derive(Clone)]
pub struct PatchMatchPass {
    pipelines: Vec<(&'static str, wgpu::ComputePipeline)>,
    params_layout: wgpu::BindGroupLayout,
    level_layout: wgpu::BindGroupLayout,
    other_layout: wgpu::BindGroupLayout,
    load_layout: wgpu::BindGroupLayout,
    store_layout: wgpu::BindGroupLayout,
}

const ENTRIES: [&str; 10] = [
    "load",
    "downsample",
    "flags",
    "init_nnf",
    "upsample",
    "refresh",
    "propagate",
    "search",
    "vote",
    "store",
];

impl PatchMatchPass {
    /// Builds the pipelines.
    pub fn new(device: &wgpu::Device) -> Result<Self> {
        let make_layout = |label: &str, entries: &[wgpu::BindGroupLayoutEntry]| {
            device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some(label),
                entries,
            })
        };
        let params_layout = make_layout(
            "patchmatch.params_layout",
            &[layout::uniform(
                0,
                Some(std::mem::size_of::<Params>() as u64),
            )],
        );
        let level_layout = make_layout(
            "patchmatch.level_layout",
            &[
                layout::storage(0, false),
                layout::storage(1, false),
                layout::storage(2, false),
                layout::storage(3, false),
                layout::storage(4, true),
                layout::storage(5, false),
            ],
        );
        let other_layout = make_layout(
            "patchmatch.other_layout",
            &[
                layout::storage(0, true),
                layout::storage(1, true),
                layout::storage(2, true),
            ],
        );
        let load_layout = make_layout(
            "patchmatch.load_layout",
            &[layout::texture(0), layout::texture(1)],
        );
        let store_layout = make_layout(
            "patchmatch.store_layout",
            &[layout::storage_texture(
                0,
                crate::gpu::texture::IMAGE_FORMAT,
            )],
        );
        let source = include_str!("../../shaders/patchmatch.wgsl");
        let mut pipelines = Vec::new();
        for entry in ENTRIES {
            let third = match entry {
                "load" => &load_layout,
                "store" => &store_layout,
                _ => &other_layout,
            };
            let pl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some("patchmatch.pipeline_layout"),
                bind_group_layouts: &[
                    Some(&params_layout),
                    Some(&level_layout),
                    Some(&other_layout),
                    Some(third),
                ],
                immediate_size: 0,
            });
            let pipeline = super::compute_pipeline_entry(
                device,
                &format!("patchmatch.{entry}"),
                "shaders/patchmatch.wgsl",
                source,
                entry,
                &pl,
            )?;
            pipelines.push((entry, pipeline));
        }
        Ok(Self {
            pipelines,
            params_layout,
            level_layout,
            other_layout,
            load_layout,
            store_layout,
        })
    }

    /// The groups of `levels`: each level with either NNF read, each level read as the other
    /// one of a down/upsampling step, and the idle group.
    fn bind_levels(&self, device: &wgpu::Device, levels: &[Level]) -> Bound {
        let level_groups = levels
            .iter()
            .map(|lv| {
                [0usize, 1].map(|read| {
                    super::bind_group(
                        device,
                        "patchmatch.level",
                        &self.level_layout,
                        &[
                            lv.img.as_entire_binding(),
                            lv.hole.as_entire_binding(),
                            lv.valid.as_entire_binding(),
                            lv.targets.as_entire_binding(),
                            lv.nnf[read].as_entire_binding(),
                            lv.nnf[1 - read].as_entire_binding(),
                        ],
                    )
                })
            })
            .collect();
        let other_groups = levels
            .iter()
            .map(|lv| {
                [0usize, 1].map(|nnf| {
                    super::bind_group(
                        device,
                        "patchmatch.other",
                        &self.other_layout,
                        &[
                            lv.img.as_entire_binding(),
                            lv.hole.as_entire_binding(),
                            lv.nnf[nnf].as_entire_binding(),
                        ],
                    )
                })
            })
            .collect();
        // A placeholder for groups 2 and 3 when a step reads no other level: its own small
        // buffers, since binding a level's buffers read-only next to the same ones read-write
        // would conflict.
        let dummy = |label: &str| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: 16,
                usage: wgpu::BufferUsages::STORAGE,
                mapped_at_creation: false,
            })
        };
        let (d0, d1, d2) = (
            dummy("patchmatch.idle0"),
            dummy("patchmatch.idle1"),
            dummy("patchmatch.idle2"),
        );
        let idle = super::bind_group(
            device,
            "patchmatch.idle",
            &self.other_layout,
            &[
                d0.as_entire_binding(),
                d1.as_entire_binding(),
                d2.as_entire_binding(),
            ],
        );
        Bound {
            level_groups,
            other_groups,
            idle,
            textures: None,
            params: Vec::new(),
        }
    }

    /// The load group (`image`, `mask`) and the store group (`output`).
    fn bind_textures(
        &self,
        device: &wgpu::Device,
        image: &wgpu::Texture,
        mask: &wgpu::Texture,
        output: &wgpu::Texture,
    ) -> (wgpu::BindGroup, wgpu::BindGroup) {
        let views = [image, mask, output].map(|t| t.create_view(&Default::default()));
        let load = super::bind_group(
            device,
            "patchmatch.load",
            &self.load_layout,
            &[
                wgpu::BindingResource::TextureView(&views[0]),
                wgpu::BindingResource::TextureView(&views[1]),
            ],
        );
        let store = super::bind_group(
            device,
            "patchmatch.store",
            &self.store_layout,
            &[wgpu::BindingResource::TextureView(&views[2])],
        );
        (load, store)
    }

    fn pipeline(&self, entry: &str) -> &wgpu::ComputePipeline {
        &self
            .pipelines
            .iter()
            .find(|(e, _)| *e == entry)
            .expect("every entry point has a pipeline")
            .1
    }

    /// Records a fill of `mask`'s non-zero pixels of `image` into `output` (only hole pixels are
    /// written; `output` may be `image`). `levels` comes from [`plan_levels`]. With `warm` and a
    /// primed `cache` for this image, only the finest level is refined from the previous result.
    #[allow(clippy::too_many_arguments)]
    pub fn encode(
        &self,
        device: &wgpu::Device,
        encoder: &mut wgpu::CommandEncoder,
        image: &wgpu::Texture,
        mask: &wgpu::Texture,
        output: &wgpu::Texture,
        levels: usize,
        params: &PatchMatchParams,
        cache: &mut PatchMatchCache,
        warm: bool,
    ) -> Result<()> {
        let size = (image.width(), image.height());
        check_mask_size((mask.width(), mask.height()), size)?;
        check_mask_size((output.width(), output.height()), size)?;
        cache.ensure(device, size, levels.max(1));
        let warm = warm && cache.primed;
        let steps = schedule(levels.max(1), params, warm);

        // One Params entry per step (the counter is the step index: the CPU mirror uses the same).
        let mut cur = [cache.current; 16];
        let lvl = |l: usize| &cache.levels[l];
        let entries: Vec<Params> = steps
            .iter()
            .enumerate()
            .map(|(counter, step)| {
                let (l, other, k) = match *step {
                    Step::Load | Step::Store => (0, 0, 0),
                    Step::Downsample(l) => (l, l - 1, 0),
                    Step::Upsample(l) => (l, l + 1, 0),
                    Step::Propagate(l, k) => (l, l, k),
                    Step::Flags(l)
                    | Step::InitNnf(l)
                    | Step::Refresh(l)
                    | Step::Search(l)
                    | Step::Vote(l) => (l, l, 0),
                };
                Params {
                    size: [lvl(l).size.0, lvl(l).size.1],
                    other_size: [lvl(other).size.0, lvl(other).size.1],
                    radius: params.radius(),
                    seed: params.seed,
                    counter: counter as u32,
                    step: k,
                    warm: u32::from(warm),
                    _pad: [0; 3],
                }
            })
            .collect();
        if cache.bound.is_none() {
            cache.bound = Some(self.bind_levels(device, &cache.levels));
        }
        let Some(bound) = cache.bound.as_mut() else {
            return Err(Error::Gpu("PatchMatch bindings missing".into()));
        };
        let textures = [image.clone(), mask.clone(), output.clone()];
        if bound
            .textures
            .as_ref()
            .is_none_or(|(t, _, _)| *t != textures)
        {
            let (load, store) = self.bind_textures(device, image, mask, output);
            bound.textures = Some((textures, load, store));
        }
        let bytes: Vec<u8> = bytemuck::cast_slice(&entries).to_vec();
        match bound.params.iter().position(|(b, _, _)| *b == bytes) {
            Some(i) => {
                let kept = bound.params.remove(i);
                bound.params.push(kept);
            }
            None => {
                let uniforms = DynamicUniforms::new(device, "patchmatch.params", &entries);
                let group = super::bind_group(
                    device,
                    "patchmatch.params",
                    &self.params_layout,
                    &[uniforms.binding()],
                );
                if bound.params.len() >= KEPT_SCHEDULES {
                    bound.params.remove(0);
                }
                bound.params.push((bytes, uniforms, group));
            }
        }
        let Bound {
            level_groups,
            other_groups,
            idle: idle_other,
            textures,
            params: kept,
        } = &*bound;
        let (Some((_, load_group, store_group)), Some((_, uniforms, params_group))) =
            (textures.as_ref(), kept.last())
        else {
            return Err(Error::Gpu("PatchMatch bindings missing".into()));
        };

        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("patchmatch.pass"),
            timestamp_writes: None,
        });
        for (i, step) in steps.iter().enumerate() {
            let (entry, l, writes_nnf) = match *step {
                Step::Load => ("load", 0, false),
                Step::Downsample(l) => ("downsample", l, false),
                Step::Flags(l) => ("flags", l, false),
                Step::InitNnf(l) => ("init_nnf", l, true),
                Step::Upsample(l) => ("upsample", l, true),
                Step::Refresh(l) => ("refresh", l, true),
                Step::Propagate(l, _) => ("propagate", l, true),
                Step::Search(l) => ("search", l, true),
                Step::Vote(l) => ("vote", l, false),
                Step::Store => ("store", 0, false),
            };
            pass.set_pipeline(self.pipeline(entry));
            pass.set_bind_group(0, params_group, &[uniforms.offset(i)]);
            pass.set_bind_group(1, &level_groups[l][cur[l]], &[]);
            match *step {
                Step::Downsample(l) => pass.set_bind_group(2, &other_groups[l - 1][0], &[]),
                Step::Upsample(l) => pass.set_bind_group(2, &other_groups[l + 1][cur[l + 1]], &[]),
                _ => pass.set_bind_group(2, idle_other, &[]),
            }
            match *step {
                Step::Load => pass.set_bind_group(3, load_group, &[]),
                Step::Store => pass.set_bind_group(3, store_group, &[]),
                _ => pass.set_bind_group(3, idle_other, &[]),
            }
            let (w, h) = cache.levels[l].size;
            super::dispatch(
                &mut pass,
                super::workgroup_count(w, WORKGROUP),
                super::workgroup_count(h, WORKGROUP),
                1,
            );
            if writes_nnf {
                cur[l] = 1 - cur[l];
            }
        }
        drop(pass);
        cache.current = cur[0];
        cache.primed = true;
        Ok(())
    }
}
