//! np-guard netpol-analyzer's conformance cases (`tests/data/
//! netpol-analyzer`, Apache-2.0), run against `piimask netpol connlist` and compared by
//! meaning with the cases' own normalizer (IP ranges re-cut, ports merged).

use std::path::{Path, PathBuf};
use std::process::Command;

use piimask::k8s::netpol::{Cluster, diff, format_diff, format_txt};

/// The cases, vendored with their licence and origin
/// (`tests/data/netpol-analyzer/README.md`).
fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/netpol-analyzer")
}

/// Cases not analysed yet, and why.
const NOT_YET: &[(&str, &str)] =
    &[("exposure_test_conn_with_new_pod_selector_and_ns_selector", "exposure analysis is not built yet")];

fn expected_connlist(case: &Path) -> Option<PathBuf> {
    std::fs::read_dir(case.join("expected"))
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with("_connlist_output.txt"))
}

/// Runs one case; `Err` carries the normalizer's report.
fn run_case(name: &str) -> Result<(), String> {
    let case = cases_dir().join(name);
    let expected_path = expected_connlist(&case).ok_or("no connlist expectation")?;
    let expected = std::fs::read_to_string(&expected_path).map_err(|e| e.to_string())?;
    let cluster = Cluster::load(&case.join("input")).map_err(|e| e.to_string())?;
    let actual = format_txt(&cluster.connlist());
    let tmp = std::env::temp_dir().join(format!("piimask-conformance-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
    std::fs::write(tmp.join("expected.txt"), &expected).map_err(|e| e.to_string())?;
    std::fs::write(tmp.join("actual.txt"), &actual).map_err(|e| e.to_string())?;
    let out = Command::new("python3")
        .arg(cases_dir().join("normalize_connlist.py"))
        .arg(tmp.join("expected.txt"))
        .arg(tmp.join("actual.txt"))
        .output()
        .map_err(|e| format!("running python3: {e}"))?;
    let _ = std::fs::remove_dir_all(&tmp);
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{}\n--- piimask said:\n{actual}", String::from_utf8_lossy(&out.stdout)))
    }
}

/// A diff case: `diff(input-ref1, input-ref2)` printed as the expected file.
fn run_diff_case(name: &str) -> Result<(), String> {
    let case = cases_dir().join(name);
    let expected_path = std::fs::read_dir(case.join("expected"))
        .map_err(|e| e.to_string())?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("diff_between_")))
        .ok_or("no diff expectation")?;
    let expected = std::fs::read_to_string(&expected_path).map_err(|e| e.to_string())?;
    let old = Cluster::load(&case.join("input-ref1")).map_err(|e| e.to_string())?;
    let new = Cluster::load(&case.join("input-ref2")).map_err(|e| e.to_string())?;
    let actual = format_diff(&diff(&old, &new));
    if actual.trim_end() == expected.trim_end() {
        Ok(())
    } else {
        Err(format!("expected:\n{expected}\npiimask said:\n{actual}"))
    }
}

fn all_cases() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(cases_dir())
        .expect("reading tests/data/netpol-analyzer")
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn every_connlist_and_diff_case_passes_compared_by_meaning() {
    let mut failures = Vec::new();
    let mut passed = 0;
    for name in all_cases().iter().filter(|n| !NOT_YET.iter().any(|(c, _)| c == n)) {
        let result = if name.starts_with("diff_") { run_diff_case(name) } else { run_case(name) };
        match result {
            Ok(()) => passed += 1,
            Err(report) => failures.push(format!("{name}:\n{report}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(passed >= 14, "only {passed} cases ran");
}

#[test]
fn the_cases_left_out_still_exist() {
    for (name, why) in NOT_YET {
        assert!(all_cases().contains(&name.to_string()), "{name} ({why}) is not a case any more");
    }
}
