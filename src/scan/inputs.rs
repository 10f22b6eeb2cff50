//! What the command line names, as captures to read: files as given, `-`
//! for standard input, directories walked recursively (in name order, so
//! every run lists them the same way) keeping the files whose magic says
//! capture. Shared by the CLI and the Python package.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

/// One capture to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Stdin,
    File(PathBuf),
    /// A capture already in memory (the Python package's bytes), named
    /// as its reports will call it.
    Bytes {
        name: String,
        data: std::sync::Arc<[u8]>,
    },
}

impl Source {
    /// As reports and error lines name it (`-` for standard input, as
    /// tcpdump writes it).
    pub fn name(&self) -> String {
        match self {
            Source::Stdin => "-".into(),
            Source::File(p) => p.display().to_string(),
            Source::Bytes { name, .. } => name.clone(),
        }
    }

    pub fn path(&self) -> Option<&Path> {
        match self {
            Source::File(p) => Some(p),
            Source::Stdin | Source::Bytes { .. } => None,
        }
    }

    /// Its size in bytes, when it has one (for the progress bar).
    pub fn size(&self) -> Option<u64> {
        match self {
            Source::Bytes { data, .. } => Some(data.len() as u64),
            _ => std::fs::metadata(self.path()?).ok().map(|m| m.len()),
        }
    }
}

/// The captures named, and what a walk passed over.
#[derive(Debug, Default)]
pub struct Expanded {
    pub sources: Vec<Source>,
    /// Files in directories that are not captures (by their magic).
    pub skipped: u64,
    /// Directories (or entries) that could not be read.
    pub errors: Vec<String>,
}

/// Expand the command line's names. A file named explicitly is always
/// read (a wrong one gets its error from the reader); files found in a
/// directory only when their magic says capture.
pub fn expand(names: &[PathBuf]) -> Expanded {
    let mut out = Expanded::default();
    let mut stdin_taken = false;
    for name in names {
        if name.as_os_str() == "-" {
            if !stdin_taken {
                out.sources.push(Source::Stdin);
                stdin_taken = true;
            }
            continue;
        }
        if !name.is_dir() {
            out.sources.push(Source::File(name.clone()));
            continue;
        }
        for entry in walkdir::WalkDir::new(name)
            .follow_links(false)
            .sort_by_file_name()
        {
            match entry {
                Ok(e) if e.file_type().is_file() => {
                    if looks_like_capture(e.path()) {
                        out.sources.push(Source::File(e.into_path()));
                    } else {
                        out.skipped += 1;
                    }
                }
                Ok(_) => {}
                Err(e) => out.errors.push(e.to_string()),
            }
        }
    }
    out
}

fn looks_like_capture(path: &Path) -> bool {
    std::fs::File::open(path)
        .map(|f| crate::capture::is_capture(std::io::Read::take(f, 1 << 16)))
        .unwrap_or(false)
}
