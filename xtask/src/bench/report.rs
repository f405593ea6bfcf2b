//! The pure parts of `cargo xtask bench`: reading criterion's `estimates.json` and the reference
//! scripts' `LNO_BENCH_RESULT` lines, ratios and goals, and the generated Markdown section that
//! is spliced into `docs/benchmarks.md` between two markers. No processes, no clocks: everything
//! here is unit-tested.

use anyhow::{Context, Result, bail, ensure};
use std::path::{Path, PathBuf};

/// Opens the generated section of `docs/benchmarks.md`; everything outside the markers is
/// hand-written and kept.
pub const BEGIN_MARKER: &str =
    "<!-- cargo xtask bench: begin generated section (rewritten on every run; edit outside) -->";
/// Closes the generated section.
pub const END_MARKER: &str = "<!-- cargo xtask bench: end generated section -->";

/// Prefix of the machine-readable lines printed by `tools/bench_json.py`.
pub const RESULT_PREFIX: &str = "LNO_BENCH_RESULT ";

/// A criterion median with its 95 % confidence interval, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub median_s: f64,
    pub lower_s: f64,
    pub upper_s: f64,
}

impl Estimate {
    /// The same estimate divided by `n` (criterion timed `n` units of work per iteration).
    pub fn per(self, n: f64) -> Estimate {
        Estimate {
            median_s: self.median_s / n,
            lower_s: self.lower_s / n,
            upper_s: self.upper_s / n,
        }
    }
}

/// Reads the median (nanoseconds in the file) out of criterion's `new/estimates.json`.
pub fn parse_estimates(json: &str) -> Result<Estimate> {
    let v: serde_json::Value =
        serde_json::from_str(json).context("estimates.json is not valid JSON")?;
    let median = v.get("median").context("estimates.json has no \"median\" object")?;
    let number = |value: Option<&serde_json::Value>, what: &str| -> Result<f64> {
        let x = value
            .and_then(serde_json::Value::as_f64)
            .with_context(|| format!("estimates.json: median.{what} is missing or not a number"))?;
        ensure!(
            x.is_finite() && x >= 0.0,
            "estimates.json: median.{what} should be a finite time ≥ 0 ns, got {x}"
        );
        Ok(x * 1e-9)
    };
    let ci = median.get("confidence_interval");
    Ok(Estimate {
        median_s: number(median.get("point_estimate"), "point_estimate")?,
        lower_s: number(ci.and_then(|c| c.get("lower_bound")), "confidence_interval.lower_bound")?,
        upper_s: number(ci.and_then(|c| c.get("upper_bound")), "confidence_interval.upper_bound")?,
    })
}

/// Finds the `new/estimates.json` of the benchmark whose criterion id is `full_id` under the
/// criterion home. Criterion sanitises ids into folder names (and may add suffixes), so the
/// folder is found by the `full_id` recorded in each `new/benchmark.json` rather than rebuilt.
pub fn find_estimates(criterion_home: &Path, full_id: &str) -> Result<PathBuf> {
    let mut stack = vec![(criterion_home.to_path_buf(), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.is_dir() {
                continue;
            }
            if entry.file_name() == "new" {
                let Ok(text) = std::fs::read_to_string(path.join("benchmark.json")) else {
                    continue;
                };
                let id = serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|v| v.get("full_id")?.as_str().map(str::to_owned));
                if id.as_deref() == Some(full_id) {
                    return Ok(path.join("estimates.json"));
                }
            } else if depth < 6 && entry.file_name() != "report" {
                stack.push((path, depth + 1));
            }
        }
    }
    bail!("criterion wrote no results for `{full_id}` under {}", criterion_home.display())
}

/// One workload timed by a reference script.
#[derive(Debug, Clone, PartialEq)]
pub struct RefResult {
    pub workload: String,
    pub median_s: f64,
    pub min_s: f64,
    pub runs: usize,
    /// The stack's versions as printed, e.g. `torch 2.14.1, torch-harmonics 0.9.3`.
    pub stack: String,
}

/// Parses every `LNO_BENCH_RESULT {json}` line of a reference script's output.
pub fn parse_reference_output(stdout: &str) -> Result<Vec<RefResult>> {
    let mut out = Vec::new();
    for line in stdout.lines() {
        let Some(json) = line.trim_start().strip_prefix(RESULT_PREFIX) else { continue };
        let v: serde_json::Value = serde_json::from_str(json)
            .with_context(|| format!("a result line is not valid JSON: {line}"))?;
        let field =
            |k: &str| v.get(k).with_context(|| format!("result line without \"{k}\": {line}"));
        let workload = field("workload")?.as_str().context("\"workload\" should be a string")?;
        let median_s = field("median_s")?.as_f64().context("\"median_s\" should be a number")?;
        let min_s = field("min_s")?.as_f64().context("\"min_s\" should be a number")?;
        ensure!(
            median_s.is_finite() && median_s > 0.0,
            "{workload}: median_s should be a positive time in seconds, got {median_s}"
        );
        let runs = v.get("runs").and_then(serde_json::Value::as_u64).unwrap_or(0) as usize;
        let stack = v
            .get("stack")
            .and_then(serde_json::Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k} {}", v.as_str().unwrap_or("?")))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        out.push(RefResult { workload: workload.to_owned(), median_s, min_s, runs, stack });
    }
    Ok(out)
}

/// A performance goal from an issue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Goal {
    /// Reported only; no goal was set.
    None,
    /// lno at least this many times faster than the faster reference (reference / lno ≥ x).
    FasterBy(f64),
    /// lno's median under this many seconds.
    Under(f64),
}

/// Whether a goal is met by the measurements at hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Status {
    Met,
    NotMet,
    /// The workload has no goal.
    NoGoal,
    /// A measurement the goal needs is missing (failed, skipped or impossible).
    #[default]
    NotMeasured,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Met => "**met**",
            Status::NotMet => "**not met**",
            Status::NoGoal => "–",
            Status::NotMeasured => "not measured",
        }
    }
}

/// reference / lno: above 1 lno is faster.
pub fn ratio(ours_s: f64, reference_s: f64) -> f64 {
    reference_s / ours_s
}

/// The reference result with the smallest median (the one lno is compared against).
pub fn fastest(results: &[(String, RefResult)]) -> Option<&(String, RefResult)> {
    results.iter().min_by(|a, b| a.1.median_s.total_cmp(&b.1.median_s))
}

/// Evaluates `goal` for lno's median `ours_s` and the ratio against the faster reference.
pub fn evaluate(goal: Goal, ours_s: Option<f64>, ratio: Option<f64>) -> Status {
    match (goal, ours_s, ratio) {
        (Goal::None, _, _) => Status::NoGoal,
        (Goal::FasterBy(x), Some(_), Some(r)) => {
            if r >= x {
                Status::Met
            } else {
                Status::NotMet
            }
        }
        (Goal::Under(limit), Some(t), _) => {
            if t < limit {
                Status::Met
            } else {
                Status::NotMet
            }
        }
        _ => Status::NotMeasured,
    }
}

/// The goal as the table shows it, with the issue that set it.
pub fn goal_text(goal: Goal, source: &str) -> String {
    let what = match goal {
        Goal::None => return "–".to_owned(),
        Goal::FasterBy(x) => format!("≥ {}× the faster reference", trim_float(x)),
        Goal::Under(s) => format!("< {}", format_seconds(s)),
    };
    if source.is_empty() { what } else { format!("{what} ({source})") }
}

fn trim_float(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// A time with three significant digits in a readable unit.
pub fn format_seconds(s: f64) -> String {
    let (value, unit) = if s >= 1.0 {
        (s, "s")
    } else if s >= 1e-3 {
        (s * 1e3, "ms")
    } else {
        (s * 1e6, "µs")
    };
    let digits = if value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    format!("{value:.digits$} {unit}")
}

/// A ratio as the table shows it: `3.2×`, `0.45×`.
pub fn format_ratio(r: f64) -> String {
    if r >= 10.0 { format!("{r:.0}×") } else { format!("{r:.2}×") }
}

/// A byte count in MB (10⁶ bytes), as peak RSS is shown.
pub fn format_mb(bytes: u64) -> String {
    format!("{:.0} MB", bytes as f64 / 1e6)
}

/// One line of the generated table.
#[derive(Debug, Clone)]
pub struct Row {
    pub title: String,
    /// lno's median (and interval), or why there is none.
    pub ours: std::result::Result<Estimate, String>,
    /// Extra text after lno's median, e.g. a throughput.
    pub ours_extra: String,
    /// The faster reference's median and its stack label, or why there is none.
    pub reference: std::result::Result<(f64, String), String>,
    pub goal: String,
    pub status: Status,
    /// Peak resident set sizes of the lno and the reference processes, when shown.
    pub peak_ours: Option<u64>,
    pub peak_ref: Option<u64>,
    pub show_memory: bool,
}

impl Default for Row {
    fn default() -> Self {
        Row {
            title: String::new(),
            ours: Err("not run".to_owned()),
            ours_extra: String::new(),
            reference: Err("not run".to_owned()),
            goal: "–".to_owned(),
            status: Status::NotMeasured,
            peak_ours: None,
            peak_ref: None,
            show_memory: false,
        }
    }
}

/// Run-wide facts shown above the table.
#[derive(Debug, Clone)]
pub struct Header {
    pub command: String,
    pub date_utc: String,
    pub cpu_model: String,
    pub logical_cpus: usize,
    pub threads: usize,
    pub device: String,
    pub load_before: String,
    pub load_after: String,
    pub stacks: Vec<String>,
    pub notes: Vec<String>,
}

/// The Markdown between the markers: run facts, then one table row per workload.
pub fn render_section(h: &Header, rows: &[Row]) -> String {
    let mut s = String::new();
    s.push_str(&format!("Generated by `{}` on {}.\n\n", h.command.replace('`', "'"), h.date_utc));
    s.push_str(&format!(
        "Machine: {} ({} logical CPUs); {} thread(s) on both sides (rayon, libtorch intra-op, \
         `torch.set_num_threads`); device {}; load average (1 min) {} before, {} after.\n\n",
        h.cpu_model, h.logical_cpus, h.threads, h.device, h.load_before, h.load_after
    ));
    for stack in &h.stacks {
        s.push_str(&format!("- {stack}\n"));
    }
    if !h.stacks.is_empty() {
        s.push('\n');
    }
    s.push_str(
        "| workload | lno median [95 % CI] | faster reference, median | ratio (ref / lno) | goal | status | peak RSS lno / ref |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let ours = match &r.ours {
            Ok(e) => format!(
                "{} [{}, {}]{}",
                format_seconds(e.median_s),
                format_seconds(e.lower_s),
                format_seconds(e.upper_s),
                r.ours_extra
            ),
            Err(why) => why.clone(),
        };
        let reference = match &r.reference {
            Ok((t, label)) => format!("{} ({label})", format_seconds(*t)),
            Err(why) => why.clone(),
        };
        let ratio = match (&r.ours, &r.reference) {
            (Ok(e), Ok((t, _))) => format_ratio(ratio(e.median_s, *t)),
            _ => "–".to_owned(),
        };
        let memory = if r.show_memory {
            let f = |b: Option<u64>| b.map_or("–".to_owned(), format_mb);
            format!("{} / {}", f(r.peak_ours), f(r.peak_ref))
        } else {
            "–".to_owned()
        };
        let status = r.status.label();
        s.push_str(&format!(
            "| {} | {ours} | {reference} | {ratio} | {} | {status} | {memory} |\n",
            r.title, r.goal
        ));
    }
    if !h.notes.is_empty() {
        s.push('\n');
        for note in &h.notes {
            s.push_str(&format!("- {note}\n"));
        }
    }
    s
}

/// Replaces the text between the markers of `doc` with `section`. Without markers, a new
/// section headed `heading` is inserted before the first `## ` heading (or appended).
pub fn splice(doc: &str, section: &str, heading: &str) -> Result<String> {
    let begin = doc.match_indices(BEGIN_MARKER).map(|(i, _)| i).collect::<Vec<_>>();
    let end = doc.match_indices(END_MARKER).map(|(i, _)| i).collect::<Vec<_>>();
    let body = format!("{BEGIN_MARKER}\n{}\n{END_MARKER}", section.trim_end());
    match (begin.as_slice(), end.as_slice()) {
        ([b], [e]) if b < e => Ok(format!("{}{body}{}", &doc[..*b], &doc[*e + END_MARKER.len()..])),
        ([], []) => {
            let block = format!("{heading}\n\n{body}\n\n");
            let at =
                if doc.starts_with("## ") { Some(0) } else { doc.find("\n## ").map(|i| i + 1) };
            Ok(match at {
                Some(i) => format!("{}{block}{}", &doc[..i], &doc[i..]),
                None => format!("{}\n\n{}", doc.trim_end(), block.trim_end()) + "\n",
            })
        }
        (b, e) => bail!(
            "docs/benchmarks.md should hold the begin marker once and the end marker once after \
             it, found {} begin and {} end marker(s){}; fix the markers by hand",
            b.len(),
            e.len(),
            if b.len() == 1 && e.len() == 1 { " in the wrong order" } else { "" }
        ),
    }
}

/// `YYYY-MM-DD HH:MM UTC` for seconds since the Unix epoch (civil-from-days, proleptic
/// Gregorian, after H. Hinnant's `chrono`-compatible algorithm).
pub fn utc_date(unix_s: u64) -> String {
    let days = (unix_s / 86_400) as i64;
    let secs = unix_s % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", secs / 3600, secs % 3600 / 60)
}

/// The `model name` of the first CPU in `/proc/cpuinfo` text.
pub fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
}

/// Peak resident set size in bytes from a `/proc/<pid>/status` text (`VmHWM`, in kB).
pub fn vm_hwm_bytes(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 =
        line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ESTIMATES: &str = r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1480637445.9,"upper_bound":1635004035.8},"point_estimate":1555415510.9,"standard_error":39262548.8},"median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1473814884.0,"upper_bound":1625612816.0},"point_estimate":1557450321.0,"standard_error":41311999.1},"median_abs_dev":{"confidence_interval":{"confidence_level":0.95,"lower_bound":3.2e7,"upper_bound":2.1e8},"point_estimate":1.0e8,"standard_error":4.5e7},"slope":null,"std_dev":{"confidence_interval":{"confidence_level":0.95,"lower_bound":5.6e7,"upper_bound":1.7e8},"point_estimate":1.3e8,"standard_error":3.1e7}}"#;

    #[test]
    fn estimates_median_and_interval_are_read_in_seconds() {
        let e = parse_estimates(ESTIMATES).unwrap();
        assert!((e.median_s - 1.557450321).abs() < 1e-12);
        assert!((e.lower_s - 1.473814884).abs() < 1e-12);
        assert!((e.upper_s - 1.625612816).abs() < 1e-12);
        let per = e.per(100.0);
        assert!((per.median_s - 0.01557450321).abs() < 1e-14);
    }

    #[test]
    fn estimates_without_median_or_with_bad_numbers_name_the_field() {
        let err = parse_estimates(r#"{"mean":{}}"#).unwrap_err().to_string();
        assert!(err.contains("median"), "{err}");
        let err = parse_estimates(r#"{"median":{"point_estimate":"x"}}"#).unwrap_err().to_string();
        assert!(err.contains("point_estimate"), "{err}");
        let err = parse_estimates(
            r#"{"median":{"point_estimate":-1.0,"confidence_interval":{"lower_bound":0,"upper_bound":1}}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("got -1"), "{err}");
        assert!(parse_estimates("not json").is_err());
    }

    #[test]
    fn estimates_are_found_by_the_full_id_in_benchmark_json() {
        let home = std::env::temp_dir().join(format!("xtask-bench-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        // A sanitised folder name ('/' and ':' become '_') that differs from the id.
        let dir = home.join("group").join("fn_a_b").join("new");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("benchmark.json"), r#"{"full_id":"group/fn/a:b"}"#).unwrap();
        std::fs::write(dir.join("estimates.json"), ESTIMATES).unwrap();
        let other = home.join("other").join("new");
        std::fs::create_dir_all(&other).unwrap();
        std::fs::write(other.join("benchmark.json"), r#"{"full_id":"other"}"#).unwrap();
        assert_eq!(find_estimates(&home, "group/fn/a:b").unwrap(), dir.join("estimates.json"));
        let err = find_estimates(&home, "missing").unwrap_err().to_string();
        assert!(err.contains("`missing`"), "{err}");
        std::fs::remove_dir_all(&home).unwrap();
    }

    #[test]
    fn reference_result_lines_are_parsed_and_other_lines_ignored() {
        let out = "torch 2.14.1, threads 2\n\
            equiangular lmax=128: median 303.65 ms\n\
            LNO_BENCH_RESULT {\"workload\": \"sht_f64_equiangular\", \"median_s\": 0.30, \"min_s\": 0.28, \"runs\": 3, \"stack\": {\"torch\": \"2.14.1+cu130\", \"torch-harmonics\": \"0.9.3\", \"numpy\": \"2.4.6\"}}\n";
        let r = parse_reference_output(out).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].workload, "sht_f64_equiangular");
        assert_eq!(r[0].runs, 3);
        assert!((r[0].median_s - 0.30).abs() < 1e-15 && (r[0].min_s - 0.28).abs() < 1e-15);
        // serde_json orders keys alphabetically.
        assert_eq!(r[0].stack, "numpy 2.4.6, torch 2.14.1+cu130, torch-harmonics 0.9.3");
    }

    #[test]
    fn malformed_reference_lines_are_errors_naming_the_problem() {
        let err = parse_reference_output("LNO_BENCH_RESULT {\"median_s\": 1.0, \"min_s\": 1.0}")
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"workload\""), "{err}");
        let err = parse_reference_output(
            "LNO_BENCH_RESULT {\"workload\": \"w\", \"median_s\": 0.0, \"min_s\": 0.0}",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("positive"), "{err}");
        assert!(parse_reference_output("LNO_BENCH_RESULT {oops").is_err());
    }

    #[test]
    fn ratio_is_reference_over_ours_and_the_fastest_reference_wins() {
        assert!((ratio(0.5, 1.0) - 2.0).abs() < 1e-15);
        let mk = |m: f64| RefResult {
            workload: "w".into(),
            median_s: m,
            min_s: m,
            runs: 1,
            stack: String::new(),
        };
        let refs = vec![("A".to_owned(), mk(1.7)), ("B".to_owned(), mk(0.13))];
        assert_eq!(fastest(&refs).unwrap().0, "B");
        assert!(fastest(&[]).is_none());
    }

    #[test]
    fn goals_are_met_exactly_at_the_threshold_and_unmeasured_without_data() {
        assert_eq!(evaluate(Goal::FasterBy(1.5), Some(0.1), Some(1.5)), Status::Met);
        assert_eq!(evaluate(Goal::FasterBy(1.5), Some(0.1), Some(1.49)), Status::NotMet);
        assert_eq!(evaluate(Goal::FasterBy(1.5), Some(0.1), None), Status::NotMeasured);
        assert_eq!(evaluate(Goal::FasterBy(1.5), None, None), Status::NotMeasured);
        assert_eq!(evaluate(Goal::Under(0.2), Some(0.19), None), Status::Met);
        assert_eq!(evaluate(Goal::Under(0.2), Some(0.2), None), Status::NotMet);
        assert_eq!(evaluate(Goal::Under(0.2), None, None), Status::NotMeasured);
        assert_eq!(evaluate(Goal::None, Some(1.0), Some(9.0)), Status::NoGoal);
        assert_eq!(
            goal_text(Goal::FasterBy(5.0), "issue 4"),
            "≥ 5× the faster reference (issue 4)"
        );
        assert_eq!(goal_text(Goal::Under(0.05), ""), "< 50.0 ms");
        assert_eq!(goal_text(Goal::None, "x"), "–");
    }

    #[test]
    fn times_ratios_and_sizes_are_formatted_with_units() {
        assert_eq!(format_seconds(1.86e-3), "1.86 ms");
        assert_eq!(format_seconds(0.271), "271 ms");
        assert_eq!(format_seconds(12.34), "12.3 s");
        assert_eq!(format_seconds(5e-6), "5.00 µs");
        assert_eq!(format_ratio(69.4), "69×");
        assert_eq!(format_ratio(0.456), "0.46×");
        assert_eq!(format_mb(2_600_000_000), "2600 MB");
    }

    fn header() -> Header {
        Header {
            command: "cargo xtask bench --quick".into(),
            date_utc: "2026-11-29 23:50 UTC".into(),
            cpu_model: "Xeon".into(),
            logical_cpus: 2,
            threads: 2,
            device: "cpu".into(),
            load_before: "1.0".into(),
            load_after: "2.0".into(),
            stacks: vec!["A: neuraloperator".into()],
            notes: vec!["noisy".into()],
        }
    }

    #[test]
    fn the_table_shows_median_reference_ratio_goal_status_and_memory() {
        let rows = vec![
            Row {
                title: "Ψ sphere".into(),
                ours: Ok(Estimate { median_s: 0.002, lower_s: 0.0019, upper_s: 0.0021 }),
                reference: Ok((0.128, "B".into())),
                goal: goal_text(Goal::FasterBy(5.0), "issue 4"),
                status: Status::Met,
                peak_ours: Some(30_000_000),
                peak_ref: None,
                show_memory: true,
                ..Row::default()
            },
            Row {
                title: "Ψ cloud 1e5".into(),
                ours: Err("failed: exit 1".into()),
                reference: Err("none: dense table".into()),
                goal: "–".into(),
                status: Status::NoGoal,
                ..Row::default()
            },
        ];
        let s = render_section(&header(), &rows);
        assert!(s.contains("`cargo xtask bench --quick`"), "{s}");
        assert!(s.contains("| Ψ sphere | 2.00 ms [1.90 ms, 2.10 ms] | 128 ms (B) | 64× |"), "{s}");
        assert!(s.contains("| **met** | 30 MB / – |"), "{s}");
        assert!(
            s.contains("| Ψ cloud 1e5 | failed: exit 1 | none: dense table | – | – | – | – |"),
            "{s}"
        );
        assert!(s.contains("- noisy"));
    }

    #[test]
    fn splice_replaces_only_the_text_between_the_markers() {
        let doc = format!(
            "# B\n\nintro\n\n## G\n\n{BEGIN_MARKER}\nold table\n{END_MARKER}\n\nhand text\n"
        );
        let out = splice(&doc, "new table\n", "## G").unwrap();
        assert_eq!(
            out,
            format!(
                "# B\n\nintro\n\n## G\n\n{BEGIN_MARKER}\nnew table\n{END_MARKER}\n\nhand text\n"
            )
        );
        // Idempotent: splicing the same section again changes nothing.
        assert_eq!(splice(&out, "new table", "## G").unwrap(), out);
    }

    #[test]
    fn splice_inserts_a_headed_section_before_the_first_heading_when_markers_are_missing() {
        let out = splice("# B\n\nintro\n\n## Old\n\ntext\n", "table", "## Generated").unwrap();
        assert_eq!(
            out,
            format!(
                "# B\n\nintro\n\n## Generated\n\n{BEGIN_MARKER}\ntable\n{END_MARKER}\n\n## Old\n\ntext\n"
            )
        );
        let out = splice("# B\n\nintro\n", "table", "## Generated").unwrap();
        assert!(
            out.ends_with(&format!("## Generated\n\n{BEGIN_MARKER}\ntable\n{END_MARKER}\n")),
            "{out}"
        );
    }

    #[test]
    fn splice_refuses_broken_or_duplicated_markers() {
        let reversed = format!("{END_MARKER}\n{BEGIN_MARKER}\n");
        let err = splice(&reversed, "t", "## G").unwrap_err().to_string();
        assert!(err.contains("wrong order"), "{err}");
        let only_begin = format!("x\n{BEGIN_MARKER}\n");
        let err = splice(&only_begin, "t", "## G").unwrap_err().to_string();
        assert!(err.contains("1 begin and 0 end"), "{err}");
        let doubled = format!("{BEGIN_MARKER}{END_MARKER}{BEGIN_MARKER}{END_MARKER}");
        assert!(splice(&doubled, "t", "## G").is_err());
    }

    #[test]
    fn utc_dates_match_known_calendar_days() {
        assert_eq!(utc_date(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_date(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc_date(1_796_081_400), "2026-11-30 23:30 UTC");
    }

    #[test]
    fn cpu_model_and_peak_rss_are_read_from_proc_text() {
        let cpuinfo =
            "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Processor\n";
        assert_eq!(cpu_model(cpuinfo).as_deref(), Some("Intel(R) Xeon(R) Processor"));
        assert_eq!(cpu_model("nothing"), None);
        let status = "Name:\tpython\nVmPeak:\t  900 kB\nVmHWM:\t  123456 kB\nVmRSS:\t 1000 kB\n";
        assert_eq!(vm_hwm_bytes(status), Some(123_456 * 1024));
        assert_eq!(vm_hwm_bytes("Name: x\n"), None);
    }
}
