//! Output that appears whole or not at all, and SHA-256 over what is written or read.

use std::{
    fs::{self, File, OpenOptions},
    io::{self, Read, Write},
    path::{Path, PathBuf},
};

use sha2::{Digest, Sha256};

use super::{ExportError, absolute};

/// What every temporary output name contains: `.NAME.tenantry-tmp-PID`.
pub const TEMP_MARKER: &str = ".tenantry-tmp-";

/// `.NAME.tenantry-tmp-` for `target`, and its directory.
fn temp_prefix(target: &Path) -> io::Result<(PathBuf, String)> {
    let target = absolute(target);
    let name = target
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?
        .to_string_lossy()
        .into_owned();
    let dir = target
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    Ok((dir, format!(".{name}{TEMP_MARKER}")))
}

/// Removes temporaries for the same target left by processes that no longer run (killed with
/// SIGKILL, power loss). On systems without `/proc`, any such leftover is removed.
fn remove_stale(dir: &Path, prefix: &str) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let proc = Path::new("/proc/self").exists();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(prefix)) else {
            continue;
        };
        let pid = pid.split('.').next().unwrap_or_default();
        let alive = proc && !pid.is_empty() && Path::new("/proc").join(pid).exists();
        if !alive {
            let path = entry.path();
            let _ = if path.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
        }
    }
}

/// A file written under a temporary name in the target's directory and renamed over the target
/// by [`commit`](Self::commit). Dropped without commit (an error, a cancelled future), the
/// temporary file is removed. Creating one removes what killed runs left for the same target.
#[derive(Debug)]
pub struct AtomicFile {
    file: Option<File>,
    temp: PathBuf,
    target: PathBuf,
}

impl AtomicFile {
    /// Creates `.NAME.tenantry-tmp-PID` next to `target`.
    pub fn create(target: &Path) -> io::Result<Self> {
        let (dir, prefix) = temp_prefix(target)?;
        remove_stale(&dir, &prefix);
        let pid = std::process::id();
        let mut n = 0u32;
        loop {
            let temp = dir.join(if n == 0 {
                format!("{prefix}{pid}")
            } else {
                format!("{prefix}{pid}.{n}")
            });
            match OpenOptions::new().write(true).create_new(true).open(&temp) {
                Ok(file) => {
                    return Ok(Self {
                        file: Some(file),
                        temp,
                        target: target.to_path_buf(),
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 100 => n += 1,
                Err(e) => return Err(e),
            }
        }
    }

    /// The temporary file, to write to.
    pub fn file(&mut self) -> &mut File {
        self.file.as_mut().expect("present until commit")
    }

    /// The temporary file's path.
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Flushes the file to disk and renames it over the target.
    pub fn commit(mut self) -> io::Result<()> {
        let file = self.file.take().expect("present until commit");
        file.sync_all()?;
        drop(file);
        fs::rename(&self.temp, &self.target)?;
        self.temp = PathBuf::new();
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.temp.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Where [`export_table_to_path`](super::export_table_to_path) writes, chosen from what is at the
/// path now, as `cp` chooses: a regular file (or nothing) is replaced atomically through an
/// [`AtomicFile`] (through a symbolic link, the file it points to, so the link stays); a
/// character device (`/dev/null`, a terminal) or a FIFO is written straight into, never
/// replaced; a directory, a socket or a block device is refused.
#[derive(Debug)]
pub enum OutputFile {
    /// A regular file, replaced when complete.
    Atomic(AtomicFile),
    /// A character device or FIFO, written in place (no atomicity: a reader sees rows as they
    /// come, and an error leaves what was written).
    Direct(File),
}

impl OutputFile {
    /// Decides how to write `target` and opens it. Opening a FIFO waits for its reader (on a
    /// blocking thread, so the runtime stays free and the caller can be cancelled).
    pub async fn open(target: &Path) -> Result<Self, ExportError> {
        let shown = target.display().to_string();
        let refuse = |what: &str| {
            Err(ExportError::Output(format!(
                "output {shown} is {what}; an export is written to a file, a character device \
                 or a FIFO"
            )))
        };
        match fs::metadata(target) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(ExportError::io(format!("cannot use {shown}"))(e)),
            Ok(meta) => {
                let kind = meta.file_type();
                if kind.is_dir() {
                    return refuse("a directory");
                }
                #[cfg(unix)]
                {
                    use std::os::unix::fs::FileTypeExt as _;
                    if kind.is_socket() {
                        return refuse("a socket");
                    }
                    if kind.is_block_device() {
                        return refuse("a block device");
                    }
                    if kind.is_char_device() || kind.is_fifo() {
                        let path = target.to_path_buf();
                        let open = move || OpenOptions::new().write(true).open(path);
                        let file = tokio::task::spawn_blocking(open)
                            .await
                            .map_err(|e| ExportError::Output(format!("cannot open {shown}: {e}")))?
                            .map_err(ExportError::io(format!("cannot open {shown}")))?;
                        return Ok(Self::Direct(file));
                    }
                }
                if !kind.is_file() {
                    return refuse("not a regular file");
                }
            }
        }
        // Through a symbolic link: replace the file it names, not the link.
        let real = match fs::symlink_metadata(target) {
            Ok(meta) if meta.file_type().is_symlink() => fs::canonicalize(target)
                .map_err(ExportError::io(format!("cannot resolve {shown}")))?,
            _ => target.to_path_buf(),
        };
        AtomicFile::create(&real)
            .map(Self::Atomic)
            .map_err(ExportError::io(format!("cannot create {shown}")))
    }

    /// The file to write to.
    pub fn file(&mut self) -> &mut File {
        match self {
            Self::Atomic(f) => f.file(),
            Self::Direct(f) => f,
        }
    }

    /// Makes the output whole: renames a regular file into place; flushes a device or FIFO.
    pub fn commit(self) -> io::Result<()> {
        match self {
            Self::Atomic(f) => f.commit(),
            Self::Direct(mut f) => f.flush(),
        }
    }
}

/// A directory built under a temporary name next to the target and renamed to it by
/// [`commit`](Self::commit); removed when dropped uncommitted.
///
/// An earlier export directory at the target (one holding a tenantry `manifest.json`) is
/// replaced, as an export file replaces an earlier file, so the same command can run again;
/// any other non-empty directory is refused.
#[derive(Debug)]
pub(crate) struct AtomicDir {
    temp: PathBuf,
    target: PathBuf,
    replaces: bool,
}

impl AtomicDir {
    /// Refuses a target that exists and is neither an empty directory nor an earlier export.
    pub(crate) fn create(target: &Path) -> Result<Self, ExportError> {
        let shown = target.display();
        let mut replaces = false;
        match fs::read_dir(target) {
            Ok(mut entries) => {
                if entries.next().is_some() {
                    if super::Manifest::read(target).is_err() {
                        return Err(ExportError::Output(format!(
                            "output directory {shown} exists, is not empty and holds no \
                             tenantry export (no readable {})",
                            super::MANIFEST_FILE
                        )));
                    }
                    replaces = true;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(_) if target.exists() => {
                return Err(ExportError::Output(format!(
                    "output {shown} exists and is not a directory"
                )));
            }
            Err(e) => return Err(ExportError::io(format!("cannot read {shown}"))(e)),
        }
        let (dir, prefix) =
            temp_prefix(target).map_err(ExportError::io(format!("cannot use {shown}")))?;
        remove_stale(&dir, &prefix);
        let temp = dir.join(format!("{prefix}{}", std::process::id()));
        let _ = fs::remove_dir_all(&temp);
        fs::create_dir(&temp).map_err(ExportError::io(format!(
            "cannot create a directory next to {shown}"
        )))?;
        Ok(Self {
            temp,
            target: target.to_path_buf(),
            replaces,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.temp
    }

    /// Renames the directory to the target (replacing an empty directory there, or the earlier
    /// export: moved aside under a temporary name, removed once the new one is in place).
    pub(crate) fn commit(mut self) -> Result<(), ExportError> {
        let shown = self.target.display().to_string();
        if self.replaces {
            let mut old = self.temp.clone().into_os_string();
            old.push(".old");
            let old = PathBuf::from(old);
            let _ = fs::remove_dir_all(&old);
            fs::rename(&self.target, &old)
                .map_err(ExportError::io(format!("cannot replace {shown}")))?;
            if let Err(e) = fs::rename(&self.temp, &self.target) {
                let _ = fs::rename(&old, &self.target);
                return Err(ExportError::io(format!("cannot create {shown}"))(e));
            }
            self.temp = PathBuf::new();
            let _ = fs::remove_dir_all(&old);
            return Ok(());
        }
        if self.target.is_dir() {
            // Empty, as checked at creation; rename(2) replaces an empty directory on Unix only.
            let _ = fs::remove_dir(&self.target);
        }
        fs::rename(&self.temp, &self.target)
            .map_err(ExportError::io(format!("cannot create {shown}")))?;
        self.temp = PathBuf::new();
        Ok(())
    }
}

impl Drop for AtomicDir {
    fn drop(&mut self) {
        if !self.temp.as_os_str().is_empty() {
            let _ = fs::remove_dir_all(&self.temp);
        }
    }
}

/// A writer that hashes what passes through.
pub(crate) struct Sha256Writer<W> {
    inner: W,
    hash: Sha256,
}

impl<W> Sha256Writer<W> {
    pub(crate) fn new(inner: W) -> Self {
        Self {
            inner,
            hash: Sha256::new(),
        }
    }

    /// The writer and the lowercase hex digest.
    pub(crate) fn finish(self) -> (W, String) {
        (self.inner, hex(&self.hash.finalize()))
    }
}

impl<W: Write> Write for Sha256Writer<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that hashes what passes through.
pub(crate) struct Sha256Reader<R> {
    inner: R,
    hash: Sha256,
}

impl<R> Sha256Reader<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            hash: Sha256::new(),
        }
    }

    pub(crate) fn hex(&self) -> String {
        hex(&self.hash.clone().finalize())
    }
}

impl<R: Read> Read for Sha256Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "tenantry-export-file-{name}-{}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_file_appears_only_on_commit() {
        let dir = scratch("commit");
        let target = dir.join("out.json");
        let mut f = AtomicFile::create(&target).unwrap();
        f.file().write_all(b"[]\n").unwrap();
        assert!(!target.exists());
        let temp = f.temp_path().to_path_buf();
        assert!(
            temp.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with(".out.json.tenantry-tmp-")
        );
        f.commit().unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"[]\n");
        assert!(!temp.exists());

        let mut f = AtomicFile::create(&target).unwrap();
        f.file().write_all(b"half").unwrap();
        let temp = f.temp_path().to_path_buf();
        drop(f);
        assert!(!temp.exists(), "dropped uncommitted: removed");
        assert_eq!(fs::read(&target).unwrap(), b"[]\n", "target untouched");

        // A leftover of a dead process (no pid is that high) goes on the next run.
        let stale = dir.join(".out.json.tenantry-tmp-999999999");
        fs::write(&stale, b"x").unwrap();
        let f = AtomicFile::create(&target).unwrap();
        assert!(!stale.exists());
        drop(f);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_directory_appears_only_on_commit() {
        let dir = scratch("dir");
        let target = dir.join("export");
        let d = AtomicDir::create(&target).unwrap();
        fs::write(d.path().join("a.json"), b"[]\n").unwrap();
        assert!(!target.exists());
        d.commit().unwrap();
        assert!(target.join("a.json").exists());
        let err = AtomicDir::create(&target).unwrap_err().to_string();
        assert!(err.contains("holds no tenantry export"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn special_files_are_written_into_or_refused_never_replaced() {
        use std::os::unix::{fs::FileTypeExt as _, net::UnixListener};

        let dir = scratch("special");
        // A FIFO: written straight into, still a FIFO afterwards.
        let fifo = dir.join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || fs::read(fifo).unwrap())
        };
        let mut out = OutputFile::open(&fifo).await.unwrap();
        assert!(matches!(out, OutputFile::Direct(_)));
        out.file().write_all(b"[]\n").unwrap();
        out.commit().unwrap();
        assert_eq!(reader.join().unwrap(), b"[]\n");
        assert!(fs::metadata(&fifo).unwrap().file_type().is_fifo());
        // /dev/null: written into, not replaced (nothing is created next to it).
        let mut out = OutputFile::open(Path::new("/dev/null")).await.unwrap();
        out.file().write_all(b"x").unwrap();
        out.commit().unwrap();
        assert!(
            fs::metadata("/dev/null")
                .unwrap()
                .file_type()
                .is_char_device()
        );
        // A directory and a socket are refused.
        let err = OutputFile::open(&dir).await.unwrap_err().to_string();
        assert!(err.contains("is a directory"), "{err}");
        let socket = dir.join("sock");
        let _listener = UnixListener::bind(&socket).unwrap();
        let err = OutputFile::open(&socket).await.unwrap_err().to_string();
        assert!(err.contains("is a socket"), "{err}");
        // Through a symbolic link, the file it names is replaced and the link stays.
        let real = dir.join("real.json");
        fs::write(&real, b"old").unwrap();
        let link = dir.join("link.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let mut out = OutputFile::open(&link).await.unwrap();
        out.file().write_all(b"new").unwrap();
        out.commit().unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&real).unwrap(), b"new");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sha256_of_what_passes() {
        let mut w = Sha256Writer::new(Vec::new());
        w.write_all(b"abc").unwrap();
        let (_, digest) = w.finish();
        assert_eq!(
            digest,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let mut r = Sha256Reader::new(&b"abc"[..]);
        io::copy(&mut r, &mut io::sink()).unwrap();
        assert_eq!(r.hex(), digest);
    }
}
