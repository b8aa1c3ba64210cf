//! Reading the host: the only code that touches its files.
//!
//! [`procfs`] (file, attribute and directory readers), [`statfs`] (`statvfs` with a time
//! limit) and [`tick`], which makes every one of their reads in a tick happen once and be
//! shared (see its docs).
//!
//! Nothing here imports `collect`, `metrics` or `config` (`collect::tests::imports_run_one_way`).

pub mod procfs;
pub mod statfs;
pub mod tick;
