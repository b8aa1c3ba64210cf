//! The history in `--state-dir`: an image of every tier, rewritten once a day and at a clean
//! stop, and a journal of the raw points taken since, appended once a minute. So a clean stop
//! loses nothing, a crash or power cut at most the last minute, and the SD card of a board
//! sees a few KB a minute plus one image a day (figures in BENCHMARKS.md).
//!
//! Files (mode 0600): `history.img` (magic, then one record: generation, then the image) and
//! `journal.GEN` (magic, then one record per minute). A record is framed with its length and
//! CRC-32 ([`super::codec`]). The image is written to a temporary file, synced and renamed over
//! the old one; the journal of the new generation starts empty, so a crash between the two
//! never replays points twice. A file that is torn or corrupt is logged, renamed aside
//! (`NAME.corrupt-UNIXTIME`) and never served; records of a journal before a torn one are kept
//! (the torn tail is what a crash leaves). A read-only or full disk is logged (once, and again
//! when writes work again); the history goes on in memory.

use super::codec;
use super::History;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

const IMAGE_MAGIC: &[u8; 8] = b"PSMHIMG1";
const JOURNAL_MAGIC: &[u8; 8] = b"PSMHJNL1";
/// Journal records (minutes) before the image is rewritten: a day.
const RECORDS_PER_IMAGE: u32 = 24 * 60;

/// The state directory's history files.
pub struct Store {
    dir: PathBuf,
    generation: u64,
    journal: Option<File>,
    records: u32,
    /// Whether the last write failed (logged once until one works again).
    failing: bool,
}

impl Store {
    /// Opens `dir` (created if missing, mode 0700) and loads what it holds into `history`.
    pub fn open(dir: &Path, history: &mut History) -> Store {
        if let Err(e) = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
        {
            log::warn!(
                "state directory {}: {e}; history is kept in memory only",
                dir.display()
            );
        }
        let mut store = Store {
            dir: dir.to_owned(),
            generation: 0,
            journal: None,
            records: 0,
            failing: false,
        };
        store.load(history);
        store
    }

    fn image_path(&self) -> PathBuf {
        self.dir.join("history.img")
    }

    fn journal_path(&self, generation: u64) -> PathBuf {
        self.dir.join(format!("journal.{generation}"))
    }

    /// Renames a bad file aside, saying why.
    fn set_aside(&self, path: &Path, why: &str) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let aside = path.with_file_name(format!(
            "{}.corrupt-{now}",
            path.file_name().unwrap_or_default().to_string_lossy()
        ));
        match std::fs::rename(path, &aside) {
            Ok(()) => log::warn!(
                "history file {} {why}: set aside as {}",
                path.display(),
                aside.display()
            ),
            Err(e) => log::warn!(
                "history file {} {why}, and cannot be set aside: {e}",
                path.display()
            ),
        }
    }

    fn load(&mut self, history: &mut History) {
        let image = self.image_path();
        match std::fs::read(&image) {
            Ok(bytes) => {
                let body = bytes.strip_prefix(IMAGE_MAGIC);
                let (records, clean) = codec::records(body.unwrap_or(&[]));
                let loaded = match (body, records.as_slice(), clean) {
                    (Some(_), [payload], true) if payload.len() >= 8 => {
                        let generation = u64::from_le_bytes(payload[..8].try_into().unwrap());
                        history.load_image(&payload[8..]).then_some(generation)
                    }
                    _ => None,
                };
                match loaded {
                    Some(generation) => self.generation = generation,
                    None => self.set_aside(&image, "is torn or corrupt"),
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => log::warn!("cannot read {}: {e}", image.display()),
        }
        // The journal of this generation (points after the image), and none other.
        let journal = self.journal_path(self.generation);
        let mut replayed = 0;
        match std::fs::read(&journal) {
            Ok(bytes) => {
                let body = bytes.strip_prefix(JOURNAL_MAGIC);
                let (records, clean) = codec::records(body.unwrap_or(&[]));
                for r in &records {
                    if !history.replay(r) {
                        break;
                    }
                    replayed += 1;
                }
                self.records = replayed;
                if body.is_none() || !clean || replayed < records.len() as u32 {
                    // Keep what was good: it goes into the next image, written now.
                    self.set_aside(&journal, "ends in a torn or corrupt record");
                    self.rewrite(history);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => log::warn!("cannot read {}: {e}", journal.display()),
        }
        if history.len() > 0 {
            log::info!(
                "history loaded from {}: {} points ({} minutes of journal)",
                self.dir.display(),
                history.len(),
                replayed
            );
        }
        // Older generations' journals are leftovers of a crash during a rewrite.
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let old = name
                    .strip_prefix("journal.")
                    .and_then(|g| g.parse::<u64>().ok())
                    .is_some_and(|g| g != self.generation);
                if old {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }

    /// Notes the outcome of a write: logged when it starts or stops failing.
    fn outcome(&mut self, what: &str, r: std::io::Result<()>) -> bool {
        match r {
            Ok(()) => {
                if self.failing {
                    log::info!("history is saved to {} again", self.dir.display());
                }
                self.failing = false;
                true
            }
            Err(e) => {
                if !self.failing {
                    log::warn!(
                        "cannot save the history ({what} in {}: {e}); it goes on in memory",
                        self.dir.display()
                    );
                }
                self.failing = true;
                // Start the journal again on the next write.
                self.journal = None;
                false
            }
        }
    }

    /// Appends the points taken since the last call (once a minute, and at a stop); the image
    /// is rewritten instead once a day's journal is written.
    pub fn save(&mut self, history: &std::sync::Mutex<History>) {
        if self.records >= RECORDS_PER_IMAGE {
            // Copied with the unsaved points marked saved under one lock: they are in it.
            let image = {
                let mut h = lock(history);
                let _ = h.unsaved();
                h.image()
            };
            self.write_image(image.encode());
            return;
        }
        let Some(payload) = lock(history).unsaved() else {
            return;
        };
        let r = self.append(&codec::record(&payload));
        if self.outcome("journal", r) {
            self.records += 1;
        }
    }

    /// Rewrites the image from `history` (at a clean stop: nothing left in a journal).
    pub fn rewrite(&mut self, history: &History) {
        self.write_image(history.image().encode());
    }

    /// Writes the image file of the next generation and starts its journal.
    fn write_image(&mut self, image: Vec<u8>) {
        let next = self.generation + 1;
        let mut payload = next.to_le_bytes().to_vec();
        payload.extend_from_slice(&image);
        let path = self.image_path();
        let tmp = path.with_extension("img.tmp");
        let r = (|| {
            let mut f = create(&tmp, true)?;
            f.write_all(IMAGE_MAGIC)?;
            f.write_all(&codec::record(&payload))?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            File::open(&self.dir)?.sync_all()
        })();
        if !self.outcome("image", r) {
            let _ = std::fs::remove_file(&tmp);
            return;
        }
        let old = self.journal_path(self.generation);
        self.generation = next;
        self.journal = None;
        self.records = 0;
        let _ = std::fs::remove_file(old);
    }

    fn append(&mut self, record: &[u8]) -> std::io::Result<()> {
        if self.journal.is_none() {
            let path = self.journal_path(self.generation);
            let mut f = OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(&path)?;
            if f.metadata()?.len() == 0 {
                f.write_all(JOURNAL_MAGIC)?;
            }
            self.journal = Some(f);
        }
        let f = self.journal.as_mut().expect("opened above");
        f.write_all(record)?;
        f.sync_data()
    }

    /// Bytes of the history files on disk.
    pub fn bytes(&self) -> u64 {
        [self.image_path(), self.journal_path(self.generation)]
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    }
}

fn lock(h: &std::sync::Mutex<History>) -> std::sync::MutexGuard<'_, History> {
    h.lock().unwrap_or_else(|e| e.into_inner())
}

/// A new file, mode 0600 (`truncate`: replacing what was there).
fn create(path: &Path, truncate: bool) -> std::io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(truncate)
        .mode(0o600)
        .open(path)
}
