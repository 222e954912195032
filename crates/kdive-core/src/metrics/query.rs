//! PromQL for SLIs: Sloth's `{{.window}}` templating and the expressions kdive evaluates.

use super::spec::{EventsSli, RawSli, Sli};
use super::window::Window;

/// Whether a query contains Sloth's window placeholder (`{{.window}}`, spaces allowed).
pub fn has_window_placeholder(query: &str) -> bool {
    find_placeholder(query, 0).is_some()
}

/// Replaces every `{{.window}}` (also `{{ .window }}`) with the window (`5m`, `30d`).
pub fn render_window(query: &str, window: Window) -> String {
    let w = window.to_string();
    let mut out = String::with_capacity(query.len());
    let mut at = 0;
    while let Some((start, end)) = find_placeholder(query, at) {
        out.push_str(&query[at..start]);
        out.push_str(&w);
        at = end;
    }
    out.push_str(&query[at..]);
    out
}

fn find_placeholder(query: &str, from: usize) -> Option<(usize, usize)> {
    let mut search = from;
    while let Some(rel) = query.get(search..)?.find("{{") {
        let start = search + rel;
        let inner_start = start + 2;
        if let Some(close) = query[inner_start..].find("}}") {
            let inner = query[inner_start..inner_start + close].trim();
            if inner == ".window" {
                return Some((start, inner_start + close + 2));
            }
        }
        search = inner_start;
    }
    None
}

/// The error ratio of an SLI over `window`, exactly as Sloth records it in
/// `slo:sli_error:ratio_rate<window>`.
pub fn error_ratio(sli: &Sli, window: Window) -> String {
    match sli {
        Sli::Events(EventsSli {
            error_query,
            total_query,
        }) => format!(
            "({})\n/\n({})\n",
            render_window(error_query.trim(), window),
            render_window(total_query.trim(), window)
        ),
        Sli::Raw(RawSli { error_ratio_query }) => {
            format!("({})", render_window(error_ratio_query.trim(), window))
        }
    }
}

/// Requests in `window` for an events SLI: `total_query` is a per-second rate (as in
/// Sloth's examples), so the count is that rate times the window's seconds. Raw SLIs have
/// no request count.
pub fn requests(sli: &Sli, window: Window) -> Option<String> {
    match sli {
        Sli::Events(e) => Some(format!(
            "({}) * {}",
            render_window(e.total_query.trim(), window),
            window.seconds()
        )),
        Sli::Raw(_) => None,
    }
}

/// How long the SLI has had data, capped at the period: the age of the earliest 1m step in
/// the period at which the 5m SLI had a value. Answers "computed over 9d of 30d" when
/// retention or the series' age is shorter than the period.
pub fn data_age(sli: &Sli, period: Window) -> String {
    let probe = match sli {
        Sli::Events(e) => render_window(e.total_query.trim(), Window::M5),
        Sli::Raw(r) => render_window(r.error_ratio_query.trim(), Window::M5),
    };
    data_age_of(&probe, period)
}

/// The age of the earliest step with a value of `probe`: 1m steps over the period, or 1s
/// steps over the last minute when no minute step has one yet (a Prometheus just started).
pub fn data_age_of(probe: &str, period: Window) -> String {
    format!(
        "(time() - min_over_time(timestamp({probe})[{period}:1m])) or (time() - min_over_time(timestamp({probe})[1m:1s]))"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events() -> Sli {
        Sli::Events(EventsSli {
            error_query: r#"sum(rate(http_requests_total{job="web",code=~"5.."}[{{.window}}]))"#
                .into(),
            total_query: r#"sum(rate(http_requests_total{job="web"}[{{ .window }}]))"#.into(),
        })
    }

    #[test]
    fn renders_sloths_expression() {
        assert_eq!(
            error_ratio(&events(), Window::H1),
            "(sum(rate(http_requests_total{job=\"web\",code=~\"5..\"}[1h])))\n/\n(sum(rate(http_requests_total{job=\"web\"}[1h])))\n"
        );
        let raw = Sli::Raw(RawSli {
            error_ratio_query: "1 - avg_over_time(up[{{.window}}])\n".into(),
        });
        assert_eq!(
            error_ratio(&raw, Window::D30),
            "(1 - avg_over_time(up[30d]))"
        );
    }

    #[test]
    fn placeholder_forms() {
        assert!(has_window_placeholder("x[{{.window}}]"));
        assert!(has_window_placeholder("x[{{ .window }}]"));
        assert!(!has_window_placeholder("x[5m]"));
        assert!(!has_window_placeholder("x[{{.windows}}]"));
        assert!(!has_window_placeholder("{{"));
        assert_eq!(
            render_window("a[{{.window}}] / b[{{.window}}]", Window::M30),
            "a[30m] / b[30m]"
        );
    }

    #[test]
    fn requests_and_age() {
        assert_eq!(
            requests(&events(), Window::M5).unwrap(),
            "(sum(rate(http_requests_total{job=\"web\"}[5m]))) * 300"
        );
        let probe = "sum(rate(http_requests_total{job=\"web\"}[5m]))";
        assert_eq!(
            data_age(&events(), Window::D30),
            format!(
                "(time() - min_over_time(timestamp({probe})[30d:1m])) or (time() - min_over_time(timestamp({probe})[1m:1s]))"
            )
        );
    }
}
