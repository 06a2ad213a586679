//! Compiles the chart sources into the binary: one table entry per file under
//! `chart-sources/<component>/`, so that adding a file to a component's directory is all it
//! takes to ship it (no hand-kept list).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() {
    let root =
        Path::new(&env::var("CARGO_MANIFEST_DIR").expect("set by cargo")).join("chart-sources");
    println!("cargo::rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect(&root, &mut files);
    files.sort();
    let mut table = String::from("&[\n");
    for file in &files {
        let rel = file.strip_prefix(&root).expect("under the root");
        let mut parts = rel.iter().map(|p| p.to_str().expect("UTF-8 file names"));
        let dir = parts.next().expect("a component directory");
        let path = parts.collect::<Vec<_>>().join("/");
        assert!(
            !path.is_empty(),
            "{}: files belong in a component directory",
            rel.display()
        );
        writeln!(
            table,
            "    ({dir:?}, {path:?}, include_str!({:?})),",
            file.display()
        )
        .expect("writing a String");
    }
    table.push(']');
    let out = PathBuf::from(env::var("OUT_DIR").expect("set by cargo")).join("chart_sources.rs");
    fs::write(out, table).expect("writing the chart sources table");
}

/// Every file under `dir`, recursively; each directory is watched so that new files rebuild.
fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    println!("cargo::rerun-if-changed={}", dir.display());
    for entry in fs::read_dir(dir).expect("readable chart-sources directory") {
        let path = entry.expect("readable entry").path();
        if path.is_dir() {
            collect(&path, out);
        } else {
            out.push(path);
        }
    }
}
