//! Finding `.wast` files and running many of them in parallel.

use crate::report::FileReport;
use crate::runner::{run_wast_file, RunOptions};
use globset::{Glob, GlobSet, GlobSetBuilder};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// A script to run: where it is, and how reports name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WastFile {
    /// The file.
    pub path: PathBuf,
    /// Path relative to the directory it was found in (`/`-separated), or the file name
    /// for a file given directly. `--exclude` globs match this.
    pub relative: String,
}

/// Errors finding files.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    #[error("invalid --exclude glob {0:?}: {1}")]
    /// An `--exclude` glob that does not compile.
    Glob(String, globset::Error),
    #[error("{0}: no such file or directory")]
    /// A path given on the command line does not exist.
    Missing(PathBuf),
    #[error("walking {0}: {1}")]
    /// A directory could not be walked.
    Walk(PathBuf, walkdir::Error),
}

/// Exclusion globs. A path is excluded when the glob matches the path relative to the
/// directory given on the command line, or any of its ancestor directories (so both
/// `simd/*` and `simd` drop the `simd/` subdirectory). `*` also matches `/`.
#[derive(Clone, Debug)]
pub struct Excludes(GlobSet);

impl Excludes {
    /// Compile the globs.
    pub fn new(globs: &[String]) -> Result<Self, SuiteError> {
        let mut b = GlobSetBuilder::new();
        for g in globs {
            b.add(Glob::new(g).map_err(|e| SuiteError::Glob(g.clone(), e))?);
        }
        Ok(Excludes(
            b.build()
                .map_err(|e| SuiteError::Glob(globs.join(" "), e))?,
        ))
    }

    /// Is the relative path (`/`-separated) excluded?
    pub fn excludes(&self, relative: &str) -> bool {
        if self.0.is_empty() {
            return false;
        }
        let mut p = relative;
        loop {
            if self.0.is_match(p) {
                return true;
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return false,
            }
        }
    }
}

/// The `.wast` files under `paths`: directories recursively (sorted by path, `.wast`
/// files only), files as given (any extension), minus the excluded ones.
pub fn collect_files(paths: &[PathBuf], exclude: &[String]) -> Result<Vec<WastFile>, SuiteError> {
    let excludes = Excludes::new(exclude)?;
    let mut out = Vec::new();
    for root in paths {
        if root.is_dir() {
            let walker = walkdir::WalkDir::new(root)
                .follow_links(true)
                .sort_by_file_name();
            for entry in walker {
                let entry = entry.map_err(|e| SuiteError::Walk(root.clone(), e))?;
                if !entry.file_type().is_file()
                    || entry.path().extension().is_none_or(|e| e != "wast")
                {
                    continue;
                }
                let relative =
                    relative_string(entry.path().strip_prefix(root).unwrap_or(entry.path()));
                if !excludes.excludes(&relative) {
                    out.push(WastFile {
                        path: entry.path().to_path_buf(),
                        relative,
                    });
                }
            }
        } else if root.is_file() {
            let relative = root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !excludes.excludes(&relative) {
                out.push(WastFile {
                    path: root.clone(),
                    relative,
                });
            }
        } else {
            return Err(SuiteError::Missing(root.clone()));
        }
    }
    Ok(out)
}

fn relative_string(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Run `files` in parallel on `jobs` worker threads (default: one per core), each file
/// deterministic for `opts.seed`. `on_done` is called as each file finishes (from worker
/// threads). Reports come back in the order of `files`.
pub fn run_files(
    files: &[WastFile],
    opts: &RunOptions,
    jobs: Option<usize>,
    on_done: &(dyn Fn(&FileReport) + Sync),
) -> Vec<FileReport> {
    let mut builder = rayon::ThreadPoolBuilder::new()
        // Parsing and encoding deeply nested modules recurses.
        .stack_size(64 << 20);
    if let Some(j) = jobs {
        builder = builder.num_threads(j.max(1));
    }
    let pool = builder.build().expect("cannot start worker threads");
    pool.install(|| {
        files
            .par_iter()
            .map(|f| {
                let r = run_wast_file(&f.path, &f.path.to_string_lossy(), opts);
                on_done(&r);
                r
            })
            .collect()
    })
}

/// Where the official suites are: `$HEDDLE_TESTSUITE`, else `testsuite/` at the workspace
/// root. The directory holds `threads/` and `upstream/`.
pub fn testsuite_dir() -> PathBuf {
    match std::env::var_os("HEDDLE_TESTSUITE") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../testsuite"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excludes_match_relative_paths_and_ancestors() {
        let e = Excludes::new(&["simd/*".into()]).unwrap();
        assert!(e.excludes("simd/simd_add.wast"));
        assert!(e.excludes("simd/deeper/x.wast"));
        assert!(!e.excludes("address.wast"));
        assert!(!e.excludes("threads/simd.wast"));
        let e = Excludes::new(&["simd".into(), "**/LB*.wast".into()]).unwrap();
        assert!(e.excludes("simd/a.wast"));
        assert!(e.excludes("threads/LB_atomic.wast"));
        assert!(!e.excludes("threads/MP.wast"));
        let none = Excludes::new(&[]).unwrap();
        assert!(!none.excludes("simd/a.wast"));
        assert!(Excludes::new(&["a[".into()]).is_err());
    }

    #[test]
    fn collects_wast_files_sorted_and_excluded() {
        let dir = std::env::temp_dir().join(format!("heddle-collect-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for f in ["b.wast", "a.wast", "notes.txt", "simd/s.wast", "sub/c.wast"] {
            let p = dir.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "(module)").unwrap();
        }
        let files = collect_files(std::slice::from_ref(&dir), &["simd/*".into()]).unwrap();
        let rel: Vec<_> = files.iter().map(|f| f.relative.as_str()).collect();
        assert_eq!(rel, vec!["a.wast", "b.wast", "sub/c.wast"]);
        let single = collect_files(&[dir.join("simd/s.wast")], &[]).unwrap();
        assert_eq!(single[0].relative, "s.wast");
        assert!(collect_files(&[dir.join("missing")], &[]).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
