//! The registry of metric families: one line each. `--collector.NAME` and
//! `--no-collector.NAME` turn them on and off, as in node_exporter.

use super::family::Registration;
use super::*;

/// Every family, in node_exporter's collector names.
pub const ALL: &[&Registration] = &[
    &arp::REGISTRATION,
    &bcache::REGISTRATION,
    &bcachefs::REGISTRATION,
    &bonding::REGISTRATION,
    &btrfs::REGISTRATION,
    &conntrack::REGISTRATION,
    &containers::REGISTRATION,
    &cpu::REGISTRATION,
    &cpufreq::REGISTRATION,
    &diskstats::REGISTRATION,
    &dmi::REGISTRATION,
    &dmmultipath::REGISTRATION,
    &edac::REGISTRATION,
    &entropy::REGISTRATION,
    &fibrechannel::REGISTRATION,
    &filefd::REGISTRATION,
    &filesystem::REGISTRATION,
    &hwmon::REGISTRATION,
    &infiniband::REGISTRATION,
    &ipvs::REGISTRATION,
    &kernel_hung::REGISTRATION,
    &loadavg::REGISTRATION,
    &mdadm::REGISTRATION,
    &meminfo::REGISTRATION,
    &netclass::REGISTRATION,
    &netdev::REGISTRATION,
    &netstat::REGISTRATION,
    &nfs::REGISTRATION,
    &nfsd::REGISTRATION,
    &nvme::REGISTRATION,
    &os::REGISTRATION,
    &powersupplyclass::REGISTRATION,
    &pressure::REGISTRATION,
    &rapl::REGISTRATION,
    &schedstat::REGISTRATION,
    &selinux::REGISTRATION,
    &sockstat::REGISTRATION,
    &softnet::REGISTRATION,
    &stat::REGISTRATION,
    &tapestats::REGISTRATION,
    &textfile::REGISTRATION,
    &thermal_zone::REGISTRATION,
    &time::REGISTRATION,
    &timex::REGISTRATION,
    &udp_queues::REGISTRATION,
    &uname::REGISTRATION,
    &vmstat::REGISTRATION,
    &watchdog::REGISTRATION,
    &xfs::REGISTRATION,
    &zfs::REGISTRATION,
];

/// The registration named `name`.
pub fn find(name: &str) -> Option<&'static Registration> {
    ALL.iter().copied().find(|r| r.name == name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_unique_and_match_their_families() {
        let mut names: Vec<&str> = super::ALL.iter().map(|r| r.name).collect();
        crate::sort::sort(&mut names);
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n, "a family is registered twice");
        let settings = super::super::family::Settings::default();
        for r in super::ALL {
            assert_eq!((r.make)(&settings).name(), r.name);
        }
    }
}
