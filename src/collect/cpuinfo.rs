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
//! then the board (`Hardware`, `Revision`, `Model`); POWER `processor`, `cpu`, `clock`,
//! `revision` per CPU, then the machine; s390x the machine first (`vendor_id`, `features`, a
//! `processor N: ...` line per CPU), then a `cpu number` block per CPU (`physical id`,
//! `core id`, `cpu MHz dynamic`); MIPS a `system type` line, then `processor`, `cpu model`,
//! `BogoMIPS`, ... per CPU; RISC-V `processor`, `hart`, `isa`, `mmu`, `uarch`, ...;
//! LoongArch a `system type` line, then `processor`, `CPU Family`, `Model Name`, ... per CPU.
//!
//! As procfs, the parser is chosen by the architecture psmonitor is built for, and each reads
//! what procfs' does into node_exporter's labels: x86's every label and `flags`/`bugs`; ARM's
//! `model name` (or an old kernel's first `Processor` line) and `Features` as the flags;
//! POWER's `cpu` as the vendor; s390x's `vendor_id` as the vendor, `features` as the flags,
//! `physical id` and `core id`; MIPS' `system type` as the vendor and `cpu model` as the model
//! name; RISC-V's `hart` as the core and `isa` as the model name; LoongArch's `system type` as
//! the vendor, `CPU Family` and `Model Name`. Every other label is empty there, as it is in
//! node_exporter. A key is split from its value at the first `": "`. Where procfs gives up on
//! the whole file (a first line of another kind, a number that is not one) no series are
//! written; where it would index past its list (a `processor` number out of sequence on MIPS,
//! RISC-V or LoongArch, more `cpu number` blocks than `processor` lines on s390x: Go panics
//! there) no series are written either; a line without `": "` is passed over instead of
//! indexing past it. On other architectures (procfs' "not implemented") there is no reading.
//!
//! At most [`MAX_CPUS`] CPUs are read: a hostile file under the 4 MiB read cap could name over
//! 200 000 (`processor : N` lines), each a `node_cpu_info` series and a copy of the flags; the
//! CPUs past it, and their lines, are passed over (said at debug).

/// The most CPUs read from one file: the kernel's largest `NR_CPUS` (x86_64's `MAXSMP`).
pub const MAX_CPUS: usize = 8192;

/// Whether `cpus` already holds [`MAX_CPUS`], so that a CPU about to start is passed over
/// (said at debug the first time, `told` remembering it).
fn full(cpus: &[CpuInfo], told: &mut bool) -> bool {
    let full = cpus.len() >= MAX_CPUS;
    if full && !std::mem::replace(told, true) {
        log::debug!("/proc/cpuinfo names more than {MAX_CPUS} CPUs: the rest are passed over");
    }
    full
}

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

/// Parses `/proc/cpuinfo` with the parser of the architecture psmonitor runs on (procfs'
/// `cpuinfo_<arch>.go` build tags).
pub fn parse(text: &str) -> Option<Vec<CpuInfo>> {
    if cfg!(any(target_arch = "x86", target_arch = "x86_64")) {
        parse_x86(text)
    } else if cfg!(any(target_arch = "arm", target_arch = "aarch64")) {
        parse_arm(text)
    } else if cfg!(target_arch = "powerpc64") {
        parse_ppc(text)
    } else if cfg!(target_arch = "s390x") {
        parse_s390x(text)
    } else if cfg!(any(target_arch = "mips", target_arch = "mips64")) {
        parse_mips(text)
    } else if cfg!(any(target_arch = "riscv32", target_arch = "riscv64")) {
        parse_riscv(text)
    } else if cfg!(target_arch = "loongarch64") {
        parse_loong(text)
    } else {
        None
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

/// The first line that is not blank, if it starts with one of `first`, and the lines after it.
fn opening<'a>(text: &'a str, first: &[&str]) -> Option<(&'a str, std::str::Lines<'a>)> {
    let mut lines = text.lines();
    let line = lines.find(|l| !l.trim().is_empty())?;
    first
        .iter()
        .any(|p| line.starts_with(p))
        .then_some((line, lines))
}

/// The `key : value` fields of the lines after the first (lines without one passed over).
type Fields<'a> = std::iter::FilterMap<std::str::Lines<'a>, fn(&str) -> Option<(&str, &str)>>;

/// Most architectures' layout: [`opening`], its line split as a field, then [`Fields`].
fn layout<'a>(text: &'a str, first: &[&str]) -> Option<((&'a str, &'a str), Fields<'a>)> {
    let (line, lines) = opening(text, first)?;
    let split: fn(&str) -> Option<(&str, &str)> = field;
    Some((field(line)?, lines.filter_map(split)))
}

/// A CPU that a `processor : N` line starts.
fn started(number_text: &str) -> Option<CpuInfo> {
    Some(CpuInfo {
        processor: number(number_text)?,
        ..Default::default()
    })
}

/// procfs' `parseCPUInfoX86`.
pub fn parse_x86(text: &str) -> Option<Vec<CpuInfo>> {
    let ((_, first), fields) = layout(text, &["processor"])?;
    let mut cpus = vec![started(first)?];
    let mut told = false;
    for (key, value) in fields {
        if key == "processor" && full(&cpus, &mut told) {
            break;
        }
        let cpu = cpus.last_mut()?;
        match key {
            "processor" => cpus.push(started(value)?),
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
    let ((key, value), fields) = layout(text, &["Processor", "processor"])?;
    let mut common = CpuInfo::default();
    let mut cpus = Vec::new();
    if key == "Processor" {
        common.model_name = value.to_owned();
    } else {
        cpus.push(started(value)?);
    }
    let mut features: Option<Vec<String>> = None;
    // Past the cap only `Features` is read: old kernels write it once, after every CPU.
    let (mut told, mut past) = (false, false);
    for (key, value) in fields {
        if key == "processor" && full(&cpus, &mut told) {
            past = true;
        }
        if past && key != "Features" {
            continue;
        }
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

/// procfs' `parseCPUInfoPPC` (ppc64, ppc64le): `cpu` is the vendor; `clock` must hold a
/// number (`3000.000000MHz`).
pub fn parse_ppc(text: &str) -> Option<Vec<CpuInfo>> {
    let ((_, first), fields) = layout(text, &["processor"])?;
    let mut cpus = vec![started(first)?];
    let mut told = false;
    for (key, value) in fields {
        if key == "processor" && full(&cpus, &mut told) {
            break;
        }
        match key {
            "processor" => cpus.push(started(value)?),
            "cpu" => cpus.last_mut()?.vendor = value.to_owned(),
            "clock" => {
                clock(value)?;
            }
            _ => {}
        }
    }
    Some(cpus)
}

/// procfs' `cpuinfoClockRegexp` (`([\d.]+)`) and `ParseFloat`: the first run of digits and
/// dots in `value` must be a number.
fn clock(value: &str) -> Option<f64> {
    let start = value.find(|c: char| c.is_ascii_digit() || c == '.')?;
    let rest = &value[start..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// procfs' `parseCPUInfoS390X`: the machine's part (`vendor_id` first, `features`,
/// `bogomips per cpu`, one `processor N: ...` line per CPU) up to the first `cpu number`, then
/// each CPU's block (`physical id`, `core id`, numbers in `siblings`, `cpu cores`, `cpu MHz
/// dynamic`).
pub fn parse_s390x(text: &str) -> Option<Vec<CpuInfo>> {
    let (first, mut lines) = opening(text, &["vendor_id"])?;
    let mut common = CpuInfo {
        vendor: field(first)?.1.to_owned(),
        ..Default::default()
    };
    let mut cpus = Vec::new();
    let mut told = false;
    for line in lines.by_ref() {
        if !line.contains(':') {
            continue;
        }
        match field(line) {
            Some(("bogomips per cpu", value)) => {
                value.parse::<f64>().ok()?;
            }
            Some(("features", value)) => {
                common.flags = value.split_whitespace().map(str::to_owned).collect()
            }
            _ => {}
        }
        if line.starts_with("processor") {
            // `^processor\s+(\d+):.*`
            let rest = line.strip_prefix("processor")?;
            let digits = rest.trim_start_matches(char::is_whitespace);
            let n = &digits[..digits.find(|c: char| !c.is_ascii_digit())?];
            if digits.len() == rest.len() || n.is_empty() || !digits[n.len()..].starts_with(':') {
                return None;
            }
            if !full(&cpus, &mut told) {
                cpus.push(CpuInfo {
                    processor: number(n)?,
                    ..common.clone()
                });
            }
        }
        if line.starts_with("cpu number") {
            break;
        }
    }
    let mut i = 0;
    for (key, value) in lines.filter_map(field) {
        if told && i >= cpus.len() {
            break; // the blocks of the CPUs past the cap
        }
        match key {
            "cpu number" => i += 1,
            "cpu MHz dynamic" => {
                clock(value.trim())?;
                cpus.get(i)?;
            }
            "physical id" => cpus.get_mut(i)?.physical_id = value.to_owned(),
            "core id" => cpus.get_mut(i)?.core_id = value.to_owned(),
            "cpu cores" | "siblings" => {
                number(value)?;
                cpus.get(i)?;
            }
            _ => {}
        }
    }
    Some(cpus)
}

/// procfs' "processor N starts CPU N" (MIPS, RISC-V, LoongArch): a CPU is appended and the
/// one at index N gets the number, so numbers out of sequence land on an earlier CPU (as
/// there) or past the list (a panic there, no reading here).
fn numbered(cpus: &mut Vec<CpuInfo>, value: &str) -> Option<usize> {
    let n = number(value)?;
    cpus.push(CpuInfo::default());
    let i = usize::try_from(n).ok()?;
    cpus.get_mut(i)?.processor = n;
    Some(i)
}

/// procfs' `parseCPUInfoMips`: `system type` (the first line) is every CPU's vendor, `cpu
/// model` the model name; `BogoMIPS` must be a number.
pub fn parse_mips(text: &str) -> Option<Vec<CpuInfo>> {
    parse_system_type(text, &["cpu model"], &[])
}

/// procfs' `parseCPUInfoLoong`, LoongArch's format as the kernel writes it since its merge
/// (5.19): `system type` (the first line) is every CPU's vendor, `CPU Family` the family and
/// `Model Name` the model name (`cpu family`/`model name` of kernels before the merge too);
/// `BogoMIPS` must be a number.
pub fn parse_loong(text: &str) -> Option<Vec<CpuInfo>> {
    parse_system_type(
        text,
        &["Model Name", "model name"],
        &["CPU Family", "cpu family"],
    )
}

/// MIPS' and LoongArch's layout: a `system type` line, then numbered CPUs.
fn parse_system_type(
    text: &str,
    model_keys: &[&str],
    family_keys: &[&str],
) -> Option<Vec<CpuInfo>> {
    let ((_, system_type), fields) = layout(text, &["system type"])?;
    let mut cpus = Vec::new();
    let mut i = 0;
    let mut told = false;
    for (key, value) in fields {
        if key == "processor" && full(&cpus, &mut told) {
            break;
        }
        if key == "processor" {
            i = numbered(&mut cpus, value)?;
            cpus[i].vendor = system_type.to_owned();
        } else if model_keys.contains(&key) {
            cpus.get_mut(i)?.model_name = value.to_owned();
        } else if family_keys.contains(&key) {
            cpus.get_mut(i)?.family = value.to_owned();
        } else if key == "BogoMIPS" {
            value.parse::<f64>().ok()?;
            cpus.get(i)?;
        }
    }
    Some(cpus)
}

/// procfs' `parseCPUInfoRISCV`: `hart` is the core, `isa` the model name.
pub fn parse_riscv(text: &str) -> Option<Vec<CpuInfo>> {
    let ((_, first), fields) = layout(text, &["processor"])?;
    let mut cpus = vec![started(first)?];
    let mut i = 0;
    let mut told = false;
    for (key, value) in fields {
        if key == "processor" && full(&cpus, &mut told) {
            break;
        }
        match key {
            "processor" => i = numbered(&mut cpus, value)?,
            "hart" => cpus.get_mut(i)?.core_id = value.to_owned(),
            "isa" => cpus.get_mut(i)?.model_name = value.to_owned(),
            _ => {}
        }
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

    fn arch(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/fixtures/cpuinfo/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    /// node_cpu_info's labels of one CPU, in node_exporter's order: package, core, cpu,
    /// vendor, family, model, model_name, microcode, stepping, cachesize.
    fn labels(c: &CpuInfo) -> [String; 10] {
        [
            c.physical_id.clone(),
            c.core_id.clone(),
            c.processor.to_string(),
            c.vendor.clone(),
            c.family.clone(),
            c.model.clone(),
            c.model_name.clone(),
            c.microcode.clone(),
            c.stepping.clone(),
            c.cache_size.clone(),
        ]
    }

    fn want(l: [&str; 10]) -> [String; 10] {
        l.map(str::to_owned)
    }

    #[test]
    fn ppc64le_power9() {
        let cpus = parse_ppc(&arch("ppc64le")).unwrap();
        assert_eq!(cpus.len(), 4);
        assert_eq!(
            labels(&cpus[3]),
            want([
                "",
                "",
                "3",
                "POWER9 (raw), altivec supported",
                "",
                "",
                "",
                "",
                "",
                ""
            ])
        );
        assert!(cpus[0].flags.is_empty());
        // A clock that is not a number fails the file, as procfs.
        assert_eq!(parse_ppc("processor\t: 0\nclock\t\t: unknown\n"), None);
        assert_eq!(clock("3000.000000MHz"), Some(3000.0));
    }

    #[test]
    fn s390x_z15() {
        let cpus = parse_s390x(&arch("s390x")).unwrap();
        assert_eq!(cpus.len(), 2);
        assert_eq!(
            labels(&cpus[1]),
            want(["3", "1", "1", "IBM/S390", "", "", "", "", "", ""])
        );
        assert_eq!(cpus[0].flags.len(), 20);
        assert_eq!(cpus[0].flags[4], "ldisp");
        assert_eq!(cpus[1].flags, cpus[0].flags);
        // More CPU blocks than processor lines: procfs indexes past its list.
        let extra = arch("s390x").replace(
            "processor 1: version = 00,  identification = 0C2A48,  machine = 8561\n",
            "",
        );
        assert_eq!(parse_s390x(&extra), None);
        // A processor line the pattern refuses fails the file.
        assert_eq!(parse_s390x("vendor_id : IBM/S390\nprocessor x: y\n"), None);
        assert_eq!(
            parse_s390x("vendor_id : IBM/S390\nprocessor 7\n")
                .unwrap()
                .len(),
            0
        );
    }

    #[test]
    fn mips_mt7621() {
        let cpus = parse_mips(&arch("mips")).unwrap();
        assert_eq!(cpus.len(), 4);
        let vendor = "MediaTek MT7621 ver:1 eco:3";
        assert_eq!(
            labels(&cpus[2]),
            want(["", "", "2", vendor, "", "", "MIPS 1004Kc V2.15", "", "", ""])
        );
        // Numbers out of sequence: procfs writes an earlier CPU, or indexes past its list.
        let gap = "system type : x\nprocessor : 0\nprocessor : 2\n";
        assert_eq!(parse_mips(gap), None);
        let back =
            parse_mips("system type : x\nprocessor : 0\nprocessor : 0\ncpu model : m\n").unwrap();
        assert_eq!((back.len(), back[0].model_name.as_str()), (2, "m"));
        assert_eq!(back[1], CpuInfo::default());
        assert_eq!(
            parse_mips("system type : x\nprocessor : 0\nBogoMIPS : n/a\n"),
            None
        );
        assert_eq!(parse_mips("processor : 0\n"), None);
    }

    #[test]
    fn riscv64_jh7110() {
        let cpus = parse_riscv(&arch("riscv64")).unwrap();
        assert_eq!(cpus.len(), 4);
        // The hart id (1 to 4 here: hart 0 is the monitor core) is the core label.
        let isa = "rv64imafdc_zicntr_zicsr_zifencei_zihpm_zba_zbb";
        assert_eq!(
            labels(&cpus[0]),
            want(["", "1", "0", "", "", "", isa, "", "", ""])
        );
        assert_eq!(labels(&cpus[3])[1..3], ["4".to_owned(), "3".to_owned()]);
    }

    #[test]
    fn loongarch64_3a6000() {
        let cpus = parse_loong(&arch("loongarch64")).unwrap();
        assert_eq!(cpus.len(), 4);
        assert_eq!(
            labels(&cpus[1]),
            want([
                "",
                "",
                "1",
                "generic-loongson-machine",
                "Loongson-64bit",
                "",
                "Loongson-3A6000",
                "",
                "",
                ""
            ])
        );
        assert!(cpus[1].flags.is_empty());
        // Kernels before the merge wrote the keys in lower case.
        let old = "system type\t\t: Generic Loongson64 System\nprocessor\t\t: 0\ncpu family\t\t: Loongson-64bit\nmodel name\t\t: Loongson-3A5000\n";
        let old = parse_loong(old).unwrap();
        assert_eq!(
            (old[0].family.as_str(), old[0].model_name.as_str()),
            ("Loongson-64bit", "Loongson-3A5000")
        );
    }

    /// Each architecture's file read by another's parser gives nothing or a reading without
    /// that architecture's labels, never a panic; `parse` picks x86's on this build.
    #[test]
    fn each_parser_on_every_file() {
        let files = ["ppc64le", "s390x", "mips", "riscv64", "loongarch64"].map(arch);
        for f in &files {
            for p in [
                parse_x86,
                parse_arm,
                parse_ppc,
                parse_s390x,
                parse_mips,
                parse_riscv,
                parse_loong,
            ] {
                let _ = p(f);
            }
        }
        assert_eq!(parse_s390x(&files[0]), None);
        assert_eq!(parse_mips(&files[3]), None);
        if cfg!(target_arch = "x86_64") {
            assert_eq!(parse(&files[0]), parse_x86(&files[0]));
        }
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
        for bad in [
            "",
            "processor\n",
            "processor : -1\n",
            "vendor_id\n",
            "system type\n",
        ] {
            for p in [parse_ppc, parse_s390x, parse_mips, parse_riscv, parse_loong] {
                assert_eq!(p(bad), None, "{bad:?}");
            }
        }
        let cpus = parse_x86("processor : 0\nflags:x\nmodel name: é\u{fffd}\n").unwrap();
        assert_eq!(cpus[0].model_name, "é\u{fffd}");
    }

    /// A hostile file under the read cap names some 300 000 CPUs: each parser keeps the
    /// first [`MAX_CPUS`] and passes over the rest (and their lines), instead of failing or
    /// making as many series.
    #[test]
    fn cpus_past_the_cap_are_passed_over() {
        let n = MAX_CPUS + 3;
        let block = |i: usize, extra: &str| format!("processor\t: {i}\n{extra}\n");
        let blocks = |extra: &str| (0..n).map(|i| block(i, extra)).collect::<String>();
        let check = |what: &str, cpus: Option<Vec<CpuInfo>>| {
            let cpus = cpus.unwrap_or_else(|| panic!("{what}: no reading"));
            assert_eq!(cpus.len(), MAX_CPUS, "{what}");
            assert_eq!(
                cpus[MAX_CPUS - 1].processor as usize,
                MAX_CPUS - 1,
                "{what}"
            );
            cpus
        };
        // x86: the last kept CPU's own lines are its own, not a passed-over CPU's.
        let x86 = (0..n)
            .map(|i| block(i, &format!("model name\t: m{i}\nflags\t: fpu")))
            .collect::<String>();
        let cpus = check("x86", parse_x86(&x86));
        assert_eq!(cpus[MAX_CPUS - 1].model_name, format!("m{}", MAX_CPUS - 1));
        // The whole 4 MiB of `processor : N` lines, as a hostile file could be.
        let mut huge = String::new();
        let mut i = 0;
        while huge.len() < crate::read::procfs::READ_CAP - 32 {
            huge.push_str(&format!("processor : {i}\n"));
            i += 1;
        }
        assert!(i > 200_000);
        check("x86, 4 MiB", parse_x86(&huge));
        check("ppc", parse_ppc(&blocks("cpu\t: POWER9")));
        check("riscv", parse_riscv(&blocks("hart\t: 1")));
        let mips = format!("system type\t: x\n{}", blocks("BogoMIPS\t: 1.0"));
        check("mips", parse_mips(&mips));
        check("loong", parse_loong(&mips));
        // ARM as old 32-bit kernels write it: Features once, after every CPU, still read.
        let arm = format!("{}Features\t: neon vfp\n", blocks("BogoMIPS\t: 38.40"));
        let cpus = check("arm", parse_arm(&arm));
        assert_eq!(cpus[MAX_CPUS - 1].flags, ["neon", "vfp"]);
        // s390x: a `processor N:` line per CPU, then a `cpu number` block per CPU.
        let mut s390 = "vendor_id : IBM/S390\nfeatures : esan3 zarch\n".to_owned();
        for i in 0..n {
            s390.push_str(&format!("processor {i}: version = 00\n"));
        }
        for i in 0..n {
            s390.push_str(&format!(
                "\ncpu number : {i}\nphysical id : {i}\ncore id : {i}\n"
            ));
        }
        let cpus = check("s390x", parse_s390x(&s390));
        assert_eq!(cpus[MAX_CPUS - 1].core_id, (MAX_CPUS - 1).to_string());
    }
}
