//! Load + validate + render of each built-in profile through the library, and each stage
//! alone. Run: `cargo bench --bench render`; figures and machine in docs/performance.md.

use std::hint::black_box;

use alertchart::input::{self, ProfileSource};
use alertchart::{pipeline, validate};
use criterion::{Criterion, criterion_group, criterion_main};

fn pipeline(c: &mut Criterion) {
    for (name, _) in input::BUILTIN_PROFILES {
        let resolved = ProfileSource::resolve(name).unwrap();
        let mut group = c.benchmark_group(*name);

        // What `alertchart render` does in memory, before writing the files.
        group.bench_function("load+validate+render", |b| {
            b.iter(|| {
                let source = ProfileSource::resolve(black_box(name)).unwrap();
                let merged = input::load(&source, &[], &[]).unwrap();
                let profile = validate::profile(&merged).unwrap();
                pipeline::render(&profile).unwrap()
            });
        });

        group.bench_function("load", |b| {
            b.iter(|| input::load(black_box(&resolved), &[], &[]).unwrap());
        });
        let merged = input::load(&resolved, &[], &[]).unwrap();
        group.bench_function("validate", |b| {
            b.iter(|| validate::profile(black_box(&merged)).unwrap());
        });
        let profile = validate::profile(&merged).unwrap();
        group.bench_function("render", |b| {
            b.iter(|| pipeline::render(black_box(&profile)).unwrap());
        });

        // Writing the chart: what the whole process adds to the in-memory pipeline.
        let chart = pipeline::render(&profile).unwrap();
        let dir = tempfile::tempdir().unwrap();
        group.bench_function("write", |b| {
            b.iter(|| black_box(&chart).write(dir.path(), false).unwrap());
        });
        group.finish();
    }
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
