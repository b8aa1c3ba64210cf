//! `/proc/cpuinfo` for the `cpu` family's `--collector.cpu.info` series, as node_exporter
//! (through procfs' `CPUInfo`) reads it: `node_cpu_info{package,core,cpu,vendor,family,model,
//! model_name,microcode,stepping,cachesize}` per logical CPU, and, only when
//! `--collector.cpu.info.flags-include` / `bugs-include` give a pattern, one
//! `node_cpu_flag_info{flag}` / `node_cpu_bug_info{bug}` per matching word of the first CPU's
//! `flags` / `bugs` line.
//!
//! Kernel ABI: the file's format is the architecture's own. x86 writes one block per CPU
//! (`processor`, `vendor_id`, `cpu family`, `model`, `model name`, `stepping`, `microcode`,
//! `cpu MHz`, `cache size`, `physical id`, `core id`, ..., `flags`, `bugs`); 32- and 64-bit
//! ARM write `processor`, `BogoMIPS`, `Features` (the flags) and CPU part numbers per CPU,
//! then the board (`Hardware`, `Revision`, `Model`). As procfs, the parser is chosen by the
//! architecture psmonitor is built for (ARM's on arm/aarch64, x86's elsewhere: procfs' ppc,
//! s390x, mips and riscv parsers are not carried over), and a key is split from its value at
//! the first `": "`. Where procfs gives up on the whole file (a first line that is not a
//! `processor`, a number that is not one), no series are written; a line without `": "` is
//! passed over instead of indexing past it.

/// What `node_cpu_info` and the flag/bug series need of one logical CPU.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CpuInfo {
    pub processor: u32,
    pub vendor: String,
    pub family: String,
    pub model: String,
    pub model_name: String,
    pub microcode: String,
    pub stepping: String,
    pub cache_size: String,
    pub physical_id: String,
    pub core_id: String,
    pub flags: Vec<String>,
    pub bugs: Vec<String>,
}

/// Parses `/proc/cpuinfo` with the parser of the architecture psmonitor runs on.
pub fn parse(text: &str) -> Option<Vec<CpuInfo>> {
    if cfg!(any(target_arch = "arm", target_arch = "aarch64")) {
        parse_arm(text)
    } else {
        parse_x86(text)
    }
}

/// `key : value` split at the first `": "`, the key trimmed; `None` without one.
fn field(line: &str) -> Option<(&str, &str)> {
    let (k, v) = line.split_once(": ")?;
    Some((k.trim(), v))
}

/// A `processor` number as Go's `ParseUint(s, 0, 32)`.
fn number(v: &str) -> Option<u32> {
    u32::try_from(crate::read::procfs::parse_uint(v)?).ok()
}

/// The first line that is not blank.
fn first_line<'a>(lines: &mut impl Iterator<Item = &'a str>) -> Option<&'a str> {
    lines.find(|l| !l.trim().is_empty())
}

/// procfs' `parseCPUInfoX86`.
pub fn parse_x86(text: &str) -> Option<Vec<CpuInfo>> {
    let mut lines = text.lines();
    let first = first_line(&mut lines)?;
    if !first.starts_with("processor") {
        return None;
    }
    let mut cpus = vec![CpuInfo {
        processor: number(field(first)?.1)?,
        ..Default::default()
    }];
    for line in lines {
        let Some((key, value)) = field(line) else {
            continue;
        };
        let cpu = cpus.last_mut()?;
        match key {
            "processor" => cpus.push(CpuInfo {
                processor: number(value)?,
                ..Default::default()
            }),
            "vendor" | "vendor_id" => cpu.vendor = value.to_owned(),
            "cpu family" => cpu.family = value.to_owned(),
            "model" => cpu.model = value.to_owned(),
            "model name" => cpu.model_name = value.to_owned(),
            "stepping" => cpu.stepping = value.to_owned(),
            "microcode" => cpu.microcode = value.to_owned(),
            "cache size" => cpu.cache_size = value.to_owned(),
            "physical id" => cpu.physical_id = value.to_owned(),
            "core id" => cpu.core_id = value.to_owned(),
            "flags" => cpu.flags = value.split_whitespace().map(str::to_owned).collect(),
            "bugs" => cpu.bugs = value.split_whitespace().map(str::to_owned).collect(),
            // procfs fails the file on these when they are not numbers.
            "cpu MHz" | "bogomips" => {
                value.trim().parse::<f64>().ok()?;
            }
            "siblings" | "cpu cores" | "cpuid level" | "clflush size" | "cache_alignment" => {
                number(value)?;
            }
            _ => {}
        }
    }
    Some(cpus)
}

/// procfs' `parseCPUInfoARM`: a first `Processor : <name>` line (old 32-bit kernels) names
/// the model for every CPU; `Features` of the last CPU are every CPU's flags.
pub fn parse_arm(text: &str) -> Option<Vec<CpuInfo>> {
    let mut lines = text.lines();
    let first = first_line(&mut lines)?;
    if !(first.starts_with("Processor") || first.starts_with("processor")) {
        return None;
    }
    let (key, value) = field(first)?;
    let mut common = CpuInfo::default();
    let mut cpus = Vec::new();
    if key == "Processor" {
        common.model_name = value.to_owned();
    } else {
        cpus.push(CpuInfo {
            processor: number(value)?,
            ..Default::default()
        });
    }
    let mut features: Option<Vec<String>> = None;
    for line in lines {
        let Some((key, value)) = field(line) else {
            continue;
        };
        match key {
            "processor" => cpus.push(CpuInfo {
                processor: number(value)?,
                ..common.clone()
            }),
            "BogoMIPS" => {
                if cpus.is_empty() {
                    cpus.push(common.clone());
                }
                value.trim().parse::<f64>().ok()?;
            }
            "Features" => features = Some(value.split_whitespace().map(str::to_owned).collect()),
            "model name" => cpus.last_mut()?.model_name = value.to_owned(),
            _ => {}
        }
    }
    // procfs indexes the Features line unconditionally: without one the file fails.
    let features = features?;
    for cpu in &mut cpus {
        cpu.flags = features.clone();
    }
    Some(cpus)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(host: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/fixtures/{host}/proc/cpuinfo",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn laptop_x86() {
        let cpus = parse_x86(&fixture("laptop")).unwrap();
        assert_eq!(cpus.len(), 4);
        let c = &cpus[3];
        assert_eq!(
            (c.processor, c.core_id.as_str(), c.physical_id.as_str()),
            (3, "1", "0")
        );
        assert_eq!(c.model_name, "Intel(R) Core(TM) i7-8665U CPU @ 1.90GHz");
        assert_eq!(
            (c.microcode.as_str(), c.cache_size.as_str()),
            ("0xf8", "8192 KB")
        );
        assert!(c.flags.iter().any(|f| f == "avx2") && !c.flags.iter().any(|f| f == "ept_x_only"));
        assert_eq!(c.bugs.len(), 10);
    }

    #[test]
    fn pi_arm() {
        let cpus = parse_arm(&fixture("pi")).unwrap();
        assert_eq!(cpus.len(), 2);
        assert_eq!(cpus[1].processor, 1);
        assert_eq!(cpus[1].model_name, "ARMv7 Processor rev 4 (v7l)");
        assert_eq!(cpus[0].flags.first().map(String::as_str), Some("half"));
        assert_eq!(cpus[0].flags.len(), 15);
        // The x86 parser reads the same file without flags or vendor.
        let x86 = parse_x86(&fixture("pi")).unwrap();
        assert_eq!((x86.len(), x86[0].flags.len()), (2, 0));
        // An old 32-bit kernel's first line names the model for all.
        let old = parse_arm("Processor\t: ARMv6-compatible processor rev 7 (v6l)\nBogoMIPS\t: 697.95\nFeatures\t: swp half thumb\n").unwrap();
        assert_eq!(old.len(), 1);
        assert_eq!(old[0].model_name, "ARMv6-compatible processor rev 7 (v6l)");
    }

    #[test]
    fn hostile_files_give_nothing_and_never_panic() {
        for bad in [
            "",
            "vendor_id : x\n",
            "processor : x\n",
            "processor\n",
            "processor : 0\ncpu MHz : fast\n",
            "processor : 0\nprocessor : 99999999999\n",
        ] {
            assert_eq!(parse_x86(bad), None, "{bad:?}");
        }
        assert_eq!(
            parse_arm("processor : 0\nBogoMIPS : 1\n"),
            None,
            "no Features"
        );
        let cpus = parse_x86("processor : 0\nflags:x\nmodel name: é\u{fffd}\n").unwrap();
        assert_eq!(cpus[0].model_name, "é\u{fffd}");
    }
}
