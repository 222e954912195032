//! Hand-computed cases for a 99.9% SLO over 30d: budget 0.001, page at 14.4× (5m and 1h)
//! or 6× (30m and 6h), ticket at 3× (2h and 1d) or 1× (6h and 3d).

use super::*;

fn obs(ratios: &[(Window, f64)]) -> Observation {
    Observation {
        windows: ratios
            .iter()
            .map(|(w, r)| Measurement {
                window: *w,
                ratio: if r.is_nan() {
                    Ratio::NoTraffic
                } else {
                    Ratio::Value(*r)
                },
                requests: None,
            })
            .collect(),
        data_age_seconds: None,
    }
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9 * b.abs().max(1.0))
}

/// All eight windows: the given ratios in order 5m 30m 1h 2h 6h 1d 3d 30d.
fn all(r: [f64; 8]) -> Observation {
    let windows = Period::thirty_days().windows();
    obs(&windows.into_iter().zip(r).collect::<Vec<_>>())
}

#[test]
fn fast_burn_pages_and_projects_exhaustion() {
    // 5m: 2% errors = 20×; 1h: 1.5% = 15× (both over 14.4: page).
    // 30d: 0.05% = 0.5× → half the budget left; at 15× the rest lasts 0.5 × 30d / 15 = 1d.
    let b = evaluate(
        99.9,
        &Period::thirty_days(),
        &all([0.02, 0.01, 0.015, 0.004, 0.002, 0.001, 0.0008, 0.0005]),
    );
    assert!(close(b.window(Window::M5).unwrap().burn_rate, 20.0));
    assert!(close(b.window(Window::H1).unwrap().burn_rate, 15.0));
    assert!(b.page);
    assert!(!b.ticket, "2h 4× but 1d 1× (< 3); 6h 2× and 3d 0.8× (< 1)");
    assert_eq!(b.state, State::Page);
    assert!(close(b.budget_remaining, 0.5));
    match b.exhaustion {
        Exhaustion::In(s) => assert!((s - 86_400.0).abs() < 1e-3, "{s}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn short_window_alone_does_not_page() {
    // 5m at 30× but 1h at 10×: the first pair needs both over 14.4. 30m 5.5×, 6h 3×: no.
    let b = evaluate(
        99.9,
        &Period::thirty_days(),
        &all([0.03, 0.0055, 0.01, 0.001, 0.003, 0.0005, 0.0005, 0.0002]),
    );
    assert!(!b.page);
    assert!(b.pairs[0].one_window_over());
    assert!(!b.pairs[0].firing());
    assert_eq!(b.state, State::Ok);
}

#[test]
fn slow_pair_pages() {
    // 30m 6.5× and 6h 7× (> 6): page by the second pair.
    let b = evaluate(
        99.9,
        &Period::thirty_days(),
        &all([0.005, 0.0065, 0.005, 0.004, 0.007, 0.002, 0.0009, 0.0008]),
    );
    assert!(b.page);
    assert!(b.pairs[1].firing());
    assert!(!b.pairs[0].firing());
}

#[test]
fn ticket_from_the_day_pair() {
    // 2h 3.1× and 1d 3.5× (> 3): ticket. 5m 5×: no page.
    let b = evaluate(
        99.9,
        &Period::thirty_days(),
        &all([0.005, 0.002, 0.004, 0.0031, 0.0009, 0.0035, 0.0009, 0.0006]),
    );
    assert!(!b.page);
    assert!(b.ticket);
    assert_eq!(b.state, State::Ticket);
    // 40% left at 4× over 1h: 0.4 × 720h / 4 = 72h.
    match b.exhaustion {
        Exhaustion::In(s) => assert!((s - 72.0 * 3600.0).abs() < 1e-3, "{s}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn overspent_budget_is_negative_and_exhausted() {
    // 30d at 0.12% = 1.2× the budget: remaining 1 - 1.2 = -0.2.
    let b = evaluate(
        99.9,
        &Period::thirty_days(),
        &all([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0012]),
    );
    assert!(close(b.budget_remaining, -0.2));
    assert_eq!(b.exhaustion, Exhaustion::Exhausted);
    assert_eq!(b.state, State::Exhausted);
}

#[test]
fn no_errors_is_not_burning() {
    let b = evaluate(99.5, &Period::thirty_days(), &all([0.0; 8]));
    assert!(close(b.budget_remaining, 1.0));
    assert_eq!(b.exhaustion, Exhaustion::NotBurning);
    assert_eq!(b.state, State::Ok);
}

#[test]
fn nan_is_no_traffic_not_a_number() {
    let b = evaluate(
        99.9,
        &Period::thirty_days(),
        &all([f64::NAN, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
    );
    let w = b.window(Window::M5).unwrap();
    assert_eq!(w.error_ratio, None);
    assert_eq!(w.burn_rate, None);
    assert_eq!(w.note, Some("no_traffic"));
    assert_eq!(b.state, State::NoTraffic);
}

#[test]
fn empty_results_are_no_data() {
    let b = evaluate(99.9, &Period::thirty_days(), &Observation::default());
    assert_eq!(b.state, State::NoData);
    assert_eq!(b.budget_remaining, None);
    assert_eq!(b.exhaustion, Exhaustion::Unknown);
    assert!(!b.page && !b.ticket);
}

#[test]
fn low_traffic_below_one_error_per_page_threshold() {
    // 1 / (14.4 × 0.001) = 69.4 requests in 1h.
    assert!((low_traffic_threshold(99.9, &Period::thirty_days()) - 69.444).abs() < 1e-3);
    let with_requests = |n: f64| {
        let mut o = all([0.0; 8]);
        for m in &mut o.windows {
            if m.window == Window::H1 {
                m.requests = Some(n);
            }
        }
        evaluate(99.9, &Period::thirty_days(), &o)
    };
    let low = with_requests(69.0);
    assert_eq!(low.state, State::LowTraffic);
    assert_eq!(low.low_traffic_requests, Some(69.0));
    let enough = with_requests(70.0);
    assert_eq!(enough.state, State::Ok);
    assert_eq!(enough.low_traffic_requests, None);
}

#[test]
fn short_data_is_reported_against_the_period() {
    let mut o = all([0.0; 8]);
    o.data_age_seconds = Some(9.0 * 86_400.0);
    let b = evaluate(99.9, &Period::thirty_days(), &o);
    assert_eq!(b.partial_period_seconds, Some(777_600.0));
    assert_eq!(human_duration(777_600.0), "9d");
    // A full period (age rounded to the minute) is not partial.
    o.data_age_seconds = Some(30.0 * 86_400.0 - 30.0);
    assert_eq!(
        evaluate(99.9, &Period::thirty_days(), &o).partial_period_seconds,
        None
    );
}

#[test]
fn worst_first_orders_page_then_budget() {
    let p = Period::thirty_days();
    let paging = evaluate(
        99.9,
        &p,
        &all([0.02, 0.0, 0.02, 0.0, 0.0, 0.0, 0.0, 0.0001]),
    );
    let low_budget = evaluate(99.9, &p, &all([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0009]));
    let healthy = evaluate(99.9, &p, &all([0.0; 8]));
    let unknown = evaluate(99.9, &p, &Observation::default());
    let mut v = [
        (&unknown, "d"),
        (&healthy, "c"),
        (&low_budget, "b"),
        (&paging, "a"),
    ];
    v.sort_by(|a, b| worst_first(*a, *b));
    let names: Vec<&str> = v.iter().map(|x| x.1).collect();
    assert_eq!(names, vec!["a", "b", "c", "d"]);
}

#[test]
fn human_durations() {
    assert_eq!(human_duration(0.0), "0s");
    assert_eq!(human_duration(42.0), "42s");
    assert_eq!(human_duration(3600.0 * 27.0 + 60.0), "1d 3h");
    assert_eq!(human_duration(3660.0), "1h 1m");
    assert_eq!(human_duration(180_000.0), "2d 2h");
}
