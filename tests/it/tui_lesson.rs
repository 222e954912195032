//! The lesson pane at 80×24 and 160×48 over a built-in lesson with fixed check results and
//! progress. Review changes with `cargo insta review`.

use crate::support::tui as tui_support;

use std::collections::BTreeMap;
use tui_support::text;

use chrono::{DateTime, Duration, Utc};
use kdive::lesson_library as library;
use kdive::ui::panes::lesson::{self, LessonView};
use kdive::ui::theme::Theme;
use kdive_core::lesson::progress::{LessonProgress, StepStatus};
use kdive_core::lesson::{CheckResult, Outcome};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn clusterip() -> kdive_core::lesson::Lesson {
    library::load(None)
        .expect("built-in lessons parse")
        .into_iter()
        .find(|l| l.id == "services/clusterip")
        .expect("services/clusterip")
}

fn draw(v: &LessonView, w: u16, h: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal
        .draw(|f| {
            lesson::render(f, f.area(), v, 0, true, &Theme::mono());
        })
        .unwrap();
    text(terminal.backend().buffer())
}

/// Step 1 done, step 2 current with one check failing and two hints revealed.
fn mid_lesson() -> LessonView {
    let l = clusterip();
    let mut p = LessonProgress::default();
    p.step("scale-up").status = Some(StepStatus::Done);
    let started = now() - Duration::seconds(30);
    p.step("affinity").started_at = Some(started);
    let results = BTreeMap::from([(
        "affinity".to_string(),
        vec![CheckResult {
            id: "client-ip-affinity".into(),
            describe: "service web uses ClientIP session affinity".into(),
            outcome: Outcome::Fail,
            message: "service/web: spec.sessionAffinity: expected ClientIP, got None".into(),
        }],
    )]);
    let step = &l.steps[1];
    let hints = lesson::offered_hints(&step.hints, 1, Some(started), &[], now());
    lesson::view(&l, &p, &results, 1, hints)
}

#[test]
fn lesson_pane_mid_lesson() {
    let v = mid_lesson();
    assert_eq!((v.done, v.total, v.current), (1, 3, 1));
    assert!(v.solution.is_empty(), "no solution before the step is done");
    for (w, h) in [(80u16, 24u16), (160, 48)] {
        insta::assert_snapshot!(format!("lesson_mid_{w}x{h}"), draw(&v, w, h));
    }
}

#[test]
fn lesson_pane_step_done_shows_its_solution_and_focus() {
    let l = clusterip();
    let mut p = LessonProgress::default();
    p.step("scale-up").status = Some(StepStatus::Skipped);
    let results = BTreeMap::from([(
        "scale-up".to_string(),
        vec![
            CheckResult {
                id: "four-ready".into(),
                describe: "deployment/web has 4 ready replicas".into(),
                outcome: Outcome::Pass,
                message: String::new(),
            },
            CheckResult {
                id: "four-endpoints".into(),
                describe: "the EndpointSlices of service web list 4 ready endpoints".into(),
                outcome: Outcome::Waiting,
                message: "holds for 2s so far; must hold for 5s".into(),
            },
        ],
    )]);
    let v = lesson::view(&l, &p, &results, 0, Vec::new());
    assert_eq!(
        v.solution,
        ["kubectl -n kdive-services-clusterip scale deployment/web --replicas=4"]
    );
    // Focus directives are data for the App: the objects to select and the fields to mark.
    assert_eq!(v.focus.len(), 2);
    assert_eq!(
        (
            v.focus[0].kind,
            v.focus[0].namespace.as_str(),
            v.focus[0].name.as_deref()
        ),
        ("Deployment", "kdive-services-clusterip", Some("web"))
    );
    assert_eq!(
        v.focus[0].highlight,
        ["spec.replicas", "status.readyReplicas"]
    );
    assert_eq!(
        v.focus[1].selector.as_deref(),
        Some("kubernetes.io/service-name=web")
    );
    for (w, h) in [(80u16, 24u16), (160, 48)] {
        insta::assert_snapshot!(format!("lesson_solved_{w}x{h}"), draw(&v, w, h));
    }
}

#[test]
fn timed_and_state_hints_are_offered() {
    let l = clusterip();
    let hints = &l.steps[0].hints;
    let started = now() - Duration::seconds(30);
    assert!(lesson::offered_hints(hints, 0, Some(started), &[], now()).is_empty());
    assert_eq!(
        lesson::offered_hints(hints, 1, Some(started), &[], now()).len(),
        1
    );
    // The second hint has `after: 60s`.
    let later = now() + Duration::seconds(31);
    let offered = lesson::offered_hints(hints, 0, Some(started), &[], later);
    assert_eq!(offered, ["`kubectl scale` sets it for you."]);
    assert_eq!(
        lesson::offered_hints(hints, 0, Some(started), &[true, false], now()).len(),
        1
    );
}
