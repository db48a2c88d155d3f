//! `vera calibrate`: measures this machine's CPU and GPU costs per operation now, replaces the
//! cached calibration `auto` routes by, and prints it with the batch sizes from which the GPU
//! takes part.

use std::io::Write;

use serde::Serialize;
use vera_engine::calibrate::{calibration_file, Costs};
use vera_engine::{BackendChoice, CalibrationMode, Engine, Rule};

use super::{flush, write_err, CliError};

/// One operation's costs and crossover.
#[derive(Debug, Serialize)]
struct Row {
    op: String,
    /// The unit the costs are per.
    unit: &'static str,
    costs: Costs,
    /// The smallest batch (in units) the GPU takes part in; `None`: the CPU keeps everything
    /// up to 2^26 units.
    gpu_from: Option<usize>,
}

/// Measures, stores and prints the calibration.
pub fn run(
    json: bool,
    threads: Option<usize>,
    allow_software_gpu: bool,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let mut b = Engine::builder()
        .backend(BackendChoice::Auto)
        .allow_software_gpu(allow_software_gpu)
        .calibration(CalibrationMode::Refresh);
    if let Some(t) = threads {
        b = b.threads(t);
    }
    eprintln!("vera calibrate: building the GPU pipelines and measuring (a few seconds)…");
    let engine = b.build().map_err(|e| CliError::Usage(e.to_string()))?;
    let Some(gpu) = engine.gpu_backend() else {
        return Err(CliError::Usage(format!(
            "nothing to calibrate: no usable GPU ({}); every batch runs on the CPU",
            engine.gpu_unavailable_reason().unwrap_or("none found")
        )));
    };
    let Some(cal) = engine.calibration() else {
        return Err(CliError::Usage(
            "calibration failed (see the log); auto routes by the default thresholds".into(),
        ));
    };
    let limit = 1 << 26;
    let mut rows: Vec<Row> = Rule::ALL
        .iter()
        .map(|&rule| {
            let costs = *cal.verify_costs(rule);
            Row {
                op: format!("verify {rule}"),
                unit: "signature",
                gpu_from: costs.crossover(true, limit),
                costs,
            }
        })
        .collect();
    rows.push(Row {
        op: "sha256".into(),
        unit: "byte (+64 per message)",
        gpu_from: cal.sha256.crossover(true, limit),
        costs: cal.sha256,
    });
    rows.push(Row {
        op: "merkle".into(),
        unit: "leaf",
        gpu_from: cal.merkle.crossover(false, limit),
        costs: cal.merkle,
    });
    rows.push(Row {
        op: "proofs".into(),
        unit: "path hash (+1 per proof)",
        gpu_from: cal.proof_costs().crossover(true, limit),
        costs: cal.proof_costs(),
    });
    let file = calibration_file().map(|p| p.display().to_string());
    if json {
        let text = serde_json::to_string_pretty(&serde_json::json!({
            "adapter": gpu.adapter().name,
            "cpu_threads": engine.cpu_threads(),
            "file": file,
            "operations": rows,
            "verify_kernels": cal.kernels,
        }))
        .map_err(|e| CliError::Usage(e.to_string()))?;
        writeln!(out, "{text}").map_err(write_err)?;
        return flush(out);
    }
    let mut text = format!(
        "calibrated {} against {} CPU threads\nsaved to {}\n\n{:<15} {:>14} {:>15} {:>14}  {:>12}  unit\n",
        gpu.adapter().name,
        engine.cpu_threads(),
        file.as_deref().unwrap_or("(nowhere: no cache folder)"),
        "operation",
        "CPU ns/unit",
        "GPU fixed µs",
        "GPU ns/unit",
        "GPU from",
    );
    for r in &rows {
        text += &format!(
            "{:<15} {:>14.2} {:>15.1} {:>14.3}  {:>12}  {}\n",
            r.op,
            r.costs.cpu_ns_per_item,
            r.costs.gpu_fixed_ns / 1e3,
            r.costs.gpu_ns_per_item,
            r.gpu_from.map_or("never".to_string(), |n| n.to_string()),
            r.unit
        );
    }
    text += &format!("\nEd25519 verify kernels: {}\n", gpu.verify_kernels());
    if gpu.adapter().software {
        text +=
            "\nnote: a software adapter runs on these same CPU cores, so splitting work with it \
                 gains nothing;\n      auto never routes by a software adapter's calibration.\n";
    }
    out.write_all(text.as_bytes()).map_err(write_err)?;
    flush(out)
}
