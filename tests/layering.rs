//! The layering `docs/architecture.md` describes, checked on the source:
//! each layer's non-test code names none of the crates and modules it must
//! not use. The engine knows nothing of HTTP, runtimes, logging or
//! metrics; the proxy knows nothing of the command line or Kubernetes.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

/// A layer (a folder or file under `src/`) and what it must not name.
struct Layer {
    path: &'static str,
    forbidden: &'static [&'static str],
}

const COMMAND_LINE: &[&str] = &["clap", "anyhow", "crate::cli"];

const LAYERS: &[Layer] = &[
    Layer {
        path: "mask",
        forbidden: &[
            "tokio",
            "hyper",
            "hyper_util",
            "http",
            "http_body",
            "http_body_util",
            "tracing",
            "prometheus",
            "rustls",
            "crate::proxy",
            "crate::policy",
            "crate::tls",
            "crate::config",
            "crate::k8s",
            "crate::metrics",
            "crate::admin",
            "crate::telemetry",
            "crate::runtime",
            "crate::patterns",
        ],
    },
    Layer {
        path: "policy",
        forbidden: &[
            "tokio",
            "hyper",
            "tracing",
            "prometheus",
            "crate::proxy",
            "crate::config",
            "crate::k8s",
            "crate::metrics",
            "crate::admin",
            "crate::runtime",
        ],
    },
    Layer {
        path: "tls",
        forbidden: &[
            "tokio",
            "hyper",
            "http",
            "prometheus",
            "crate::mask",
            "crate::policy",
            "crate::proxy",
            "crate::config",
            "crate::k8s",
            "crate::metrics",
        ],
    },
    Layer { path: "proxy", forbidden: &["crate::config", "crate::k8s", "crate::admin", "crate::runtime"] },
    Layer { path: "config", forbidden: &["tokio", "hyper", "crate::k8s", "crate::admin", "crate::runtime"] },
    Layer {
        path: "k8s",
        forbidden: &["prometheus", "crate::proxy", "crate::metrics", "crate::admin", "crate::runtime"],
    },
    Layer {
        path: "metrics",
        forbidden: &["tokio", "hyper", "crate::mask", "crate::proxy", "crate::policy", "crate::config", "crate::k8s"],
    },
    Layer {
        path: "telemetry",
        forbidden: &[
            "tokio",
            "hyper",
            "crate::proxy",
            "crate::policy",
            "crate::config",
            "crate::k8s",
            "crate::metrics",
            "crate::runtime",
        ],
    },
    Layer {
        path: "runtime",
        forbidden: &["hyper", "crate::mask", "crate::proxy", "crate::policy", "crate::config", "crate::k8s"],
    },
];

fn rust_files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display())) {
        let entry = entry.expect("directory entry").path();
        if entry.is_dir() {
            files.extend(rust_files(&entry));
        } else if entry.extension().is_some_and(|e| e == "rs") && entry.file_name().is_some_and(|n| n != "tests.rs") {
            files.push(entry);
        }
    }
    files
}

/// The code a file compiles outside tests: up to its `#[cfg(test)]`
/// module (kept last in every file), without `//` comments.
fn product_code(text: &str) -> String {
    text.lines()
        .take_while(|line| line.trim() != "#[cfg(test)]")
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The crates and `crate::` modules a piece of code names: `name::…`
/// paths, `use name;`, and the members of `use crate::{a, b::…}` groups.
fn names_used(code: &str) -> Vec<String> {
    static PATH: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?:^|[^A-Za-z0-9_:])((?:crate::)?[a-z_][a-z0-9_]*)::").expect("regex"));
    static GROUP: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"crate::\{([^}]*)\}").expect("regex"));
    static PLAIN_USE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\buse ([a-z_][a-z0-9_]*);").expect("regex"));
    let mut names: Vec<String> = PATH.captures_iter(code).map(|c| c[1].to_string()).collect();
    for c in GROUP.captures_iter(code) {
        for member in c[1].split(',') {
            let first = member.trim().split("::").next().unwrap_or("").trim();
            if !first.is_empty() {
                names.push(format!("crate::{first}"));
            }
        }
    }
    names.extend(PLAIN_USE.captures_iter(code).map(|c| c[1].to_string()));
    names
}

#[test]
fn every_layer_names_only_what_it_may_use() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut breaches = Vec::new();
    for layer in LAYERS {
        let files = rust_files(&src.join(layer.path));
        assert!(!files.is_empty(), "src/{} has no Rust files: is the layer table stale?", layer.path);
        for file in files {
            let text = std::fs::read_to_string(&file).expect("read a source file");
            let used = names_used(&product_code(&text));
            for name in layer.forbidden.iter().chain(COMMAND_LINE) {
                if used.iter().any(|u| u == name) {
                    breaches.push(format!("{} uses `{name}`", file.strip_prefix(&src).unwrap_or(&file).display()));
                }
            }
        }
    }
    assert!(breaches.is_empty(), "layering broken (docs/architecture.md):\n{}", breaches.join("\n"));
}

#[test]
fn the_checker_sees_each_way_code_names_a_module() {
    let code = "use tokio::net;\nfn f() { hyper::body::Incoming; }\nuse crate::{proxy::X, mask};\nuse anyhow;\n";
    let used = names_used(code);
    for name in ["tokio", "hyper", "crate::proxy", "crate::mask", "anyhow"] {
        assert!(used.iter().any(|u| u == name), "{name} not seen in {used:?}");
    }
    assert!(!names_used(&product_code("// tokio::spawn in a comment\n")).iter().any(|u| u == "tokio"));
    assert!(!names_used("hyper_util::rt::TokioIo").iter().any(|u| u == "hyper"));
    assert!(!names_used("std::http::x").iter().any(|u| u == "http"), "a path's inner segment is not a crate");
}
