//! Validates a file: `cargo run -p obi-config --example validate -- FILE [local|container|kubernetes] [NAME=VALUE...]`.
//! Exit 0 when valid, 1 when not (the same contract as `obi-mcp obi-config validate`).

use obi_config::{Target, ValidateOptions, validate_text};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: validate FILE [local|container|kubernetes] [NAME=VALUE...]");
        std::process::exit(2);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            std::process::exit(2);
        }
    };
    let mut opts = ValidateOptions::default();
    for arg in args {
        match arg.as_str() {
            "local" => opts.target = Target::Local,
            "container" => opts.target = Target::Container,
            "kubernetes" => opts.target = Target::Kubernetes,
            kv => {
                if let Some((k, v)) = kv.split_once('=') {
                    opts.env.insert(k.to_string(), v.to_string());
                }
            }
        }
    }
    let report = validate_text(&text, &opts);
    println!("{}", report.summary());
    std::process::exit(if report.is_valid() { 0 } else { 1 });
}
