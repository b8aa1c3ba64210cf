//! The running kernel's IPv4 neighbour table (the ARP cache) over rtnetlink, for the `arp`
//! family's `--collector.arp.netlink` (node_exporter's default since 1.7).
//!
//! One `NETLINK_ROUTE` socket per reading: an `RTM_GETNEIGH` dump request (`NLM_F_DUMP`) for
//! `AF_INET`, then `RTM_NEWNEIGH` messages (an `ndmsg` and its attributes each) until
//! `NLMSG_DONE`. What the kernel sends is parsed by [`parse`], a pure function over the bytes
//! (tested with byte buffers built in the tests). Bounded: the socket answers within
//! [`RECV_TIMEOUT`] or the reading fails, the whole dump within [`DEADLINE`] (each receive
//! waits at most for what is left of it) and [`MAX_BYTES`], and a message the buffer cannot
//! hold (`MSG_TRUNC`) fails it too, so neither a stuck socket nor a huge table holds the
//! sampler. Like node_exporter, this reads the network namespace psmonitor runs in, whatever
//! `--path.procfs` says (the table is not a file there). Where no netlink socket may be opened
//! at all (a systemd unit whose `RestrictAddressFamilies=` lacks `AF_NETLINK`, a container's
//! seccomp policy) the error says so ([`DumpError::Unavailable`]), for the caller to read the
//! table another way.

use std::time::{Duration, Instant};

/// `ndm_state`'s bit for entries that need no resolution (loopback, multicast, point-to-point):
/// the kernel leaves them out of `/proc/net/arp`, and node_exporter out of its counts.
pub const NUD_NOARP: u16 = 0x40;

/// How long one `recv` may wait for the kernel.
pub const RECV_TIMEOUT: Duration = Duration::from_millis(250);

/// How long the whole dump may take: each receive waits at most for what is left of it, so
/// a dump the kernel answers slowly fails after about this long.
pub const DEADLINE: Duration = Duration::from_secs(1);

/// At most this many bytes of dump are read (an entry is about 80 bytes: some 800 000
/// entries, far past any `gc_thresh3`); past it the reading fails.
pub const MAX_BYTES: usize = 64 << 20;

/// The receive buffer: the kernel fills up to 32 KiB per message batch for a dump.
pub const BUF_LEN: usize = 64 << 10;

const NLMSG_HDRLEN: usize = 16;
const NDMSG_LEN: usize = 12;
const NLMSG_NOOP: u16 = 1;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const RTM_NEWNEIGH: u16 = 28;
const RTM_GETNEIGH: u16 = 30;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;

/// One neighbour-table entry, as its `ndmsg` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Neighbour {
    /// `AF_INET` (2) or `AF_INET6` (10).
    pub family: u8,
    /// The interface's index (`if_indextoname`).
    pub ifindex: u32,
    /// The `NUD_*` state (`NUD_REACHABLE`, ...; 0 is `NUD_NONE`).
    pub state: u16,
}

/// The name node_exporter's pull request 3191 gives a state (its `neighborStatesMap`): the
/// `state` label of `node_arp_states`. A value it has no name for (`NUD_NONE`, 0) is `""`, as
/// a Go map's missing key gives.
pub fn state_name(state: u16) -> &'static str {
    match state {
        0x01 => "incomplete",
        0x02 => "reachable",
        0x04 => "stale",
        0x08 => "delay",
        0x10 => "probe",
        0x20 => "failed",
        0x80 => "permanent",
        _ => "",
    }
}

/// What [`parse`] found at the end of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// The dump goes on in the next buffer.
    More,
    /// `NLMSG_DONE`: the dump is complete.
    Done,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Netlink's 4-byte alignment.
fn align(n: usize) -> usize {
    (n + 3) & !3
}

/// Parses one buffer the kernel sent for the dump numbered `seq` (host byte order, as netlink
/// is): each `RTM_NEWNEIGH` goes to `each`; messages of another sequence number or type, and
/// `NLMSG_NOOP`, are passed over. An `NLMSG_ERROR` with an error, a header or `ndmsg` that
/// does not fit its message, or an attribute that does not fit its `ndmsg`'s message is an
/// error for the whole reading (what is counted so far would be part of a table).
pub fn parse(buf: &[u8], seq: u32, each: &mut dyn FnMut(Neighbour)) -> Result<Parsed, String> {
    let mut at = 0;
    while at < buf.len() {
        let rest = &buf[at..];
        if rest.len() < NLMSG_HDRLEN {
            return Err(format!("{} stray bytes after a message", rest.len()));
        }
        let len = u32_at(rest, 0) as usize;
        if len < NLMSG_HDRLEN || len > rest.len() {
            return Err(format!("a message of {len} bytes in {}", rest.len()));
        }
        let (kind, msg_seq) = (u16_at(rest, 4), u32_at(rest, 8));
        let payload = &rest[NLMSG_HDRLEN..len];
        at += align(len);
        if msg_seq != seq {
            continue;
        }
        match kind {
            // The kernel may end a dump with its error in DONE's payload (an `int`, a
            // negative errno): `netlink_dump` does when the dump callback fails part-way.
            NLMSG_DONE => {
                if payload.len() >= 4 {
                    error_code(u32_at(payload, 0))?;
                }
                return Ok(Parsed::Done);
            }
            NLMSG_ERROR => {
                if payload.len() < 4 {
                    return Err("a short error message".into());
                }
                error_code(u32_at(payload, 0))?;
            }
            RTM_NEWNEIGH => {
                if payload.len() < NDMSG_LEN {
                    return Err(format!("an ndmsg of {} bytes", payload.len()));
                }
                attributes_fit(&payload[align(NDMSG_LEN).min(payload.len())..])?;
                each(Neighbour {
                    family: payload[0],
                    ifindex: u32_at(payload, 4),
                    state: u16_at(payload, 8),
                });
            }
            NLMSG_NOOP => {}
            _ => {}
        }
    }
    Ok(Parsed::More)
}

/// The `int` error field of an `NLMSG_ERROR` or `NLMSG_DONE` payload: 0 is none (an ack, a
/// clean end), a negative errno is that error, and anything else (a positive value, or
/// `i32::MIN`, which has no negation) is not something the kernel writes.
fn error_code(raw: u32) -> Result<(), String> {
    match (raw as i32).checked_neg() {
        Some(0) => Ok(()),
        Some(errno) if errno > 0 => Err(std::io::Error::from_raw_os_error(errno).to_string()),
        _ => Err(format!("a malformed netlink error code {}", raw as i32)),
    }
}

/// Checks that a chain of `rtattr`s (2-byte length including its 4-byte header, 2-byte
/// type, value, padding to 4) lies within `attrs`.
fn attributes_fit(mut attrs: &[u8]) -> Result<(), String> {
    while !attrs.is_empty() {
        if attrs.len() < 4 {
            return Err(format!("{} stray bytes after an attribute", attrs.len()));
        }
        let len = u16_at(attrs, 0) as usize;
        if len < 4 || len > attrs.len() {
            return Err(format!("an attribute of {len} bytes in {}", attrs.len()));
        }
        attrs = &attrs[align(len).min(attrs.len())..];
    }
    Ok(())
}

/// The `RTM_GETNEIGH` dump request for `AF_INET`, numbered `seq`.
pub fn request(seq: u32) -> [u8; NLMSG_HDRLEN + NDMSG_LEN] {
    let mut r = [0u8; NLMSG_HDRLEN + NDMSG_LEN];
    r[0..4].copy_from_slice(&((NLMSG_HDRLEN + NDMSG_LEN) as u32).to_ne_bytes());
    r[4..6].copy_from_slice(&RTM_GETNEIGH.to_ne_bytes());
    r[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    r[8..12].copy_from_slice(&seq.to_ne_bytes());
    r[NLMSG_HDRLEN] = libc::AF_INET as u8;
    r
}

/// Why a dump gave no reading.
#[derive(Debug)]
pub enum DumpError {
    /// No netlink socket may be opened here (`EAFNOSUPPORT`, `EPERM` or `EACCES` from
    /// `socket(2)`: a unit's `RestrictAddressFamilies=` without `AF_NETLINK`, a seccomp or LSM
    /// policy); every later dump would fail alike.
    Unavailable(std::io::Error),
    /// Anything else: no answer in time, a malformed or truncated message, the kernel's error.
    Failed(String),
}

impl std::fmt::Display for DumpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DumpError::Unavailable(e) => write!(f, "netlink socket: {e}"),
            DumpError::Failed(e) => f.write_str(e),
        }
    }
}

impl From<String> for DumpError {
    fn from(e: String) -> DumpError {
        DumpError::Failed(e)
    }
}

/// What a failed `socket(AF_NETLINK, ...)` means: [`DumpError::Unavailable`] for the errors a
/// policy gives, [`DumpError::Failed`] for the rest (out of descriptors, of memory).
pub fn socket_error(e: std::io::Error) -> DumpError {
    match e.raw_os_error() {
        Some(libc::EAFNOSUPPORT | libc::EPERM | libc::EACCES) => DumpError::Unavailable(e),
        _ => DumpError::Failed(format!("netlink socket: {e}")),
    }
}

/// A file descriptor closed when dropped.
struct Fd(libc::c_int);

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: the descriptor is ours (socket(2) returned it) and closed once.
        unsafe { libc::close(self.0) };
    }
}

fn last_error(what: &str) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

/// Dumps the IPv4 neighbour table of psmonitor's network namespace into `each`, receiving
/// into `buf` (grown to [`BUF_LEN`] once). An error (no socket, no answer in time, a
/// malformed or truncated message) means no reading.
pub fn dump_ipv4(buf: &mut Vec<u8>, each: &mut dyn FnMut(Neighbour)) -> Result<(), DumpError> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static SEQ: AtomicU32 = AtomicU32::new(1);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let fd = open()?;
    // SAFETY: an all-zero sockaddr_nl is valid: pid 0 is the kernel, no groups.
    let mut kernel: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    kernel.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    let req = request(seq);
    // SAFETY: `req` and `kernel` outlive the call, with their sizes passed.
    let sent = unsafe {
        libc::sendto(
            fd.0,
            req.as_ptr().cast(),
            req.len(),
            0,
            (&kernel as *const libc::sockaddr_nl).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if sent != req.len() as isize {
        return Err(last_error("netlink request").into());
    }
    Ok(receive(&fd, seq, buf, each)?)
}

/// A `NETLINK_ROUTE` socket whose sends and receives give up after [`RECV_TIMEOUT`].
fn open() -> Result<Fd, DumpError> {
    // SAFETY: socket(2) with constant arguments; the descriptor is owned by `Fd`.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    };
    if fd < 0 {
        return Err(socket_error(std::io::Error::last_os_error()));
    }
    let fd = Fd(fd);
    for opt in [libc::SO_RCVTIMEO, libc::SO_SNDTIMEO] {
        set_timeout(&fd, opt, RECV_TIMEOUT)?;
    }
    Ok(fd)
}

/// Sets the socket's send or receive timeout (`opt`) to `d`, at least a microsecond (a zero
/// `timeval` would mean no timeout).
fn set_timeout(fd: &Fd, opt: libc::c_int, d: Duration) -> Result<(), String> {
    let d = d.max(Duration::from_micros(1));
    // musl's `time_t` is deprecated in the libc crate, as in `collect::time::zone`.
    #[allow(deprecated)]
    let tv = libc::timeval {
        tv_sec: d.as_secs() as libc::time_t,
        tv_usec: d.subsec_micros() as libc::suseconds_t,
    };
    // SAFETY: `tv` is a timeval that outlives the call, with its size passed.
    let rc = unsafe {
        libc::setsockopt(
            fd.0,
            libc::SOL_SOCKET,
            opt,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(last_error("netlink timeout"));
    }
    Ok(())
}

/// How long the next receive may wait when the dump began `elapsed` ago: [`RECV_TIMEOUT`], or
/// what is left of [`DEADLINE`] if that is less; `None` once it has passed.
fn wait_for(elapsed: Duration) -> Option<Duration> {
    let left = DEADLINE.checked_sub(elapsed).filter(|d| !d.is_zero())?;
    Some(left.min(RECV_TIMEOUT))
}

/// Receives the kernel's answer to dump `seq` on `fd` until `NLMSG_DONE`, within
/// [`DEADLINE`] and [`MAX_BYTES`].
fn receive(
    fd: &Fd,
    seq: u32,
    buf: &mut Vec<u8>,
    each: &mut dyn FnMut(Neighbour),
) -> Result<(), String> {
    buf.resize(BUF_LEN, 0);
    let start = Instant::now();
    let mut total = 0usize;
    loop {
        let Some(wait) = wait_for(start.elapsed()) else {
            return Err(format!("netlink dump not done within {DEADLINE:?}"));
        };
        set_timeout(fd, libc::SO_RCVTIMEO, wait)?;
        // SAFETY: as above; `from` is written by the kernel within its passed size.
        let mut from: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        let mut from_len = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
        // SAFETY: `buf` holds `buf.len()` writable bytes; MSG_TRUNC only changes what the
        // return value says (the full length of a message longer than the buffer).
        let n = unsafe {
            libc::recvfrom(
                fd.0,
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_TRUNC,
                (&mut from as *mut libc::sockaddr_nl).cast(),
                &mut from_len,
            )
        };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(format!("netlink answer: {e}"));
        }
        let n = n as usize;
        if n > buf.len() {
            return Err(format!("a netlink message of {n} bytes"));
        }
        if from.nl_pid != 0 {
            continue; // not from the kernel
        }
        total += n;
        if total > MAX_BYTES {
            return Err(format!("netlink dump past {MAX_BYTES} bytes"));
        }
        if parse(&buf[..n], seq, each)? == Parsed::Done {
            return Ok(());
        }
    }
}

/// The name of interface `ifindex` in psmonitor's network namespace; `None` if it is gone
/// (node_exporter leaves its entries out then).
pub fn interface_name(ifindex: u32) -> Option<String> {
    let mut name = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: `name` has the IF_NAMESIZE bytes if_indextoname writes at most (with its NUL).
    let p = unsafe { libc::if_indextoname(ifindex, name.as_mut_ptr()) };
    if p.is_null() {
        return None;
    }
    // SAFETY: on success `name` holds a NUL-terminated string.
    let s = unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) };
    Some(s.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds one netlink message: header, then `payload`, padded to 4.
    fn message(kind: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend(((NLMSG_HDRLEN + payload.len()) as u32).to_ne_bytes());
        m.extend(kind.to_ne_bytes());
        m.extend(flags.to_ne_bytes());
        m.extend(seq.to_ne_bytes());
        m.extend(4242u32.to_ne_bytes()); // our port id
        m.extend(payload);
        while m.len() % 4 != 0 {
            m.push(0);
        }
        m
    }

    /// An attribute: length, type, value, padding.
    fn attr(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut a = Vec::new();
        a.extend(((4 + value.len()) as u16).to_ne_bytes());
        a.extend(kind.to_ne_bytes());
        a.extend(value);
        while a.len() % 4 != 0 {
            a.push(0);
        }
        a
    }

    /// An RTM_NEWNEIGH payload as the kernel writes one: ndmsg, NDA_DST, NDA_LLADDR,
    /// NDA_PROBES, NDA_CACHEINFO.
    fn neigh(family: u8, ifindex: u32, state: u16, dst: &[u8]) -> Vec<u8> {
        let mut p = vec![family, 0, 0, 0];
        p.extend(ifindex.to_ne_bytes());
        p.extend(state.to_ne_bytes());
        p.extend([0u8, 1]); // ndm_flags, ndm_type RTN_UNICAST
        p.extend(attr(1, dst));
        p.extend(attr(2, &[2, 0, 0, 0, 0, 9]));
        p.extend(attr(4, &0u32.to_ne_bytes()));
        p.extend(attr(3, &[0; 16]));
        p
    }

    fn parse_all(buf: &[u8], seq: u32) -> (Result<Parsed, String>, Vec<Neighbour>) {
        let mut seen = Vec::new();
        let r = parse(buf, seq, &mut |n| seen.push(n));
        (r, seen)
    }

    #[test]
    fn a_dump_in_two_buffers() {
        let mut first = message(RTM_NEWNEIGH, 2, 7, &neigh(2, 3, 0x02, &[10, 0, 0, 1]));
        first.extend(message(
            RTM_NEWNEIGH,
            2,
            7,
            &neigh(2, 3, 0x40, &[10, 0, 0, 2]),
        ));
        let (r, seen) = parse_all(&first, 7);
        assert_eq!(r, Ok(Parsed::More));
        assert_eq!(
            seen,
            [
                Neighbour {
                    family: 2,
                    ifindex: 3,
                    state: 0x02
                },
                Neighbour {
                    family: 2,
                    ifindex: 3,
                    state: NUD_NOARP
                }
            ]
        );
        let mut second = message(RTM_NEWNEIGH, 2, 7, &neigh(10, 4, 0x80, &[0xfe; 16]));
        second.extend(message(NLMSG_DONE, 2, 7, &0u32.to_ne_bytes()));
        // Anything after DONE is not read.
        second.extend([1, 2, 3]);
        let (r, seen) = parse_all(&second, 7);
        assert_eq!(r, Ok(Parsed::Done));
        assert_eq!(
            (seen[0].family, seen[0].ifindex, seen[0].state),
            (10, 4, 0x80)
        );
    }

    #[test]
    fn the_request_is_an_ipv4_neighbour_dump() {
        let r = request(0x01020304);
        assert_eq!(u32_at(&r, 0), 28);
        assert_eq!(u16_at(&r, 4), RTM_GETNEIGH);
        assert_eq!(u16_at(&r, 6), 0x301);
        assert_eq!(u32_at(&r, 8), 0x01020304);
        assert_eq!(&r[16..], &[2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn other_sequences_noops_and_acks_are_passed_over() {
        let mut b = message(RTM_NEWNEIGH, 2, 6, &neigh(2, 1, 2, &[1, 2, 3, 4]));
        b.extend(message(NLMSG_NOOP, 0, 7, &[]));
        b.extend(message(NLMSG_ERROR, 0, 7, &[0; 20])); // an ack: error 0
        b.extend(message(24, 2, 7, &[0; 12])); // RTM_NEWROUTE: not ours
        let (r, seen) = parse_all(&b, 7);
        assert_eq!((r, seen.len()), (Ok(Parsed::More), 0));
    }

    #[test]
    fn an_error_message_fails_the_reading() {
        let b = message(NLMSG_ERROR, 0, 7, &(-libc::EPERM).to_ne_bytes());
        let (r, _) = parse_all(&b, 7);
        assert!(r.unwrap_err().contains("not permitted"));
    }

    /// The kernel ends a dump that failed part-way with `NLMSG_DONE` carrying the negative
    /// errno (`netlink_dump`): the reading fails, not a partial table taken as whole. A DONE
    /// with 0, or without a payload, ends it cleanly.
    #[test]
    fn a_done_carrying_an_error_fails_the_reading() {
        let mut b = message(RTM_NEWNEIGH, 2, 7, &neigh(2, 3, 0x02, &[10, 0, 0, 1]));
        b.extend(message(NLMSG_DONE, 2, 7, &(-libc::EINTR).to_ne_bytes()));
        let (r, seen) = parse_all(&b, 7);
        assert_eq!(seen.len(), 1);
        let err = r.unwrap_err();
        assert!(err.contains("Interrupted system call"), "{err}");
        let done = |payload: &[u8]| parse_all(&message(NLMSG_DONE, 2, 7, payload), 7).0;
        assert_eq!(done(&0i32.to_ne_bytes()), Ok(Parsed::Done));
        assert_eq!(done(&[]), Ok(Parsed::Done));
        // Under 4 bytes there is no error field to read.
        assert_eq!(done(&[0xff, 0xff]), Ok(Parsed::Done));
        // A DONE of another dump is passed over, error or not.
        let other = message(NLMSG_DONE, 2, 6, &(-libc::EIO).to_ne_bytes());
        assert_eq!(parse_all(&other, 7).0, Ok(Parsed::More));
    }

    /// An error field the kernel never writes: `i32::MIN` (whose negation overflows, a panic
    /// in a debug build) and a positive value fail the reading as malformed, in an
    /// `NLMSG_ERROR` and in an `NLMSG_DONE` alike.
    #[test]
    fn error_codes_without_a_negation_are_malformed() {
        for kind in [NLMSG_ERROR, NLMSG_DONE] {
            for code in [i32::MIN, 1, libc::EPERM, i32::MAX] {
                let mut payload = code.to_ne_bytes().to_vec();
                payload.extend([0u8; 16]); // the request's header, as in an NLMSG_ERROR
                let (r, _) = parse_all(&message(kind, 0, 7, &payload), 7);
                let err = r.unwrap_err();
                assert!(err.contains("malformed"), "{kind} {code}: {err}");
            }
        }
        assert_eq!(error_code(0), Ok(()));
        assert!(error_code((-libc::ENOBUFS) as u32)
            .unwrap_err()
            .contains("No buffer space"));
    }

    /// The errors a policy gives when no netlink socket may be opened are told apart from the
    /// rest, for the caller to fall back to `/proc/net/arp`.
    #[test]
    fn a_refused_socket_is_unavailable() {
        for errno in [libc::EAFNOSUPPORT, libc::EPERM, libc::EACCES] {
            let e = socket_error(std::io::Error::from_raw_os_error(errno));
            assert!(matches!(e, DumpError::Unavailable(_)), "{errno}: {e}");
            assert!(e.to_string().starts_with("netlink socket: "), "{e}");
        }
        for errno in [libc::EMFILE, libc::ENOBUFS, libc::EPROTONOSUPPORT] {
            let e = socket_error(std::io::Error::from_raw_os_error(errno));
            assert!(matches!(e, DumpError::Failed(_)), "{errno}: {e}");
        }
    }

    /// Each receive waits for the smaller of its own timeout and what is left of the
    /// deadline, so a dump never takes more than the deadline plus the parsing.
    #[test]
    fn receives_wait_at_most_for_what_is_left() {
        let ms = Duration::from_millis;
        assert_eq!(wait_for(ms(0)), Some(RECV_TIMEOUT));
        assert_eq!(wait_for(DEADLINE - RECV_TIMEOUT), Some(RECV_TIMEOUT));
        assert_eq!(wait_for(DEADLINE - ms(10)), Some(ms(10)));
        assert_eq!(wait_for(DEADLINE), None);
        assert_eq!(wait_for(DEADLINE + ms(1)), None);
        // However little is left, the timeout set is not 0 (which would mean none).
        let fd = open().unwrap();
        set_timeout(&fd, libc::SO_RCVTIMEO, Duration::from_nanos(10)).unwrap();
        let mut tv = libc::timeval {
            tv_sec: 9,
            tv_usec: 9,
        };
        let mut len = std::mem::size_of::<libc::timeval>() as libc::socklen_t;
        // SAFETY: `tv` and `len` outlive the call; the kernel writes at most `len` bytes.
        let rc = unsafe {
            libc::getsockopt(
                fd.0,
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&mut tv as *mut libc::timeval).cast(),
                &mut len,
            )
        };
        assert_eq!(rc, 0);
        assert!(
            tv.tv_sec == 0 && tv.tv_usec > 0,
            "{} {}",
            tv.tv_sec,
            tv.tv_usec
        );
    }

    #[test]
    fn malformed_buffers_fail_without_panicking() {
        let good = message(RTM_NEWNEIGH, 2, 7, &neigh(2, 1, 2, &[1, 2, 3, 4]));
        // Every truncation of a good message, and a length past the buffer.
        for cut in 1..good.len() {
            let (r, _) = parse_all(&good[..cut], 7);
            assert!(r.is_err(), "cut at {cut}");
        }
        let mut long = good.clone();
        long[0..4].copy_from_slice(&1000u32.to_ne_bytes());
        assert!(parse_all(&long, 7).0.is_err());
        // A length under the header's.
        let mut short = good.clone();
        short[0..4].copy_from_slice(&8u32.to_ne_bytes());
        assert!(parse_all(&short, 7).0.is_err());
        // An ndmsg cut short, and an attribute longer than its message.
        assert!(parse_all(&message(RTM_NEWNEIGH, 2, 7, &[2, 0, 0, 0]), 7)
            .0
            .is_err());
        let mut p = neigh(2, 1, 2, &[1, 2, 3, 4]);
        p[12..14].copy_from_slice(&200u16.to_ne_bytes());
        assert!(parse_all(&message(RTM_NEWNEIGH, 2, 7, &p), 7).0.is_err());
        // An attribute length under its header's.
        p[12..14].copy_from_slice(&2u16.to_ne_bytes());
        assert!(parse_all(&message(RTM_NEWNEIGH, 2, 7, &p), 7).0.is_err());
        // Random bytes never panic.
        let mut x: u32 = 12345;
        for _ in 0..2000 {
            let mut b = good.clone();
            for _ in 0..3 {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let i = (x >> 8) as usize % b.len();
                b[i] = (x >> 16) as u8;
            }
            let _ = parse_all(&b, 7);
        }
    }

    #[test]
    fn state_names_are_node_exporters() {
        let names: Vec<_> = [0u16, 1, 2, 4, 8, 0x10, 0x20, 0x40, 0x80]
            .iter()
            .map(|&s| state_name(s))
            .collect();
        assert_eq!(
            names,
            [
                "",
                "incomplete",
                "reachable",
                "stale",
                "delay",
                "probe",
                "failed",
                "",
                "permanent"
            ]
        );
    }

    /// A socket the kernel never answers (no request was sent) gives an error after the
    /// receive timeout instead of holding the sampler.
    #[test]
    fn a_silent_socket_times_out() {
        let fd = open().unwrap();
        let mut buf = Vec::new();
        let err = receive(&fd, 1, &mut buf, &mut |_| panic!("no entry")).unwrap_err();
        assert!(err.starts_with("netlink answer: "), "{err}");
    }

    /// The real kernel answers the dump with IPv4 entries only (how many this host has is its
    /// own business: tests/parity.rs counts them in a network namespace of its own).
    #[test]
    fn the_kernel_answers_a_dump() {
        let mut buf = Vec::new();
        dump_ipv4(&mut buf, &mut |e| assert_eq!(e.family, libc::AF_INET as u8)).unwrap();
        assert_eq!(buf.len(), BUF_LEN);
        assert_eq!(interface_name(1).as_deref(), Some("lo"));
        assert_eq!(interface_name(u32::MAX), None);
    }
}
