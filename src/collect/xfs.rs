//! `xfs`: per-filesystem XFS counters from `/sys/fs/xfs/<device>/stats/stats`, as node_exporter
//! 1.12's `xfs` collector (through procfs' `xfs.ParseStats`) exposes them: 39 counters
//! `node_xfs_<category>_<value>_total{device}`, named after the XFS wiki's "Runtime Stats".
//!
//! Kernel ABI (fs/xfs/xfs_stats.c): one line per category, a name then unsigned 32-bit
//! counters (`%u`, so they wrap at 2^32): `extent_alloc` 4, `abt` and `bmbt` 4 (B-tree lookups,
//! compares, inserts, deletes), `blk_map` 7, `dir` 4, `ig` 7 (inode cache), `rw` 2 (writes, then reads: the
//! kernel's struct order, which procfs read the other way round until 2020), `vnodes`
//! 7 or 8 (`free` was added later); the other lines (`trans`, `log`, `push_ail`, the v2 B-trees,
//! `xpc`'s 64-bit byte counts, lines newer kernels add) have no metric here. The directory
//! names the block device (`sda1`, `dm-0`); `/sys/fs/xfs/stats/stats` is the kernel-wide sum
//! and is not a filesystem (procfs' glob `*/stats/stats` does not reach it).
//!
//! Pitfalls: every filesystem gets all 39 series, a category the file lacks reading 0, as in
//! procfs. Where procfs fails the whole collector (a line with the wrong number of fields or a
//! number that is not a `u32`), only that line is left at 0 here.

use super::family::{Family, Harvest, Registration, Roots, Samples, Settings};
use crate::exposition::Kind;
use crate::read::procfs::{read_capped, sorted_entries, FILE_CAP};
use std::sync::Arc;

/// Registers the `xfs` family.
pub const REGISTRATION: Registration = Registration {
    name: "xfs",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &Settings) -> Box<dyn Family> {
    Box::new(XfsFamily)
}

struct XfsFamily;

/// A stats line node_exporter reads: its name and how many fields it may have.
const LINES: [(&str, &[usize]); 8] = [
    ("extent_alloc", &[4]),
    ("abt", &[4]),
    ("blk_map", &[7]),
    ("bmbt", &[4]),
    ("dir", &[4]),
    ("ig", &[7]),
    ("rw", &[2]),
    ("vnodes", &[7, 8]),
];

/// One metric: its name after `node_xfs_`, its help, and the line and field it comes from.
struct Counter {
    name: &'static str,
    help: &'static str,
    line: &'static str,
    field: usize,
}

const fn c(name: &'static str, line: &'static str, field: usize, help: &'static str) -> Counter {
    Counter {
        name,
        help,
        line,
        field,
    }
}

/// node_exporter's 39 counters, in its order.
const COUNTERS: [Counter; 39] = [
    c("node_xfs_extent_allocation_extents_allocated_total", "extent_alloc", 0, "Number of extents allocated for a filesystem."),
    c("node_xfs_extent_allocation_blocks_allocated_total", "extent_alloc", 1, "Number of blocks allocated for a filesystem."),
    c("node_xfs_extent_allocation_extents_freed_total", "extent_alloc", 2, "Number of extents freed for a filesystem."),
    c("node_xfs_extent_allocation_blocks_freed_total", "extent_alloc", 3, "Number of blocks freed for a filesystem."),
    c("node_xfs_allocation_btree_lookups_total", "abt", 0, "Number of allocation B-tree lookups for a filesystem."),
    c("node_xfs_allocation_btree_compares_total", "abt", 1, "Number of allocation B-tree compares for a filesystem."),
    c("node_xfs_allocation_btree_records_inserted_total", "abt", 2, "Number of allocation B-tree records inserted for a filesystem."),
    c("node_xfs_allocation_btree_records_deleted_total", "abt", 3, "Number of allocation B-tree records deleted for a filesystem."),
    c("node_xfs_block_mapping_reads_total", "blk_map", 0, "Number of block map for read operations for a filesystem."),
    c("node_xfs_block_mapping_writes_total", "blk_map", 1, "Number of block map for write operations for a filesystem."),
    c("node_xfs_block_mapping_unmaps_total", "blk_map", 2, "Number of block unmaps (deletes) for a filesystem."),
    c("node_xfs_block_mapping_extent_list_insertions_total", "blk_map", 3, "Number of extent list insertions for a filesystem."),
    c("node_xfs_block_mapping_extent_list_deletions_total", "blk_map", 4, "Number of extent list deletions for a filesystem."),
    c("node_xfs_block_mapping_extent_list_lookups_total", "blk_map", 5, "Number of extent list lookups for a filesystem."),
    c("node_xfs_block_mapping_extent_list_compares_total", "blk_map", 6, "Number of extent list compares for a filesystem."),
    c("node_xfs_block_map_btree_lookups_total", "bmbt", 0, "Number of block map B-tree lookups for a filesystem."),
    c("node_xfs_block_map_btree_compares_total", "bmbt", 1, "Number of block map B-tree compares for a filesystem."),
    c("node_xfs_block_map_btree_records_inserted_total", "bmbt", 2, "Number of block map B-tree records inserted for a filesystem."),
    c("node_xfs_block_map_btree_records_deleted_total", "bmbt", 3, "Number of block map B-tree records deleted for a filesystem."),
    c("node_xfs_directory_operation_lookup_total", "dir", 0, "Number of file name directory lookups which miss the operating systems directory name lookup cache."),
    c("node_xfs_directory_operation_create_total", "dir", 1, "Number of times a new directory entry was created for a filesystem."),
    c("node_xfs_directory_operation_remove_total", "dir", 2, "Number of times an existing directory entry was created for a filesystem."),
    c("node_xfs_directory_operation_getdents_total", "dir", 3, "Number of times the directory getdents operation was performed for a filesystem."),
    c("node_xfs_inode_operation_attempts_total", "ig", 0, "Number of times the OS looked for an XFS inode in the inode cache."),
    c("node_xfs_inode_operation_found_total", "ig", 1, "Number of times the OS looked for and found an XFS inode in the inode cache."),
    c("node_xfs_inode_operation_recycled_total", "ig", 2, "Number of times the OS found an XFS inode in the cache, but could not use it as it was being recycled."),
    c("node_xfs_inode_operation_missed_total", "ig", 3, "Number of times the OS looked for an XFS inode in the cache, but did not find it."),
    c("node_xfs_inode_operation_duplicates_total", "ig", 4, "Number of times the OS tried to add a missing XFS inode to the inode cache, but found it had already been added by another process."),
    c("node_xfs_inode_operation_reclaims_total", "ig", 5, "Number of times the OS reclaimed an XFS inode from the inode cache to free memory for another purpose."),
    c("node_xfs_inode_operation_attribute_changes_total", "ig", 6, "Number of times the OS explicitly changed the attributes of an XFS inode."),
    c("node_xfs_read_calls_total", "rw", 1, "Number of read(2) system calls made to files in a filesystem."),
    c("node_xfs_write_calls_total", "rw", 0, "Number of write(2) system calls made to files in a filesystem."),
    c("node_xfs_vnode_active_total", "vnodes", 0, "Number of vnodes not on free lists for a filesystem."),
    c("node_xfs_vnode_allocate_total", "vnodes", 1, "Number of times vn_alloc called for a filesystem."),
    c("node_xfs_vnode_get_total", "vnodes", 2, "Number of times vn_get called for a filesystem."),
    c("node_xfs_vnode_hold_total", "vnodes", 3, "Number of times vn_hold called for a filesystem."),
    c("node_xfs_vnode_release_total", "vnodes", 4, "Number of times vn_rele called for a filesystem."),
    c("node_xfs_vnode_reclaim_total", "vnodes", 5, "Number of times vn_reclaim called for a filesystem."),
    c("node_xfs_vnode_remove_total", "vnodes", 6, "Number of times vn_remove called for a filesystem."),
];

/// The lines of [`LINES`] found in `text` with the right number of `u32` fields; any other
/// line, or one that does not parse, is left out.
fn parse(text: &str) -> Vec<(&'static str, Vec<u32>)> {
    let mut found = Vec::new();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let Some(label) = fields.next() else { continue };
        let Some(&(name, counts)) = LINES.iter().find(|(n, _)| *n == label) else {
            continue;
        };
        let Ok(values) = fields.map(str::parse::<u32>).collect::<Result<Vec<_>, _>>() else {
            continue;
        };
        if counts.contains(&values.len()) {
            found.push((name, values));
        }
    }
    found
}

impl Family for XfsFamily {
    fn name(&self) -> &'static str {
        "xfs"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        // No XFS is no series, and success (procfs' glob finds nothing).
        let root = roots.sys("fs/xfs");
        let mut s = Samples::default();
        for entry in sorted_entries(&root) {
            let Ok(text) = read_capped(&root.join(&entry).join("stats/stats"), FILE_CAP) else {
                continue;
            };
            let device = entry.to_string_lossy().into_owned();
            let lines = parse(&text);
            for c in &COUNTERS {
                let v = lines
                    .iter()
                    .rev()
                    .find(|(n, _)| *n == c.line)
                    .map_or(0, |(_, v)| v[c.field]);
                s.push(
                    c.name,
                    Kind::Counter,
                    c.help,
                    vec![("device", device.clone())],
                    v.into(),
                );
            }
        }
        Ok(Arc::new(s.sorted()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{assert_values, run};

    #[test]
    fn vm_root_and_data_filesystems() {
        let t = run(&REGISTRATION, "vm");
        assert_values(
            &t,
            &[
                (
                    "node_xfs_extent_allocation_blocks_freed_total{device=\"vda2\"}",
                    131131897.0,
                ),
                (
                    "node_xfs_block_mapping_extent_list_compares_total{device=\"vda2\"}",
                    0.0,
                ),
                (
                    "node_xfs_block_mapping_extent_list_lookups_total{device=\"vda2\"}",
                    507765713.0,
                ),
                (
                    "node_xfs_block_map_btree_records_deleted_total{device=\"vda2\"}",
                    86646.0,
                ),
                (
                    "node_xfs_directory_operation_getdents_total{device=\"vda2\"}",
                    779205554.0,
                ),
                (
                    "node_xfs_inode_operation_recycled_total{device=\"vda2\"}",
                    102.0,
                ),
                (
                    "node_xfs_inode_operation_attribute_changes_total{device=\"vda2\"}",
                    3962470.0,
                ),
                ("node_xfs_read_calls_total{device=\"vda2\"}", 1046884251.0),
                ("node_xfs_write_calls_total{device=\"vda2\"}", 1595677950.0),
                ("node_xfs_vnode_release_total{device=\"vda2\"}", 15897088.0),
                ("node_xfs_vnode_active_total{device=\"dm-0\"}", 92601.0),
                (
                    "node_xfs_allocation_btree_lookups_total{device=\"dm-0\"}",
                    0.0,
                ),
                (
                    "node_xfs_extent_allocation_extents_allocated_total{device=\"dm-0\"}",
                    92447.0,
                ),
            ],
        );
        // Two filesystems, 39 counters each; the kernel-wide `stats/stats` is not one.
        assert_eq!(t.lines().filter(|l| !l.starts_with('#')).count(), 78, "{t}");
        assert!(!t.contains("device=\"stats\""));
        assert!(t.contains("# TYPE node_xfs_vnode_remove_total counter\n"));
    }

    #[test]
    fn hostile_lines_are_left_at_zero() {
        let t = run(&REGISTRATION, "hostile");
        assert_values(
            &t,
            &[
                // Three fields where four belong: left out.
                (
                    "node_xfs_extent_allocation_extents_allocated_total{device=\"sdz1\"}",
                    0.0,
                ),
                (
                    "node_xfs_allocation_btree_records_deleted_total{device=\"sdz1\"}",
                    40.0,
                ),
                ("node_xfs_block_mapping_reads_total{device=\"sdz1\"}", 0.0),
                (
                    "node_xfs_directory_operation_lookup_total{device=\"sdz1\"}",
                    0.0,
                ),
                // Beyond u32.
                ("node_xfs_write_calls_total{device=\"sdz1\"}", 0.0),
                (
                    "node_xfs_inode_operation_attribute_changes_total{device=\"sdz1\"}",
                    7.0,
                ),
                ("node_xfs_vnode_remove_total{device=\"sdz1\"}", 7.0),
                // No trailing newline.
                (
                    "node_xfs_extent_allocation_extents_freed_total{device=\"sdz2\"}",
                    7.0,
                ),
                ("node_xfs_read_calls_total{device=\"sdz3\"}", 0.0),
            ],
        );
        assert!(!t.contains("nostats"));
    }

    proptest::proptest! {
        #![proptest_config(crate::testing::cases(256))]

        /// Any text parses without a panic into known lines with a field count node_exporter
        /// accepts; a well-formed `rw` line is read as written.
        #[test]
        fn any_stats_text(text in "(?s).{0,400}", w in proptest::prelude::any::<u32>(), r in proptest::prelude::any::<u32>()) {
            for (name, values) in parse(&text) {
                let counts = LINES.iter().find(|(n, _)| *n == name).map(|(_, c)| *c).unwrap_or(&[]);
                proptest::prop_assert!(counts.contains(&values.len()));
            }
            let lines = parse(&format!("{text}\nrw {w} {r}\n"));
            let rw = lines.iter().rev().find(|(n, _)| *n == "rw").map(|(_, v)| v.clone());
            proptest::prop_assert_eq!(rw, Some(vec![w, r]));
        }
    }

    #[test]
    fn without_xfs_is_empty() {
        assert_eq!(run(&REGISTRATION, "laptop"), "");
    }
}
