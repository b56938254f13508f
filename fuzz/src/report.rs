//! The HTML report of `heddle xcheck`: one self-contained page (no scripts, no external
//! fonts, style sheets or images; plots are inline SVG drawn with `plotters`) with a
//! summary and, per test, a histogram of the outcomes each engine observed, a table of
//! outcomes × engines and the engines' failures. Outcomes the model forbids are marked in
//! red with the rule that forbids them.

use crate::engine::EngineFailure;
use crate::xcheck::{Checked, TestReport, NOT_A_CANDIDATE};
use heddle_model::Outcome;
use indexmap::IndexMap;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// At most this many outcome groups are plotted (the table lists all of them).
const MAX_PLOTTED: usize = 48;

/// Bar colours of the engines, in the order they appear (red is kept for forbidden
/// outcomes).
const ENGINE_COLOURS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(23, 190, 207),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
];

/// Forbidden marks.
const FORBIDDEN: RGBColor = RGBColor(200, 0, 0);

/// Escapes `&`, `<`, `>`, `"` and `'` for HTML text and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body { font-family: sans-serif; margin: 1.5em; color: #222; max-width: 1200px; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f2f2f2; }
code, .outcome { font-family: monospace; }
.bad { color: #c80000; font-weight: bold; }
tr.forbidden td { background: #fde8e8; }
.fail { color: #c80000; }
.note { color: #666; }
.ok { color: #1a7f1a; }
svg { max-width: 100%; height: auto; display: block; margin: 0.5em 0; }
";

/// One self-contained HTML page for `reports`, titled `title`.
///
/// The page has a summary (tests, skipped tests with reasons, engines with versions,
/// forbidden outcomes observed, engine failures) and one section per test: the file name,
/// the model's verdict, a bar plot of each engine's outcome frequencies (fraction of that
/// engine's counted iterations, log scale, so engines with different iteration counts
/// compare), the table of outcomes × engines and each engine's failure. All text is
/// HTML-escaped; the page references nothing outside itself.
pub fn html(reports: &[TestReport], title: &str) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{t}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{t}</h1>\n",
        t = escape(title)
    );
    summary(&mut s, reports);
    for (i, r) in reports.iter().enumerate() {
        section(&mut s, i, r);
    }
    s.push_str("</body>\n</html>\n");
    s
}

/// The engines of all reports, in first-seen order, with their versions.
fn engines(reports: &[TestReport]) -> IndexMap<String, String> {
    let mut m = IndexMap::new();
    for row in reports.iter().flat_map(|r| &r.rows) {
        m.entry(row.engine.clone())
            .or_insert_with(|| row.version.clone());
    }
    m
}

fn summary(s: &mut String, reports: &[TestReport]) {
    let skipped: Vec<(usize, &TestReport, &String)> = reports
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.model.as_ref().err().map(|e| (i, r, e)))
        .collect();
    let findings: Vec<(usize, &TestReport)> = reports
        .iter()
        .enumerate()
        .filter(|(_, r)| r.has_finding())
        .collect();
    let _ = write!(
        s,
        "<h2>Summary</h2>\n<p>{} tests: {} checked, {} skipped; <span class=\"{}\">{} with findings</span>.</p>\n",
        reports.len(),
        reports.len() - skipped.len(),
        skipped.len(),
        if findings.is_empty() { "ok" } else { "bad" },
        findings.len()
    );
    // Per engine: tests run, forbidden outcomes observed, failures.
    s.push_str(
        "<table>\n<tr><th>engine</th><th>version</th><th>tests run</th>\
         <th>forbidden outcomes observed<br>(tests / iterations)</th><th>failures</th></tr>\n",
    );
    for (engine, version) in engines(reports) {
        let rows = reports
            .iter()
            .flat_map(|r| r.rows.iter())
            .filter(|row| row.engine == engine);
        let (mut ran, mut forb_tests, mut forb_iters) = (0, 0, 0u64);
        let mut failures: BTreeMap<&'static str, usize> = BTreeMap::new();
        for row in rows {
            match &row.result {
                Ok(c) => {
                    ran += 1;
                    let f = c.forbidden_observed();
                    if f > 0 {
                        forb_tests += 1;
                        forb_iters += f;
                    }
                }
                Err(e) => *failures.entry(failure_kind(e)).or_default() += 1,
            }
        }
        let failures = if failures.is_empty() {
            "0".to_string()
        } else {
            failures
                .iter()
                .map(|(k, n)| format!("{n} {k}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{ran}</td><td class=\"num{}\">{forb_tests} / {forb_iters}</td><td class=\"{}\">{}</td></tr>",
            escape(&engine),
            escape(&version),
            if forb_tests > 0 { " bad" } else { "" },
            if failures == "0" { "" } else { "fail" },
            escape(&failures)
        );
    }
    s.push_str("</table>\n");
    if !findings.is_empty() {
        s.push_str("<p class=\"bad\">Tests with findings:</p>\n<ul>\n");
        for (i, r) in &findings {
            let why: Vec<String> = r
                .rows
                .iter()
                .filter_map(|row| match &row.result {
                    Ok(c) if c.forbidden_observed() > 0 => {
                        Some(format!("{}: forbidden outcome", row.engine))
                    }
                    Err(e) if e.is_finding() => {
                        Some(format!("{}: {}", row.engine, failure_kind(e)))
                    }
                    _ => None,
                })
                .collect();
            let _ = writeln!(
                s,
                "<li><a href=\"#test-{i}\">{}</a> <span class=\"bad\">({})</span></li>",
                escape(&r.file),
                escape(&why.join("; "))
            );
        }
        s.push_str("</ul>\n");
    }
    if !skipped.is_empty() {
        s.push_str("<p>Skipped tests:</p>\n<table>\n<tr><th>test</th><th>reason</th></tr>\n");
        for (i, r, reason) in &skipped {
            let _ = writeln!(
                s,
                "<tr><td><a href=\"#test-{i}\">{}</a></td><td>{}</td></tr>",
                escape(&r.file),
                escape(reason)
            );
        }
        s.push_str("</table>\n");
    }
}

/// A short word for a failure's kind.
fn failure_kind(e: &EngineFailure) -> &'static str {
    match e {
        EngineFailure::Unavailable(_) => "unavailable",
        EngineFailure::Compile(_) => "compile error",
        EngineFailure::Crash(_) => "crash",
        EngineFailure::Hang(_) => "hang",
        EngineFailure::Harness(_) => "harness error",
    }
}

/// Every outcome of a test (allowed by the model or observed by an engine), sorted, with
/// the rule that forbids it (`None`: allowed).
fn outcomes(r: &TestReport) -> BTreeMap<Outcome, Option<String>> {
    let mut m: BTreeMap<Outcome, Option<String>> = BTreeMap::new();
    if let Ok(model) = &r.model {
        for o in &model.allowed {
            m.insert(o.clone(), None);
        }
    }
    for row in &r.rows {
        if let Ok(c) = &row.result {
            for co in &c.outcomes {
                m.entry(co.outcome.clone())
                    .or_insert_with(|| co.rule.clone());
            }
        }
    }
    m
}

fn section(s: &mut String, i: usize, r: &TestReport) {
    let _ = writeln!(s, "<section id=\"test-{i}\">\n<h2>{}</h2>", escape(&r.file));
    let model = match &r.model {
        Err(reason) => {
            let _ = writeln!(
                s,
                "<p class=\"note\">Skipped: {}</p>\n</section>",
                escape(reason)
            );
            return;
        }
        Ok(m) => m,
    };
    let all = outcomes(r);
    let observed_forbidden = all.values().filter(|v| v.is_some()).count();
    let _ = writeln!(
        s,
        "<p>The model allows {} outcome{}{}.</p>",
        model.allowed.len(),
        if model.allowed.len() == 1 { "" } else { "s" },
        if observed_forbidden > 0 {
            format!(
                "; <span class=\"bad\">{observed_forbidden} forbidden outcome{} observed</span>",
                if observed_forbidden == 1 { "" } else { "s" }
            )
        } else {
            String::new()
        }
    );
    let checked: Vec<(&str, &Checked)> = r
        .rows
        .iter()
        .filter_map(|row| row.result.as_ref().ok().map(|c| (row.engine.as_str(), c)))
        .collect();
    let failed: Vec<(&str, &'static str)> = r
        .rows
        .iter()
        .filter_map(|row| {
            row.result
                .as_ref()
                .err()
                .map(|e| (row.engine.as_str(), failure_kind(e)))
        })
        .collect();
    if !checked.is_empty() && !all.is_empty() {
        s.push_str(&plot(&all, &checked, &failed));
        s.push('\n');
    }
    table(s, &all, r);
    for row in &r.rows {
        match &row.result {
            Err(e) => {
                let class = if e.is_finding() { "fail bad" } else { "note" };
                let _ = writeln!(
                    s,
                    "<p class=\"{class}\">{}: {}</p>",
                    escape(&row.engine),
                    escape(&e.to_string())
                );
            }
            Ok(c) if c.histogram.discarded > 0 => {
                let _ = writeln!(
                    s,
                    "<p class=\"note\">{}: {} of {} iterations discarded ({})</p>",
                    escape(&row.engine),
                    c.histogram.discarded,
                    c.histogram.iterations,
                    escape(&c.histogram.discard_summary())
                );
            }
            Ok(_) => {}
        }
    }
    s.push_str("</section>\n");
}

/// Iterations an engine counted (observed outcomes; discarded iterations excluded).
fn counted(c: &Checked) -> u64 {
    c.outcomes.iter().map(|o| o.count).sum()
}

fn table(s: &mut String, all: &BTreeMap<Outcome, Option<String>>, r: &TestReport) {
    s.push_str("<table>\n<tr><th>#</th><th>outcome</th><th>model</th>");
    for row in &r.rows {
        let _ = write!(s, "<th>{}</th>", escape(&row.engine));
    }
    s.push_str("</tr>\n");
    for (k, (o, rule)) in all.iter().enumerate() {
        let verdict = match rule {
            None => "allowed".to_string(),
            Some(rule) => format!("<span class=\"bad\">forbidden: {}</span>", escape(rule)),
        };
        let _ = write!(
            s,
            "<tr{}><td class=\"num\">{}</td><td class=\"outcome\">{}</td><td>{verdict}</td>",
            if rule.is_some() {
                " class=\"forbidden\""
            } else {
                ""
            },
            k + 1,
            escape(&o.to_string())
        );
        for row in &r.rows {
            match &row.result {
                Ok(c) => {
                    let n = c
                        .outcomes
                        .iter()
                        .find(|co| &co.outcome == o)
                        .map_or(0, |co| co.count);
                    let total = counted(c);
                    let pct = if total == 0 {
                        0.0
                    } else {
                        100.0 * n as f64 / total as f64
                    };
                    let _ = write!(s, "<td class=\"num\">{n} ({pct:.2}%)</td>");
                }
                Err(_) => s.push_str("<td class=\"note\">—</td>"),
            }
        }
        s.push_str("</tr>\n");
    }
    // Iteration totals.
    s.push_str("<tr><td></td><td>iterations (discarded)</td><td></td>");
    for row in &r.rows {
        match &row.result {
            Ok(c) => {
                let _ = write!(
                    s,
                    "<td class=\"num\" title=\"{}\">{} ({})</td>",
                    escape(&c.histogram.discard_summary()),
                    c.histogram.iterations,
                    c.histogram.discarded
                );
            }
            Err(e) => {
                let _ = write!(s, "<td class=\"fail\">{}</td>", failure_kind(e));
            }
        }
    }
    s.push_str("</tr>\n</table>\n");
}

/// The bar plot: one group per outcome (numbered as in the table), one bar per engine
/// with a histogram, height the fraction of the engine's counted iterations on a log
/// scale. Forbidden outcomes get a red background, a red label and their rule below the
/// axis. Returns the `<svg>` element (without its XML namespace, which inline SVG in
/// HTML does not need), or a note if plotting failed.
fn plot(
    all: &BTreeMap<Outcome, Option<String>>,
    engines: &[(&str, &Checked)],
    failed: &[(&str, &'static str)],
) -> String {
    // Plot the forbidden and observed outcomes first if there are too many.
    let mut shown: Vec<(usize, &Outcome, &Option<String>)> = all
        .iter()
        .enumerate()
        .map(|(k, (o, r))| (k + 1, o, r))
        .collect();
    if shown.len() > MAX_PLOTTED {
        let observed: BTreeSet<&Outcome> = engines
            .iter()
            .flat_map(|(_, c)| c.outcomes.iter().map(|co| &co.outcome))
            .collect();
        shown.sort_by_key(|(k, o, r)| (r.is_none(), !observed.contains(o), *k));
        shown.truncate(MAX_PLOTTED);
        shown.sort_by_key(|(k, _, _)| *k);
    }
    let fractions: Vec<Vec<f64>> = shown
        .iter()
        .map(|(_, o, _)| {
            engines
                .iter()
                .map(|(_, c)| {
                    let total = counted(c);
                    let n = c
                        .outcomes
                        .iter()
                        .find(|co| &co.outcome == *o)
                        .map_or(0, |co| co.count);
                    if total == 0 {
                        0.0
                    } else {
                        n as f64 / total as f64
                    }
                })
                .collect()
        })
        .collect();
    let min = fractions
        .iter()
        .flatten()
        .copied()
        .filter(|&f| f > 0.0)
        .fold(1.0f64, f64::min);
    // The axis starts a decade below the rarest observed outcome, at 1% or lower.
    let floor = 10f64.powf(min.log10().floor() - 1.0).clamp(1e-12, 1e-2);
    let forbidden: Vec<(usize, &String)> = shown
        .iter()
        .filter_map(|(k, _, r)| r.as_ref().map(|r| (*k, r)))
        .collect();
    let groups = shown.len();
    let width = (140 + groups * (engines.len() * 14 + 16)).clamp(760, 1150) as u32;
    let legend_h = 22 * forbidden.len() as u32;
    let height = 340 + legend_h;
    let mut svg = String::new();
    let drawn = draw(
        &mut svg,
        (width, height),
        legend_h,
        floor,
        &shown,
        &fractions,
        engines,
        failed,
        &forbidden,
    );
    match drawn {
        Ok(()) => svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1),
        Err(e) => format!(
            "<p class=\"note\">(plot failed: {})</p>",
            escape(&e.to_string())
        ),
    }
}

/// A log-axis tick as a percentage: `100%`, `10%`, `1%`, `0.1%`, `0.01%`, ….
fn percent(v: f64) -> String {
    let p = v * 100.0;
    if p >= 1.0 {
        format!("{p:.0}%")
    } else {
        // As many decimals as the first significant digit needs.
        let decimals = (-p.log10()).ceil().clamp(0.0, 12.0) as usize;
        format!("{p:.decimals$}%")
    }
}

#[allow(clippy::too_many_arguments)]
fn draw(
    svg: &mut String,
    size: (u32, u32),
    legend_h: u32,
    floor: f64,
    shown: &[(usize, &Outcome, &Option<String>)],
    fractions: &[Vec<f64>],
    engines: &[(&str, &Checked)],
    failed: &[(&str, &'static str)],
    forbidden: &[(usize, &String)],
) -> Result<(), Box<dyn std::error::Error>> {
    let groups = shown.len();
    let n_eng = engines.len().max(1);
    let root = SVGBackend::with_string(svg, size).into_drawing_area();
    root.fill(&WHITE)?;
    let (chart_area, legend_area) = root.split_vertically(size.1 - legend_h);
    let mut chart = ChartBuilder::on(&chart_area)
        .margin(12)
        .margin_right(150)
        .x_label_area_size(34)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..groups as f64, (floor..1.0f64).log_scale())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .disable_x_axis()
        .x_labels(0)
        .y_desc("share of the engine's iterations (log scale)")
        .y_label_formatter(&|v| percent(*v))
        .label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 13))
        .draw()?;
    // Forbidden groups: a light red band behind the bars.
    for (g, (_, _, rule)) in shown.iter().enumerate() {
        if rule.is_some() {
            chart.draw_series(std::iter::once(Rectangle::new(
                [(g as f64, floor), (g as f64 + 1.0, 1.0)],
                FORBIDDEN.mix(0.12).filled(),
            )))?;
        }
    }
    let bar_w = 0.8 / n_eng as f64;
    for (e, (_, _)) in engines.iter().enumerate() {
        let colour = ENGINE_COLOURS[e % ENGINE_COLOURS.len()];
        chart.draw_series(fractions.iter().enumerate().filter_map(|(g, fs)| {
            let f = fs.get(e).copied().unwrap_or(0.0);
            (f > 0.0).then(|| {
                let x0 = g as f64 + 0.1 + e as f64 * bar_w;
                Rectangle::new([(x0, floor), (x0 + bar_w * 0.9, f)], colour.filled())
            })
        }))?;
    }
    // The x axis labels: the outcome numbers of the table, red with ✗ when forbidden.
    let small = ("sans-serif", 13).into_font();
    for (g, (k, _, rule)) in shown.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(g as f64 + 0.5, floor));
        let (label, colour) = match rule {
            Some(_) => (format!("#{k} ✗"), FORBIDDEN),
            None => (format!("#{k}"), BLACK),
        };
        let style = small
            .clone()
            .color(&colour)
            .pos(Pos::new(HPos::Center, VPos::Top));
        chart_area.draw_text(&label, &style, (x, y + 6))?;
    }
    chart_area.draw_text(
        "outcome (numbered as in the table below)",
        &("sans-serif", 13)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Top)),
        (
            (size.0 as i32 - 150 + 70) / 2,
            size.1 as i32 - legend_h as i32 - 20,
        ),
    )?;
    // Engine legend, top right.
    let (x_right, y_top) = chart.backend_coord(&(groups as f64, 1.0));
    for (e, (name, _)) in engines.iter().enumerate() {
        let colour = ENGINE_COLOURS[e % ENGINE_COLOURS.len()];
        let y = y_top + 4 + 20 * e as i32;
        chart_area.draw(&Rectangle::new(
            [(x_right + 12, y), (x_right + 24, y + 12)],
            colour.filled(),
        ))?;
        chart_area.draw_text(
            name,
            &small
                .clone()
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Top)),
            (x_right + 30, y),
        )?;
    }
    // Engines without a histogram, in red under the legend.
    for (i, (name, kind)) in failed.iter().enumerate() {
        let y = y_top + 4 + 20 * (engines.len() + i) as i32;
        chart_area.draw_text(
            &format!("{name}: {kind}"),
            &small
                .clone()
                .color(&FORBIDDEN)
                .pos(Pos::new(HPos::Left, VPos::Top)),
            (x_right + 12, y),
        )?;
    }
    // The rule against each forbidden outcome.
    let rule_style = small.color(&FORBIDDEN).pos(Pos::new(HPos::Left, VPos::Top));
    for (i, (k, rule)) in forbidden.iter().enumerate() {
        let what = if rule.as_str() == NOT_A_CANDIDATE {
            "not produced by any candidate execution".to_string()
        } else {
            format!("forbidden by {rule}")
        };
        legend_area.draw_text(
            &format!("✗ #{k}: {what}"),
            &rule_style,
            (82, 4 + 22 * i as i32),
        )?;
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Histogram;
    use crate::xcheck::{EngineRow, ModelView};
    use heddle_model::{InvokeResult, Value};

    /// `T0: [i32:a]  T1: [i32:b]`.
    fn o(a: u32, b: u32) -> Outcome {
        Outcome {
            threads: vec![
                ("T0".into(), vec![InvokeResult::Values(vec![Value::I32(a)])]),
                ("T1".into(), vec![InvokeResult::Values(vec![Value::I32(b)])]),
            ],
        }
    }

    fn row(
        engine: &str,
        version: &str,
        counts: &[((u32, u32), u64)],
        model: &ModelView,
    ) -> EngineRow {
        let mut h = Histogram::default();
        for &((a, b), n) in counts {
            h.add(o(a, b), n);
            h.iterations += n;
        }
        h.seconds = 0.5;
        EngineRow {
            engine: engine.into(),
            version: version.into(),
            result: Ok(Checked::new(h, model)),
        }
    }

    /// Three tests: SB where one engine shows the forbidden (0, 0) (and a name with `<`),
    /// MP where one engine crashes, and one skipped by the model.
    fn sample() -> Vec<TestReport> {
        let sb = ModelView {
            allowed: [o(0, 1), o(1, 0), o(1, 1)].into_iter().collect(),
            forbidden: [(o(0, 0), "C7(†) sc-last-visible".to_string())]
                .into_iter()
                .collect(),
            unlisted_rule: None,
        };
        let mp = ModelView {
            allowed: [o(0, 0), o(0, 1), o(1, 1), o(1, 0)].into_iter().collect(),
            forbidden: IndexMap::new(),
            unlisted_rule: None,
        };
        vec![
            TestReport {
                file: "litmus/SB<atomic>&.wast".into(),
                rows: vec![
                    row(
                        "wasmtime",
                        "wasmtime 48.0.8",
                        &[((0, 1), 4_980), ((1, 0), 4_990), ((1, 1), 28), ((0, 0), 2)],
                        &sb,
                    ),
                    row(
                        "node",
                        "node v20.20.2",
                        &[((0, 1), 49_000), ((1, 0), 50_900), ((1, 1), 100)],
                        &sb,
                    ),
                ],
                model: Ok(sb),
            },
            TestReport {
                file: "litmus/MP.wast".into(),
                rows: vec![
                    row(
                        "wasmtime",
                        "wasmtime 48.0.8",
                        &[((0, 0), 3_000), ((1, 1), 6_000), ((0, 1), 1_000)],
                        &mp,
                    ),
                    EngineRow {
                        engine: "node".into(),
                        version: "node v20.20.2".into(),
                        result: Err(EngineFailure::Crash(
                            "signal 11 <SIGSEGV> in worker 2".into(),
                        )),
                    },
                ],
                model: Ok(mp),
            },
            TestReport {
                file: "litmus/loop.wast".into(),
                model: Err("line 12: loops are not supported <yet>".into()),
                rows: vec![],
            },
        ]
    }

    #[test]
    fn report_has_plots_marks_forbidden_escapes_and_is_self_contained() {
        let page = html(&sample(), "xcheck <run>");
        if let Some(path) = std::env::var_os("HEDDLE_REPORT_EXAMPLE") {
            std::fs::write(path, &page).expect("write the example");
        }
        // Plots: one per test with histograms (not for the skipped one).
        assert_eq!(page.matches("<svg").count(), 2, "{page}");
        // The forbidden outcome is marked with its rule, in the plot and in the table.
        assert!(page.contains("forbidden by C7(†) sc-last-visible"));
        assert!(page.contains("forbidden: C7(†) sc-last-visible"));
        assert!(page.contains("<tr class=\"forbidden\">"));
        // Its count for wasmtime is there; the summary counts 1 test / 2 iterations.
        assert!(page.contains("<td class=\"num\">2 (0.02%)</td>"));
        assert!(page.contains("<td class=\"num bad\">1 / 2</td>"));
        // The crash is shown, in red, escaped.
        assert!(page.contains(
            "<p class=\"fail bad\">node: crash: signal 11 &lt;SIGSEGV&gt; in worker 2</p>"
        ));
        // The skipped test and its reason.
        assert!(page.contains("loops are not supported &lt;yet&gt;"));
        assert!(page.contains("1 skipped"));
        // Escaping of names and title.
        assert!(page.contains("litmus/SB&lt;atomic&gt;&amp;.wast"));
        assert!(!page.contains("SB<atomic>"));
        assert!(page.contains("<title>xcheck &lt;run&gt;</title>"));
        // Engines with versions.
        assert!(
            page.contains("<td>wasmtime 48.0.8</td>") && page.contains("<td>node v20.20.2</td>")
        );
        assert!(page.contains("(wasmtime: forbidden outcome)"));
        assert!(page.contains("(node: crash)"));
        // Self-contained.
        assert!(!page.contains("http://") && !page.contains("https://"));
        assert!(!page.contains("<script") && !page.contains("<link"));
    }

    #[test]
    fn empty_and_odd_inputs_do_not_panic() {
        let page = html(&[], "");
        assert!(page.contains("0 tests"));
        // An engine that counted nothing, and many outcomes (more than are plotted).
        let model = ModelView {
            allowed: (0..100).map(|i| o(i, i)).collect(),
            forbidden: IndexMap::new(),
            unlisted_rule: None,
        };
        let reports = vec![TestReport {
            file: String::new(),
            rows: vec![
                row("a", "", &[], &model),
                row("b", "", &[((1, 2), 1)], &model),
            ],
            model: Ok(model),
        }];
        let page = html(&reports, "t");
        assert_eq!(page.matches("<svg").count(), 1);
        assert!(page.contains("no candidate execution"));
    }

    #[test]
    fn percent_ticks() {
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.1), "10%");
        assert_eq!(percent(0.01), "1%");
        assert_eq!(percent(0.001), "0.1%");
        assert_eq!(percent(0.0001), "0.01%");
    }

    #[test]
    fn escape_covers_the_five_characters() {
        assert_eq!(
            escape(r#"<a href="x">&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
    }
}
