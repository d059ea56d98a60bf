//! `obi-mcp-demo`: see the crate docs of `obi_mcp_demo`.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut opts = obi_mcp_demo::DemoOptions::default();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--obi-mcp" => match args.next() {
                Some(p) => opts.obi_mcp = PathBuf::from(p),
                None => return usage("--obi-mcp needs a path"),
            },
            "--nodes" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) if n > 0 => opts.nodes = n,
                _ => return usage("--nodes needs a positive number"),
            },
            "-h" | "--help" => return usage(""),
            other => return usage(&format!("unknown argument {other:?}")),
        }
    }
    let mut stdout = std::io::stdout().lock();
    match obi_mcp_demo::run(&opts, &mut stdout) {
        Ok(report) if report.ok() => ExitCode::SUCCESS,
        Ok(report) => {
            eprintln!(
                "obi-mcp-demo: {} of {} steps did not go as expected: {}",
                report.failed().len(),
                report.steps.len(),
                report.failed().join(", ")
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("obi-mcp-demo: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn usage(problem: &str) -> ExitCode {
    if !problem.is_empty() {
        eprintln!("obi-mcp-demo: {problem}");
    }
    eprintln!(
        "usage: obi-mcp-demo [--obi-mcp PATH] [--nodes N]\n\n\
         Starts a simulated Kubernetes cluster, runs obi-mcp as an MCP server over stdio and\n\
         walks through deploy, status, logs, config update, upgrade (and a failed one, rolled\n\
         back), diagnose and undeploy. PATH defaults to the obi-mcp next to this binary."
    );
    if problem.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}
