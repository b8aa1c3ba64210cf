//! The btrfs ioctls the `btrfs` family asks each mounted btrfs (`BTRFS_IOC_FS_INFO`,
//! `BTRFS_IOC_DEV_INFO`, `BTRFS_IOC_GET_DEV_STATS`, none of which needs privileges), as
//! node_exporter's btrfs library does: the filesystem's devices, their sizes and error counts.

use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// One device of a mounted filesystem, as `BTRFS_IOC_DEV_INFO` and `BTRFS_IOC_GET_DEV_STATS`
/// report it.
#[derive(Debug, Clone, PartialEq)]
pub struct DevInfo {
    /// The device node it was added by (`/dev/sda2`).
    pub path: String,
    /// Its device UUID, dashed (node_exporter's `btrfs_dev_uuid`).
    pub uuid: String,
    pub bytes_used: u64,
    pub total_bytes: u64,
    /// Write, read, flush, corruption and generation errors.
    pub errors: [u64; 5],
}

/// The btrfs mounted at `path` (below `--path.rootfs`): its fsid and devices, or `None` if it
/// cannot be opened (read-only, `O_DIRECTORY | O_NONBLOCK`) or the ioctls do not answer. The
/// caller has made sure its `statvfs` is not stuck first (a hung mount is not opened).
pub fn devices(path: &Path) -> Option<(String, Vec<DevInfo>)> {
    let dir = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    ioctl_filesystem(&dir)
}

/// The btrfs ioctls node_exporter uses (linux/btrfs.h): `_IOR(0x94, 31, 1024 bytes)`,
/// `_IOWR(0x94, 30, 4096 bytes)`, `_IOWR(0x94, 52, 1032 bytes)`.
const IOC_FS_INFO: u32 = (2 << 30) | (1024 << 16) | (0x94 << 8) | 31;
const IOC_DEV_INFO: u32 = (3 << 30) | (4096 << 16) | (0x94 << 8) | 30;
const IOC_GET_DEV_STATS: u32 = (3 << 30) | (1032 << 16) | (0x94 << 8) | 52;

/// `ioctl(fd, request, buf)` on a buffer of the request's size; the error if it fails.
fn ioctl<const N: usize>(
    fd: &std::fs::File,
    request: u32,
    buf: &mut [u64; N],
) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: `buf` is N*8 bytes, exactly the size the request encodes, aligned for the
    // kernel's structs (all u64 first); the kernel writes only within it.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), request as libc::Ioctl, buf.as_mut_ptr()) };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The bytes of `words` (the kernel's struct, in host order).
fn bytes_of(words: &[u64]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_ne_bytes()).collect()
}

/// A device UUID as node_exporter's btrfs library writes it (`<zero>` for none).
pub fn dashed_uuid(b: &[u8]) -> String {
    if b.iter().all(|&x| x == 0) {
        return "<zero>".to_owned();
    }
    let hex =
        |r: std::ops::Range<usize>| b[r].iter().map(|x| format!("{x:02x}")).collect::<String>();
    format!(
        "{}-{}-{}-{}-{}",
        hex(0..4),
        hex(4..6),
        hex(6..8),
        hex(8..10),
        hex(10..16)
    )
}

/// The filesystem open at `fd`: its fsid (32 hex digits) and devices, as node_exporter's
/// `getIoctlDeviceStats` walks them: device ids 0 to `max_id`, skipping the absent (`ENODEV`),
/// until `num_devices` are found. Any other failure gives nothing (the sysfs fallback).
fn ioctl_filesystem(fd: &std::fs::File) -> Option<(String, Vec<DevInfo>)> {
    let mut info = [0u64; 128];
    ioctl(fd, IOC_FS_INFO, &mut info).ok()?;
    let (max_id, num_devices) = (info[0], info[1]);
    let fsid: String = bytes_of(&info[2..4])
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect();
    let mut devices = Vec::new();
    // A corrupt max_id must not spin the sampler: btrfs has at most a few hundred devices.
    for id in 0..=max_id.min(4096) {
        let mut dev = [0u64; 512];
        dev[0] = id;
        match ioctl(fd, IOC_DEV_INFO, &mut dev) {
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => continue,
            Err(_) => return None,
            Ok(()) => {}
        }
        let mut stats = [0u64; 129];
        stats[0] = id;
        stats[1] = 5;
        ioctl(fd, IOC_GET_DEV_STATS, &mut stats).ok()?;
        let raw = bytes_of(&dev);
        let path = &raw[3072..];
        let path = &path[..path.iter().position(|&b| b == 0).unwrap_or(path.len())];
        devices.push(DevInfo {
            path: String::from_utf8_lossy(path).into_owned(),
            uuid: dashed_uuid(&raw[8..24]),
            bytes_used: dev[3],
            total_bytes: dev[4],
            errors: [stats[3], stats[4], stats[5], stats[6], stats[7]],
        });
        if devices.len() as u64 == num_devices {
            break;
        }
    }
    Some((fsid, devices))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_and_request_numbers() {
        assert_eq!(dashed_uuid(&[0; 16]), "<zero>");
        assert_eq!(
            dashed_uuid(&[0xab; 16]),
            "abababab-abab-abab-abab-abababababab"
        );
        // linux/btrfs.h's numbers.
        assert_eq!(
            (IOC_FS_INFO, IOC_DEV_INFO, IOC_GET_DEV_STATS),
            (0x8400_941f, 0xd000_941e, 0xc408_9434)
        );
    }
}
