//! One sort for the whole binary. Every `slice::sort_by` call site compiles its own copy of
//! std's sort (driftsort or ipnsort, about 5 KB of code for each element type and comparator):
//! 34 of them were 150 KB of the static binary (docs/release.md). Here each call sorts a list
//! of positions through one comparator type, so std's sort is compiled once and only the small
//! permutation is generic. The lists sorted here are short (process groups, devices, labels);
//! the index list and the indirect comparison cost nothing measurable (BENCHMARKS.md).
//! A test below fails if code in `src/` calls std's sorts again. `collect()` into a `BTreeMap`
//! (or serde_json's `Map`) sorts too, a copy per iterator type: the hot ones insert in a loop.

use std::cmp::Ordering;

/// Sorts `v` by `cmp`, stably: equal elements keep their order, as `slice::sort_by`.
pub fn sort_by<T>(v: &mut [T], mut cmp: impl FnMut(&T, &T) -> Ordering) {
    if v.len() < 2 {
        return;
    }
    let mut order = order(v.len(), &mut |a, b| cmp(&v[a], &v[b]));
    permute(v, &mut order);
}

/// Sorts `v` by a key, stably, as `slice::sort_by_key` (the key is computed per comparison).
pub fn sort_by_key<T, K: Ord>(v: &mut [T], mut key: impl FnMut(&T) -> K) {
    sort_by(v, |a, b| key(a).cmp(&key(b)));
}

/// Sorts `v` in ascending order, stably, as `slice::sort`.
pub fn sort<T: Ord>(v: &mut [T]) {
    sort_by(v, T::cmp);
}

/// The positions `0..n` in the order `cmp` puts them: the one instantiation of std's sort.
#[inline(never)]
fn order(n: usize, cmp: &mut dyn FnMut(usize, usize) -> Ordering) -> Vec<usize> {
    let mut positions: Vec<usize> = (0..n).collect();
    positions.sort_by(|&a, &b| cmp(a, b));
    positions
}

/// Moves `v[order[k]]` to position `k` in place, following the permutation's cycles; leaves
/// `order` as the identity.
fn permute<T>(v: &mut [T], order: &mut [usize]) {
    for start in 0..order.len() {
        let mut j = start;
        loop {
            let k = order[j];
            order[j] = j;
            if k == start {
                break;
            }
            v.swap(j, k);
            j = k;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_like_std_and_keeps_equal_elements_in_order() {
        // A pseudo-random list with many equal keys; std's stable sort is the reference.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for len in [0usize, 1, 2, 3, 7, 20, 100, 1000] {
            let v: Vec<(u8, usize)> = (0..len)
                .map(|i| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    ((seed % 5) as u8, i)
                })
                .collect();
            let mut ours = v.clone();
            sort_by_key(&mut ours, |e| e.0);
            let mut want = v.clone();
            want.sort_by_key(|e| e.0);
            assert_eq!(ours, want, "len {len}");
            let mut all = v.clone();
            sort_by(&mut all, |a, b| b.cmp(a));
            let mut want = v;
            want.sort_by(|a, b| b.cmp(a));
            assert_eq!(all, want, "len {len} descending");
        }
        let mut words = vec![
            "b".to_owned(),
            "c".to_owned(),
            "a".to_owned(),
            "b".to_owned(),
        ];
        sort(&mut words);
        assert_eq!(words, ["a", "b", "b", "c"]);
    }

    /// Every sort in `src/` goes through this module (tests/ and tiny_http may use std's).
    #[test]
    fn src_calls_no_std_sort() {
        fn walk(dir: &std::path::Path, found: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, found);
                } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("sort.rs")
                {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for (n, line) in text.lines().enumerate() {
                        if [
                            ".sort(",
                            ".sort_by(",
                            ".sort_by_key(",
                            ".sort_unstable",
                            ".sort_by_cached_key(",
                        ]
                        .iter()
                        .any(|m| line.contains(m))
                        {
                            found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                        }
                    }
                }
            }
        }
        let mut found = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut found,
        );
        assert!(
            found.is_empty(),
            "use crate::sort instead of std's sorts:\n{}",
            found.join("\n")
        );
    }
}
