//! `cargo xtask bench [--quick] [--device cpu|cuda] [--filter …] [--threads N]`: lno against
//! the Python reference stacks, workload by workload, on this machine.
//!
//! For each workload it runs our criterion benchmark (the bench executable directly, with
//! `--exact <id>`, so that its peak RSS is its own), then the reference script(s) timing the
//! same work, back to back so both see the same machine state, at the same thread count. The
//! medians go into the generated section of `docs/benchmarks.md` (between markers; the rest
//! of the file is hand-written and kept) with the ratio against the faster reference and the
//! issue's goal, met or not. Reference venvs are created when missing (`venv.rs`).
//!
//! `--device cuda` selects the CUDA variants of the tensor benches and passes `--device cuda`
//! to the reference scripts, which synchronise before reading the clock (criterion benches
//! synchronise inside the timed closure). Pure-Rust workloads stay on the CPU on both sides.

mod report;
mod venv;
mod workloads;

use anyhow::{Context, Result, bail};
use report::{Estimate, Goal, Header, RefResult, Row, Status};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use workloads::{Placement, Stack, Workload};

/// Options of `cargo xtask bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// A representative subset with short measurements (under 5 minutes once built).
    #[arg(long)]
    quick: bool,
    /// Where tensor workloads run: `cpu` or `cuda` (pure-Rust workloads always use the CPU).
    #[arg(long, default_value = "cpu", value_parser = ["cpu", "cuda"])]
    device: String,
    /// Run only workloads whose name contains this text (repeatable); `--list` shows names.
    #[arg(long)]
    filter: Vec<String>,
    /// Threads for both sides (rayon, libtorch, torch); default: all logical CPUs.
    #[arg(long)]
    threads: Option<usize>,
    /// Print the workloads (name, quick or not, goal) and exit.
    #[arg(long)]
    list: bool,
    /// Print the table only; leave docs/benchmarks.md alone.
    #[arg(long)]
    no_doc: bool,
}

/// Reference script outcomes by command line (one run serves every workload it prints): the
/// parsed results and the process's peak RSS, or the failure.
type RefCache = HashMap<String, Result<(Vec<RefResult>, Option<u64>), String>>;

/// Reference runs per workload under `--quick` (after the scripts' warm-ups).
const QUICK_REPEATS: usize = 3;

/// Heading of the generated section when docs/benchmarks.md has no markers yet.
const HEADING: &str = "## All workloads against the reference stacks (`cargo xtask bench`)";

pub fn run(args: &BenchArgs) -> Result<()> {
    let selected = workloads::select(workloads::all(), args.quick, &args.filter);
    if args.list {
        for w in &selected {
            let goal = report::goal_text(w.goal, w.goal_source);
            let quick = if w.quick { "quick" } else { "full " };
            println!("{:<18} {quick}  {}  goal: {goal}", w.name, w.title);
        }
        return Ok(());
    }
    if selected.is_empty() {
        let names: Vec<_> = workloads::all().iter().map(|w| w.name).collect();
        bail!(
            "no workload matches --filter {:?}; the names are: {}",
            args.filter,
            names.join(", ")
        );
    }
    let cuda = args.device == "cuda";
    let logical = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = args.threads.unwrap_or(logical);
    anyhow::ensure!(threads >= 1, "--threads should be at least 1, got {threads}");
    let started = Instant::now();

    crate::setup::ensure()?;
    let mut pythons = BTreeMap::new();
    for stack in needed_stacks(&selected, args.quick) {
        pythons.insert(stack, venv::ensure(stack)?);
    }
    let executables = build()?;
    let load_before = load_average();

    let mut rows = Vec::new();
    let mut stack_versions: BTreeMap<Stack, String> = BTreeMap::new();
    let mut cache: RefCache = HashMap::new();
    let run = RunInfo { args, cuda, logical, threads, load_before };
    for (i, w) in selected.iter().enumerate() {
        eprintln!(
            "[{}/{}] {} ({:.0} s elapsed)",
            i + 1,
            selected.len(),
            w.name,
            started.elapsed().as_secs_f64()
        );
        rows.push(measure(
            w,
            args,
            cuda,
            threads,
            &executables,
            &pythons,
            &mut cache,
            &mut stack_versions,
        ));
        // Written after every workload, so that an interrupted run keeps what it measured.
        let section = render(&run, &rows, selected.len(), &stack_versions);
        if i + 1 == selected.len() {
            println!("{section}");
        }
        if !args.no_doc {
            write_doc(&section)?;
        }
    }
    eprintln!("Done in {:.0} s.", started.elapsed().as_secs_f64());
    Ok(())
}

/// Run-wide settings for the header.
struct RunInfo<'a> {
    args: &'a BenchArgs,
    cuda: bool,
    logical: usize,
    threads: usize,
    load_before: String,
}

/// The generated section for the rows measured so far (of `total`).
fn render(
    run: &RunInfo,
    rows: &[Row],
    total: usize,
    stack_versions: &BTreeMap<Stack, String>,
) -> String {
    let mut notes = notes(run.args, run.cuda);
    if rows.len() < total {
        notes.insert(0, format!("**Partial**: {} of {total} workloads measured so far (the run is in progress or was interrupted).", rows.len()));
    }
    let header = Header {
        command: command_line(),
        date_utc: report::utc_date(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        ),
        cpu_model: std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|t| report::cpu_model(&t))
            .unwrap_or_else(|| std::env::consts::ARCH.to_owned()),
        logical_cpus: run.logical,
        threads: run.threads,
        device: run.args.device.clone(),
        load_before: run.load_before.clone(),
        load_after: load_average(),
        stacks: stack_versions
            .iter()
            .map(|(s, v)| format!("{} ({v})", venv::spec(*s).label))
            .collect(),
        notes,
    };
    report::render_section(&header, rows)
}

/// Splices `section` into docs/benchmarks.md between its markers.
fn write_doc(section: &str) -> Result<()> {
    let path = crate::workspace_root().join("docs").join("benchmarks.md");
    let doc =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let new = report::splice(&doc, section, HEADING).with_context(|| path.display().to_string())?;
    std::fs::write(&path, new).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("  (table written into {})", path.display());
    Ok(())
}

fn notes(args: &BenchArgs, cuda: bool) -> Vec<String> {
    let mut n = vec![
        "Ratio = reference median / lno median, against the faster of the reference stacks that ran \
         (above 1: lno is faster). Medians: criterion's for lno, the scripts' (`tools/bench_reference_*.py`) \
         for the references; each workload's reference runs right after lno's."
            .to_owned(),
        "Peak RSS (Ψ and DISCO rows) is the whole process's high-water mark (`VmHWM`, sampled every 20 ms): \
         it includes libtorch / the Python interpreter and setup, not only the workload."
            .to_owned(),
    ];
    if args.quick {
        n.push("`--quick`: a subset of the workloads and shorter measurements (criterion warm-up 1 s, \
                measurement 3 s, 10 samples; 3 reference repeats), so intervals are wider."
            .to_owned());
    }
    if cuda {
        n.push("`--device cuda`: tensor workloads on the GPU (both sides synchronise before reading the clock); \
                pure-Rust workloads (Ψ, quadrature, solvers) stay on the CPU on both sides."
            .to_owned());
    }
    n
}

/// The stacks whose scripts will run.
fn needed_stacks(selected: &[Workload], quick: bool) -> Vec<Stack> {
    let mut s: Vec<Stack> = selected
        .iter()
        .flat_map(|w| w.refs.iter())
        .filter(|r| !(quick && r.full_only))
        .map(|r| r.stack)
        .collect();
    s.sort();
    s.dedup();
    s
}

/// Builds the bench executables (release) and returns them by bench target name.
///
/// One cargo call for every package in the workload table, whatever is selected: the same
/// package set every time means the same feature unification, so nothing is rebuilt between a
/// `--quick` and a full run (or a plain `cargo bench --no-run -p …` of the same packages).
fn build() -> Result<HashMap<String, PathBuf>> {
    let mut packages: Vec<&str> = workloads::all().iter().map(|w| w.ours.package).collect();
    packages.sort_unstable();
    packages.dedup();
    eprintln!("Building the benches of {} (release; slow the first time) ...", packages.join(", "));
    let mut cmd = crate::cargo();
    cmd.current_dir(crate::workspace_root()).args([
        "bench",
        "--no-run",
        "--message-format=json-render-diagnostics",
    ]);
    for p in &packages {
        cmd.args(["-p", p]);
    }
    let out = cmd.stderr(Stdio::inherit()).output().context("running cargo bench --no-run")?;
    anyhow::ensure!(out.status.success(), "building the benches failed ({})", out.status);
    let mut exes = HashMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        let is_bench =
            v["target"]["kind"].as_array().is_some_and(|k| k.iter().any(|x| x == "bench"));
        if let (true, Some(name), Some(exe)) =
            (is_bench, v["target"]["name"].as_str(), v["executable"].as_str())
        {
            let previous = exes.insert(name.to_owned(), PathBuf::from(exe));
            anyhow::ensure!(
                previous.is_none(),
                "two packages have a bench target named `{name}`: rename one"
            );
        }
    }
    for w in workloads::all() {
        anyhow::ensure!(
            exes.contains_key(w.ours.bench),
            "cargo built no executable for bench `{}` of {}",
            w.ours.bench,
            w.ours.package
        );
    }
    Ok(exes)
}

/// Environment that sets the thread count for rayon, OpenMP/MKL (libtorch) and our benches.
fn thread_env(cmd: &mut Command, threads: usize) {
    let t = threads.to_string();
    for var in ["RAYON_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "LNO_BENCH_THREADS"] {
        cmd.env(var, &t);
    }
}

#[allow(clippy::too_many_arguments)]
fn measure(
    w: &Workload,
    args: &BenchArgs,
    cuda: bool,
    threads: usize,
    exes: &HashMap<String, PathBuf>,
    pythons: &BTreeMap<Stack, PathBuf>,
    cache: &mut RefCache,
    stack_versions: &mut BTreeMap<Stack, String>,
) -> Row {
    let mut row = Row {
        title: w.title.to_owned(),
        goal: report::goal_text(w.goal, w.goal_source),
        show_memory: w.memory,
        ..Row::default()
    };
    if cuda && w.placement == Placement::TensorCpuBench {
        row.ours = Err("skipped: the criterion bench has no CUDA variant yet".to_owned());
        row.reference = Err("skipped".to_owned());
        row.status = if w.goal == Goal::None { Status::NoGoal } else { Status::NotMeasured };
        return row;
    }
    let on_gpu = cuda && w.placement == Placement::Tensor;

    // Ours.
    let id = workloads::criterion_id(&w.ours, on_gpu);
    let ours = run_criterion(&exes[w.ours.bench], &id, args.quick, threads);
    match ours {
        Ok((e, peak)) => {
            let e = e.per(w.ours.per_iter);
            if let Some((elements, unit)) = w.throughput {
                row.ours_extra = format!(", {:.1} {unit}", elements / e.median_s / 1e6);
            }
            eprintln!("  lno: {}", report::format_seconds(e.median_s));
            row.ours = Ok(e);
            row.peak_ours = peak;
        }
        Err(e) => {
            eprintln!("  lno failed: {e:#}");
            row.ours = Err(format!("failed: {}", first_line(&e)));
        }
    }

    // Theirs, right after.
    let mut results: Vec<(String, RefResult, Option<u64>)> = Vec::new();
    let mut failures = Vec::new();
    for r in &w.refs {
        let label = format!("{:?}", r.stack);
        if args.quick && r.full_only {
            failures.push(format!("{label}: full run only"));
            continue;
        }
        let mut cmd_args: Vec<String> = r.args.iter().map(|s| s.to_string()).collect();
        if r.threads_arg {
            cmd_args.extend(["--threads".to_owned(), threads.to_string()]);
        }
        if r.device_arg && on_gpu {
            cmd_args.extend(["--device".to_owned(), "cuda".to_owned()]);
        }
        if args.quick {
            // Every script takes `--repeats`; a loaded machine can make one run take a minute.
            if let Some(i) = cmd_args.iter().position(|a| a == "--repeats") {
                cmd_args.drain(i..(i + 2).min(cmd_args.len()));
            }
            cmd_args.extend(["--repeats".to_owned(), QUICK_REPEATS.to_string()]);
        }
        let python = &pythons[&r.stack];
        let cache_key = format!("{label} {} {}", r.script, cmd_args.join(" "));
        let outcome = cache.entry(cache_key).or_insert_with(|| {
            run_reference(python, r.script, &cmd_args, threads).map_err(|e| first_line(&e))
        });
        match outcome {
            Ok((parsed, peak)) => match parsed.iter().find(|p| p.workload == r.key) {
                Some(p) => {
                    stack_versions.entry(r.stack).or_insert_with(|| p.stack.clone());
                    let mut p = p.clone();
                    p.median_s *= r.scale;
                    p.min_s *= r.scale;
                    eprintln!("  {label}: {}", report::format_seconds(p.median_s));
                    results.push((label, p, *peak));
                }
                None => failures.push(format!("{label}: printed no `{}` result", r.key)),
            },
            Err(e) => {
                eprintln!("  {label} failed: {e}");
                failures.push(format!("{label} failed: {e}"));
            }
        }
    }
    let pairs: Vec<(String, RefResult)> =
        results.iter().map(|(l, p, _)| (l.clone(), p.clone())).collect();
    match report::fastest(&pairs) {
        Some((label, best)) => {
            let others: Vec<String> = pairs
                .iter()
                .filter(|(l, _)| l != label)
                .map(|(l, p)| format!("{l} {}", report::format_seconds(p.median_s)))
                .chain(failures.iter().cloned())
                .collect();
            let mut text = label.clone();
            if !others.is_empty() {
                text.push_str(&format!("; {}", others.join("; ")));
            }
            row.peak_ref = results.iter().find(|(l, _, _)| l == label).and_then(|(_, _, p)| *p);
            row.reference = Ok((best.median_s, text));
        }
        None if w.refs.is_empty() => row.reference = Err(w.no_ref.to_owned()),
        None => row.reference = Err(failures.join("; ")),
    }
    let ours_s = row.ours.as_ref().ok().map(|e| e.median_s);
    let ratio = match (&row.ours, &row.reference) {
        (Ok(e), Ok((t, _))) => Some(report::ratio(e.median_s, *t)),
        _ => None,
    };
    row.status = report::evaluate(w.goal, ours_s, ratio);
    row
}

fn first_line(e: &dyn std::fmt::Display) -> String {
    let s = format!("{e:#}");
    s.lines().next().unwrap_or("").replace('|', "/")
}

/// Runs one criterion benchmark and reads its median from `estimates.json`.
fn run_criterion(
    exe: &Path,
    id: &str,
    quick: bool,
    threads: usize,
) -> Result<(Estimate, Option<u64>)> {
    // exe is <target>/release/deps/<name>-<hash>: criterion's home is <target>/criterion.
    let target = exe.ancestors().nth(3).context("bench executable outside a target folder")?;
    let home = target.join("criterion");
    let mut cmd = Command::new(exe);
    cmd.current_dir(crate::workspace_root())
        .env("CRITERION_HOME", &home)
        .args(["--bench", "--exact", id, "--noplot"]);
    if quick {
        cmd.args(["--warm-up-time", "1", "--measurement-time", "3", "--sample-size", "10"]);
    }
    thread_env(&mut cmd, threads);
    let t0 = std::time::SystemTime::now();
    let (stdout, peak) = run_polled(&mut cmd)?;
    let path = report::find_estimates(&home, id).with_context(|| {
        format!(
            "criterion ran but did not report `{id}` (output: {})",
            stdout.lines().last().unwrap_or("")
        )
    })?;
    // A result older than this run would be a stale one from an earlier run.
    let modified = std::fs::metadata(&path)?.modified()?;
    anyhow::ensure!(
        modified >= t0,
        "{} is from an earlier run: `{id}` did not run",
        path.display()
    );
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok((report::parse_estimates(&text).with_context(|| path.display().to_string())?, peak))
}

/// Runs a reference script and parses its result lines.
fn run_reference(
    python: &Path,
    script: &str,
    args: &[String],
    threads: usize,
) -> Result<(Vec<RefResult>, Option<u64>)> {
    let mut cmd = Command::new(python);
    cmd.current_dir(crate::workspace_root())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1")
        .arg(script)
        .args(args);
    thread_env(&mut cmd, threads);
    let (stdout, peak) = run_polled(&mut cmd)?;
    let parsed = report::parse_reference_output(&stdout)?;
    anyhow::ensure!(!parsed.is_empty(), "{script} printed no LNO_BENCH_RESULT line");
    Ok((parsed, peak))
}

/// Runs `cmd`, echoing its stdout as progress, and samples its peak RSS (`VmHWM`) until it
/// exits. Returns the stdout and the peak in bytes (None where /proc is unavailable).
fn run_polled(cmd: &mut Command) -> Result<(String, Option<u64>)> {
    let shown = format!("{cmd:?}").replace('"', "");
    eprintln!("  $ {shown}");
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("could not start `{shown}`"))?;
    let pid = child.id();
    let stdout = child.stdout.take().context("child stdout")?;
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            eprintln!("  | {line}");
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let status_path = format!("/proc/{pid}/status");
    let mut peak: Option<u64> = None;
    let status = loop {
        if let Some(b) =
            std::fs::read_to_string(&status_path).ok().and_then(|s| report::vm_hwm_bytes(&s))
        {
            peak = Some(peak.map_or(b, |p| p.max(b)));
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out =
        reader.join().map_err(|_| anyhow::anyhow!("reading the output of `{shown}` failed"))?;
    if !status.success() {
        let tail = out.lines().last().unwrap_or("no output");
        bail!("exited with {status} (last line: {tail})");
    }
    Ok((out, peak))
}

/// The 1-minute load average (`/proc/loadavg`), or `?`.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

/// `cargo xtask bench …` as typed.
fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    format!("cargo xtask {}", args.join(" "))
}
