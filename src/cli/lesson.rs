//! `kdive lesson …`: list, show, start, check, solve, reset and lint lessons.
use std::io::{BufRead, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use chrono::Utc;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

use super::{ClusterArgs, InputError};
use crate::lesson_library as library;
use crate::sources::lesson::{self as live, LiveObjects};
use kdive_core::lesson::eval::{all_pass, match_check};
use kdive_core::lesson::format::Lesson;
use kdive_core::lesson::manifests;
use kdive_core::lesson::progress::{StepProgress, StepStatus};
use kdive_core::lesson::solution::{Action, AnswerValue};
use kdive_core::lesson::{CheckResult, EvalContext, Outcome, Step};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Output {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct LessonArgs {
    /// Also load lessons from this folder (`<topic>/<lesson>/lesson.md`)
    #[arg(long, global = true, value_name = "DIR")]
    pub lessons: Option<PathBuf>,
    #[command(subcommand)]
    pub command: LessonCommand,
}

#[derive(Debug, Subcommand)]
pub enum LessonCommand {
    /// List the lessons (ids, titles, topics)
    List {
        #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Show a lesson: its steps, what they check and what setup creates
    Show { id: String },
    /// Preflight, then create the lesson's namespace and objects (asks first)
    Start {
        id: String,
        /// Do not ask for confirmation
        #[arg(long)]
        yes: bool,
    },
    /// Evaluate a lesson's checks against the cluster (exit 0 only when they pass)
    Check {
        id: String,
        /// Only this step
        #[arg(long, value_name = "STEP")]
        step: Option<String>,
        /// Answer an input check: CHECK=VALUE (saved with the progress)
        #[arg(long, value_name = "CHECK=VALUE")]
        answer: Vec<String>,
        /// Keep watching up to this many seconds until the checks pass (observe checks
        /// record what they see meanwhile)
        #[arg(long, value_name = "SECONDS", default_value_t = 0)]
        watch: u64,
        #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Run a step's solution, then watch until its checks pass (asks first)
    Solve {
        id: String,
        #[arg(long, value_name = "STEP")]
        step: String,
        #[arg(long)]
        yes: bool,
        /// Give up after this many seconds
        #[arg(long, value_name = "SECONDS", default_value_t = 120)]
        timeout: u64,
    },
    /// Delete what the lesson created (its namespace) and forget its progress
    Reset { id: String },
    /// Check lesson files: the built-in lessons, or those under PATH
    Lint { path: Option<PathBuf> },
}

pub async fn run(cluster: &ClusterArgs, args: LessonArgs) -> color_eyre::Result<ExitCode> {
    if let LessonCommand::Lint { path } = &args.command {
        return lint(path.as_deref().or(args.lessons.as_deref()));
    }
    let lessons =
        library::load(args.lessons.as_deref()).map_err(|e| InputError::new(e.to_string()))?;
    match args.command {
        LessonCommand::List { output } => list(&lessons, output),
        LessonCommand::Show { id } => show(find(&lessons, &id)?),
        LessonCommand::Start { id, yes } => start(cluster, find(&lessons, &id)?, yes).await,
        LessonCommand::Check {
            id,
            step,
            answer,
            watch,
            output,
        } => {
            let lesson = find(&lessons, &id)?;
            check(
                cluster,
                lesson,
                step.as_deref(),
                &answer,
                Duration::from_secs(watch),
                output,
            )
            .await
        }
        LessonCommand::Solve {
            id,
            step,
            yes,
            timeout,
        } => {
            solve(
                cluster,
                find(&lessons, &id)?,
                &step,
                yes,
                Duration::from_secs(timeout),
            )
            .await
        }
        LessonCommand::Reset { id } => reset(cluster, find(&lessons, &id)?).await,
        LessonCommand::Lint { .. } => unreachable!("handled above"),
    }
}

fn find<'a>(lessons: &'a [Lesson], id: &str) -> Result<&'a Lesson, InputError> {
    if let Some(l) = lessons.iter().find(|l| l.id == id) {
        return Ok(l);
    }
    // The lesson part alone, when only one topic has it.
    let matches: Vec<&Lesson> = lessons
        .iter()
        .filter(|l| l.id.rsplit('/').next() == Some(id))
        .collect();
    match matches.as_slice() {
        [one] => Ok(one),
        _ => Err(InputError::new(format!(
            "no lesson {id:?} (see `kdive lesson list`)"
        ))),
    }
}

fn find_step<'a>(lesson: &'a Lesson, id: &str) -> Result<&'a Step, InputError> {
    lesson.step(id).ok_or_else(|| {
        let ids: Vec<&str> = lesson.steps.iter().map(|s| s.id.as_str()).collect();
        InputError::new(format!(
            "lesson {} has no step {id:?} (steps: {})",
            lesson.id,
            ids.join(", ")
        ))
    })
}

fn lint(path: Option<&std::path::Path>) -> color_eyre::Result<ExitCode> {
    let files = match path {
        Some(p) => library::from_path(p).map_err(|e| InputError::new(e.to_string()))?,
        None => library::embedded(),
    };
    if files.is_empty() {
        return Err(InputError::new(format!(
            "{}: no lesson.md found",
            path.map_or("built-in lessons".into(), |p| p.display().to_string())
        ))
        .into());
    }
    let mut errors = Vec::new();
    for f in &files {
        match library::parse(f).and_then(|l| manifests::lint(&l)) {
            Ok(()) => {}
            Err(e) => errors.push(e.to_string()),
        }
    }
    if errors.is_empty() {
        println!("{} lessons ok", files.len());
        return Ok(ExitCode::SUCCESS);
    }
    Err(InputError::new(errors.join("\n")).into())
}

fn list(lessons: &[Lesson], output: Output) -> color_eyre::Result<ExitCode> {
    let topic = |l: &Lesson| l.id.split('/').next().unwrap_or("").to_string();
    if output == Output::Json {
        let items: Vec<_> = lessons
            .iter()
            .map(|l| {
                json!({"id": l.id, "title": l.title, "topic": topic(l), "summary": l.summary,
                       "steps": l.steps.len(), "duration": l.duration, "level": l.level})
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&items)?);
        return Ok(ExitCode::SUCCESS);
    }
    let width = lessons.iter().map(|l| l.id.len()).max().unwrap_or(2).max(2);
    println!("{:width$}  STEPS  TITLE", "ID");
    for l in lessons {
        println!("{:width$}  {:>5}  {}", l.id, l.steps.len(), l.title);
    }
    Ok(ExitCode::SUCCESS)
}

fn show(l: &Lesson) -> color_eyre::Result<ExitCode> {
    println!("{}: {}\n", l.id, l.title);
    println!("{}\n", l.summary);
    println!("namespace: {}", l.namespace);
    if let Some(d) = &l.duration {
        println!("duration:  {d}");
    }
    if let Some(level) = &l.level {
        println!("level:     {level}");
    }
    if !l.setup.apply.is_empty() {
        println!("setup:     applies {}", l.setup.apply.join(", "));
    }
    for (i, s) in l.steps.iter().enumerate() {
        println!("\n{}. {} [{}]\n", i + 1, s.title, s.id);
        for line in s.text.lines() {
            println!("   {line}");
        }
        println!("\n   checks:");
        for c in &s.checks {
            println!("   - {}: {}", c.id, c.describe);
        }
        if !s.hints.is_empty() {
            println!(
                "   hints: {} (kdive lesson solve shows the solution)",
                s.hints.len()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Asks on stdin; only `y`/`yes` proceeds.
fn confirm(question: &str) -> Result<bool, InputError> {
    print!("{question} [y/N] ");
    std::io::stdout().flush().ok();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| InputError::new(format!("cannot read the answer: {e}")))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

async fn start(cluster: &ClusterArgs, lesson: &Lesson, yes: bool) -> color_eyre::Result<ExitCode> {
    let plan = manifests::setup_plan(lesson).map_err(|e| InputError::new(e.to_string()))?;
    let client = cluster.connect().await?;
    let context = cluster.context_name();
    let problems = live::preflight(&client, lesson).await?;
    if !problems.is_empty() {
        eprintln!("error: this cluster cannot run lesson {}:", lesson.id);
        for p in problems {
            eprintln!("  - {p}");
        }
        return Ok(ExitCode::from(1));
    }
    if live::namespace_exists(&client, &lesson.namespace).await? {
        eprintln!(
            "error: namespace {} exists: lesson {} was started before. Continue with `kdive lesson check {}`, or start over after `kdive lesson reset {}`",
            lesson.namespace, lesson.id, lesson.id, lesson.id
        );
        return Ok(ExitCode::from(1));
    }
    println!(
        "Lesson {} will create, in context {context} (server-side apply, field manager {}):",
        lesson.id,
        manifests::FIELD_MANAGER
    );
    for p in &plan {
        println!("  {}", p.reference());
    }
    println!("labelled {}", manifests::label_selector(lesson));
    if !yes && !confirm("Create them?")? {
        eprintln!("nothing created (pass --yes to skip this question)");
        return Ok(ExitCode::from(1));
    }
    for p in &plan {
        live::apply(&client, p).await?;
    }
    let mut progress = live::load_progress(&context)?;
    progress.lessons.remove(&lesson.id);
    progress.lesson(&lesson.id).started_at = Some(Utc::now());
    live::save_progress(&context, &progress)?;
    if !lesson.setup.wait.is_empty() {
        let mut objects =
            LiveObjects::start(&client, live::watch_keys(lesson), Duration::from_secs(30)).await?;
        let deadline = tokio::time::Instant::now() + lesson.setup.timeout;
        let mut state = StepProgress::default();
        loop {
            let objs = objects.objects();
            let ctx = EvalContext::offline(&objs, &lesson.namespace, Utc::now());
            let results: Vec<CheckResult> = lesson
                .setup
                .wait
                .iter()
                .map(|c| kdive_core::lesson::evaluate(c, &ctx, &mut state))
                .collect();
            if all_pass(&results) {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                eprintln!(
                    "error: setup did not become ready within {}s:",
                    lesson.setup.timeout.as_secs()
                );
                print_results(&results);
                return Ok(ExitCode::from(1));
            }
            objects.next(Duration::from_millis(250)).await;
        }
    }
    println!("started; first step: {}", lesson.steps[0].title);
    Ok(ExitCode::SUCCESS)
}

fn mark(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "✓",
        Outcome::Fail => "✗",
        Outcome::Waiting => "…",
        Outcome::Unknown => "?",
    }
}

fn print_results(results: &[CheckResult]) {
    for r in results {
        println!("  {} {}: {}", mark(r.outcome), r.id, r.describe);
        if !r.message.is_empty() {
            println!("      {}", r.message);
        }
    }
}

/// Evaluates steps on the live objects, watching until they pass or `until` (and, for
/// `for:` checks that hold, until their duration is over). Each change is one observation.
async fn evaluate_until(
    objects: &mut LiveObjects,
    lesson: &Lesson,
    steps: &[&Step],
    states: &mut [StepProgress],
    until: tokio::time::Instant,
) -> Vec<Vec<CheckResult>> {
    loop {
        let objs = objects.objects();
        let ctx = EvalContext::offline(&objs, &lesson.namespace, Utc::now());
        let results: Vec<Vec<CheckResult>> = steps
            .iter()
            .zip(states.iter_mut())
            .map(|(s, st)| s.evaluate(&ctx, st))
            .collect();
        let every = results.iter().all(|r| all_pass(r));
        let waiting = results
            .iter()
            .flatten()
            .any(|r| r.outcome == Outcome::Waiting);
        let now = tokio::time::Instant::now();
        if every || (now >= until && !waiting) || now >= until + Duration::from_secs(600) {
            return results;
        }
        objects.next(Duration::from_millis(250)).await;
    }
}

/// A client and the lesson's watches, if the lesson is started in this cluster (else says
/// so on stderr).
async fn open_started(
    cluster: &ClusterArgs,
    lesson: &Lesson,
) -> color_eyre::Result<Option<(kube::Client, LiveObjects)>> {
    let client = cluster.connect().await?;
    if !live::namespace_exists(&client, &lesson.namespace).await? {
        eprintln!(
            "error: lesson {} is not started here (no namespace {}): run `kdive lesson start {}` first",
            lesson.id, lesson.namespace, lesson.id
        );
        return Ok(None);
    }
    let objects =
        LiveObjects::start(&client, live::watch_keys(lesson), Duration::from_secs(30)).await?;
    Ok(Some((client, objects)))
}

async fn check(
    cluster: &ClusterArgs,
    lesson: &Lesson,
    step: Option<&str>,
    answers: &[String],
    watch: Duration,
    output: Output,
) -> color_eyre::Result<ExitCode> {
    let steps: Vec<&Step> = match step {
        Some(s) => vec![find_step(lesson, s)?],
        None => lesson.steps.iter().collect(),
    };
    let context = cluster.context_name();
    let mut progress = live::load_progress(&context)?;
    let lp = progress.lesson(&lesson.id);
    for a in answers {
        let (check, value) = a
            .split_once('=')
            .ok_or_else(|| InputError::new(format!("--answer {a:?}: expected CHECK=VALUE")))?;
        let owner = steps
            .iter()
            .find(|s| s.checks.iter().any(|c| c.id == check))
            .ok_or_else(|| {
                InputError::new(format!("--answer: no check {check:?} in the steps checked"))
            })?;
        lp.step(&owner.id)
            .answers
            .insert(check.to_string(), value.to_string());
    }
    let Some((_, mut objects)) = open_started(cluster, lesson).await? else {
        return Ok(ExitCode::from(1));
    };
    let mut states: Vec<StepProgress> = steps.iter().map(|s| lp.step(&s.id).clone()).collect();
    if !watch.is_zero() {
        eprintln!("watching for up to {}s…", watch.as_secs());
    }
    let until = tokio::time::Instant::now() + watch;
    let results = evaluate_until(&mut objects, lesson, &steps, &mut states, until).await;
    let now = Utc::now();
    for ((s, mut st), r) in steps.iter().zip(states).zip(&results) {
        if all_pass(r) {
            st.latch(StepStatus::Done, now);
        }
        *lp.step(&s.id) = st;
    }
    live::save_progress(&context, &progress)?;
    let all = results.iter().all(|r| all_pass(r));
    if output == Output::Json {
        let steps_json: Vec<_> = steps
            .iter()
            .zip(&results)
            .map(|(s, r)| json!({"id": s.id, "title": s.title, "passed": all_pass(r), "checks": r}))
            .collect();
        let doc =
            json!({"lesson": lesson.id, "context": context, "passed": all, "steps": steps_json});
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        for (s, r) in steps.iter().zip(&results) {
            println!(
                "{} {} [{}]",
                mark(if all_pass(r) {
                    Outcome::Pass
                } else {
                    Outcome::Fail
                }),
                s.title,
                s.id
            );
            print_results(r);
        }
    }
    Ok(if all {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn solve(
    cluster: &ClusterArgs,
    lesson: &Lesson,
    step_id: &str,
    yes: bool,
    timeout: Duration,
) -> color_eyre::Result<ExitCode> {
    let step = find_step(lesson, step_id)?;
    if step.solution.is_empty() {
        return Err(
            InputError::new(format!("step {step_id} of {} has no solution", lesson.id)).into(),
        );
    }
    println!("The solution of step {} ({}):", step.id, step.title);
    for a in &step.solution {
        println!("  {}", a.kubectl(&lesson.namespace));
    }
    if !yes && !confirm("Run it?")? {
        eprintln!("nothing changed (pass --yes to skip this question)");
        return Ok(ExitCode::from(1));
    }
    let context = cluster.context_name();
    let mut progress = live::load_progress(&context)?;
    let mut states = vec![progress.lesson(&lesson.id).step(&step.id).clone()];
    // Watch before acting, so observe checks see every state the solution goes through.
    let Some((client, mut objects)) = open_started(cluster, lesson).await? else {
        return Ok(ExitCode::from(1));
    };
    let deadline = tokio::time::Instant::now() + timeout;
    let steps = [step];
    evaluate_until(
        &mut objects,
        lesson,
        &steps,
        &mut states,
        tokio::time::Instant::now(),
    )
    .await;
    for action in &step.solution {
        if let Action::Wait { check } = action {
            loop {
                let objs = objects.objects();
                let ctx = EvalContext::offline(&objs, &lesson.namespace, Utc::now());
                let why = match match_check(check, &ctx) {
                    Ok(()) => break,
                    Err(why) => why,
                };
                step.evaluate(&ctx, &mut states[0]);
                if tokio::time::Instant::now() >= deadline {
                    eprintln!(
                        "error: timed out after {}s waiting: {why}",
                        timeout.as_secs()
                    );
                    return Ok(ExitCode::from(1));
                }
                objects.next(Duration::from_millis(250)).await;
            }
            continue;
        }
        if let Action::Answer { check, value } = action {
            let answer = match value {
                AnswerValue::Constant(v) => v.clone(),
                AnswerValue::Field(t, p) => {
                    let objs = objects.objects();
                    let found = objs.select(t, &lesson.namespace);
                    let v = found.first().and_then(|o| p.resolve(o).into_iter().next());
                    match v {
                        Some(v) => kdive_core::lesson::eval::show(v),
                        None => {
                            eprintln!(
                                "error: cannot read {} {} for the answer",
                                t.describe(),
                                p.text
                            );
                            return Ok(ExitCode::from(1));
                        }
                    }
                }
            };
            states[0].answers.insert(check.clone(), answer);
            continue;
        }
        live::run_action(&client, lesson, action).await?;
    }
    let results = evaluate_until(&mut objects, lesson, &steps, &mut states, deadline).await;
    let ok = all_pass(&results[0]);
    let st = &mut states[0];
    if ok {
        st.latch(StepStatus::Skipped, Utc::now());
    }
    *progress.lesson(&lesson.id).step(&step.id) = states.remove(0);
    live::save_progress(&context, &progress)?;
    if ok {
        println!("step {} passes:", step.id);
    } else {
        println!("step {} still fails after {}s:", step.id, timeout.as_secs());
    }
    print_results(&results[0]);
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn reset(cluster: &ClusterArgs, lesson: &Lesson) -> color_eyre::Result<ExitCode> {
    let client = cluster.connect().await?;
    let context = cluster.context_name();
    println!(
        "deleting namespace/{} and objects labelled {}",
        lesson.namespace,
        manifests::label_selector(lesson)
    );
    let left = live::cleanup(&client, lesson, Duration::from_secs(60)).await?;
    let mut progress = live::load_progress(&context)?;
    progress.lessons.remove(&lesson.id);
    live::save_progress(&context, &progress)?;
    if left.is_empty() {
        println!("lesson {} reset", lesson.id);
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("error: still there after 60s: {}", left.join(", "));
        Ok(ExitCode::from(1))
    }
}
