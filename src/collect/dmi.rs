//! `dmi`: the firmware's description of the machine (SMBIOS/DMI) from `/sys/class/dmi/id/`,
//! as node_exporter 1.12's `dmi` collector (since 1.3, through procfs' `DMIClass`) exposes it:
//! one `node_dmi_info` series, value 1, whose labels are the attributes the host provides.
//!
//! Kernel ABI: each attribute is one line of text the firmware filled in (often placeholders
//! such as `To Be Filled By O.E.M.`, kept as they are). The serials, `product_uuid` and
//! asset tags are readable by root only (mode 0400): for anyone else they are missing, and
//! node_exporter then leaves their labels out, so the label set depends on who runs it; so
//! does this. `sys_vendor` is labelled `system_vendor`. Bytes that are not UTF-8 are shown as
//! U+FFFD (node_exporter 1.3.1's fix). ARM boards without SMBIOS (a Raspberry Pi) have no such
//! directory: node_exporter's "no data". DMI does not change until reboot, so it is read once.

use super::family::{Family, Harvest, NoData, Registration, Roots, Settings};
use crate::exposition::{Encoder, Kind};
use crate::read::procfs::{read_capped_bytes, ATTR_CAP};
use std::sync::Arc;

/// Registers the `dmi` family.
pub const REGISTRATION: Registration = Registration {
    name: "dmi",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &Settings) -> Box<dyn Family> {
    Box::new(DmiFamily(None))
}

/// The attributes: file below `/sys/class/dmi/id/`, and label.
const ATTRIBUTES: [(&str, &str); 20] = [
    ("bios_date", "bios_date"),
    ("bios_release", "bios_release"),
    ("bios_vendor", "bios_vendor"),
    ("bios_version", "bios_version"),
    ("board_asset_tag", "board_asset_tag"),
    ("board_name", "board_name"),
    ("board_serial", "board_serial"),
    ("board_vendor", "board_vendor"),
    ("board_version", "board_version"),
    ("chassis_asset_tag", "chassis_asset_tag"),
    ("chassis_serial", "chassis_serial"),
    ("chassis_vendor", "chassis_vendor"),
    ("chassis_version", "chassis_version"),
    ("product_family", "product_family"),
    ("product_name", "product_name"),
    ("product_serial", "product_serial"),
    ("product_sku", "product_sku"),
    ("product_uuid", "product_uuid"),
    ("product_version", "product_version"),
    ("sys_vendor", "system_vendor"),
];

const HELP: &str = "A metric with a constant '1' value labeled by bios_date, bios_release, bios_vendor, bios_version, board_asset_tag, board_name, board_serial, board_vendor, board_version, chassis_asset_tag, chassis_serial, chassis_vendor, chassis_version, product_family, product_name, product_serial, product_sku, product_uuid, product_version, system_vendor if provided by DMI.";

/// The labels found (sorted by label), read once.
#[derive(Debug)]
struct Info(Vec<(&'static str, String)>);

struct DmiFamily(Option<Arc<Info>>);

fn read(roots: &Roots) -> Info {
    let dir = roots.sys("class/dmi/id");
    let mut labels: Vec<(&'static str, String)> = ATTRIBUTES
        .iter()
        .filter_map(|(file, label)| {
            let raw = read_capped_bytes(&dir.join(file), ATTR_CAP).ok()?;
            let text = String::from_utf8_lossy(&raw);
            Some((*label, text.trim().to_owned()))
        })
        .collect();
    crate::sort::sort_by_key(&mut labels, |(k, _)| *k);
    Info(labels)
}

impl Family for DmiFamily {
    fn name(&self) -> &'static str {
        "dmi"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        let info = self.0.get_or_insert_with(|| Arc::new(read(roots)));
        if info.0.is_empty() {
            return Ok(Arc::new(NoData));
        }
        Ok(info.clone())
    }
}

impl Harvest for Info {
    fn render(&self, out: &mut Encoder) {
        let labels: Vec<(&str, &str)> = self.0.iter().map(|(k, v)| (*k, v.as_str())).collect();
        out.one("node_dmi_info", Kind::Gauge, HELP, &labels, 1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{fixture, run};

    #[test]
    fn laptop_without_root_only_files() {
        let t = run(&REGISTRATION, "laptop");
        assert!(t.contains("# TYPE node_dmi_info gauge\n"), "{t}");
        assert!(
            t.contains("node_dmi_info{bios_date=\"03/14/2024\",bios_release=\"1.32\",bios_vendor=\"LENOVO\",bios_version=\"N32ET91W (1.67 )\",board_name=\"20XWCTO1WW\",board_vendor=\"LENOVO\",board_version=\"SDK0J40697 WIN\",chassis_vendor=\"LENOVO\",chassis_version=\"None\",product_family=\"ThinkPad X1 Carbon Gen 9\",product_name=\"20XWCTO1WW\",product_sku=\"LENOVO_MT_20XW_BU_Think_FM_ThinkPad X1 Carbon Gen 9\",product_version=\"ThinkPad X1 Carbon Gen 9\",system_vendor=\"LENOVO\"} 1\n"),
            "{t}"
        );
    }

    #[test]
    fn no_dmi_is_no_data() {
        let h = DmiFamily(None).harvest(&fixture("pi")).unwrap();
        assert!(h.no_data());
    }
}
