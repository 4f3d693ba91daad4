//! Report pages and the checker the apps' CI runs on them.

use report::check::{check_page, check_svg, extract_svgs};
use report::{Cell, Chart, Figure, Grid, Page, RatioFigure, Section, Table, Verdict};

fn line_fig(title: &str) -> Figure {
    Figure::new(title).x_label("x [GeV]").line("BNN", &[0.0, 1.0, 2.0], &[1.0, 0.5, 0.8])
}

fn sample_page(extra: Option<Figure>) -> Page {
    let table = Table::new(&["test", "value", "threshold", "result"])
        .caption("Headline numbers")
        .row([Cell::from("closure"), Cell::num(0.004, 3), Cell::from("< 0.01"), Cell::from(Verdict::Pass)])
        .row([Cell::from("coverage"), Cell::num(0.61, 2), Cell::from("0.65 \u{2013} 0.71"), Cell::from(Verdict::Fail)]);
    let long =
        (0..40).fold(Table::new(&["bin", "n"]), |t, i| t.row([Cell::from(format!("bin {i}")), Cell::num(i as f64, 0)]));
    let mut figures = Section::new("Figures")
        .paragraph("Two figures side by side, a ratio figure and a grid.")
        .figure(line_fig("first"), "The first figure.")
        .figure(line_fig("first"), "The same figure again: its ids must not clash with the first.")
        .figure(RatioFigure::new(line_fig("main"), line_fig("")), "A ratio figure.")
        .figure(Grid::new(2).figures([line_fig("a"), line_fig("b")]), "A grid.");
    if let Some(f) = extra {
        figures = figures.figure(f, "The extra figure.");
    }
    Page::new("Calibration <study>")
        .intro("What was run, on what, and what the figures show: \u{3c3}_{stat} and \u{3c3}_{syst}.")
        .section(Section::new("Headline numbers").table(table).details("All 40 bins", long))
        .section(figures)
        .footer("seed 42")
}

#[test]
fn a_good_page_passes_and_is_self_contained() {
    let html = sample_page(None).to_html();
    let check = check_page(&html);
    assert!(check.passed(), "{check}");
    assert_eq!(check.figures.len(), 4);
    assert_eq!(check.figures[2].panels, [1, 1], "the ratio figure's two panels");
    assert_eq!(check.figures[0].title, "first");
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("<meta charset=\"utf-8\">"));
    assert!(html.contains("<style>") && !html.contains("<script") && !html.contains("<link"));
    // The only URL is the SVG namespace, which is a name, not a request.
    let urls = html.matches("http").count();
    assert_eq!(urls, html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count());
    assert!(html.contains("<title>Calibration &lt;study&gt;</title>"));
    assert!(html.contains("\u{3c3}<sub>stat</sub>"));
    assert!(html.contains("<details>\n<summary>All 40 bins</summary>"));
    assert!(html.contains("Figure 4.</b> A grid."));
    assert!(html.contains("href=\"#s2\""), "a table of contents");
}

#[test]
fn verdicts_carry_a_symbol_and_a_word_not_only_a_colour() {
    let html = sample_page(None).to_html();
    assert!(html.contains("<td class=\"verdict pass\">\u{2714} pass</td>"));
    assert!(html.contains("<td class=\"verdict fail\">\u{2718} fail</td>"));
    assert!(html.contains("td.pass {") && html.contains("td.fail {"));
}

#[test]
fn ids_are_unique_across_the_page() {
    let html = sample_page(None).to_html();
    let mut ids: Vec<&str> =
        html.match_indices(" id=\"").map(|(i, _)| &html[i + 5..i + 5 + html[i + 5..].find('"').unwrap()]).collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "duplicate ids");
    assert!(n > 6);
}

#[test]
fn a_page_with_an_empty_figure_fails_the_check() {
    let html = sample_page(Some(Figure::new("Pulls").x_label("pull"))).to_html();
    let check = check_page(&html);
    assert!(!check.passed());
    let problems = check.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("figure 5 (Pulls)") && problems[0].contains("no data"), "{}", problems[0]);
    // All-NaN data is just as empty.
    let html = sample_page(Some(Figure::new("NaN only").line("l", &[f64::NAN; 3], &[1.0; 3]))).to_html();
    assert!(!check_page(&html).passed());
    // And so is one empty panel of a grid.
    let grid = Grid::new(2).figures([line_fig("full"), Figure::new("empty")]);
    let c = check_svg(&grid.to_svg());
    assert_eq!(c.panels, [1, 0]);
    assert!(c.problems().iter().any(|p| p.contains("panel 2")), "{:?}", c.problems());
}

#[test]
fn broken_markup_and_bad_numbers_and_external_requests_are_found() {
    let good = line_fig("ok").to_svg();
    let broken = good.replacen("</g>", "", 1);
    assert!(check_svg(&broken).error.is_some());
    let nan = good.replacen("<path class=\"data line\" d=\"M", "<path class=\"data line\" d=\"MNaN ", 1);
    assert_eq!(check_svg(&nan).bad_numbers.len(), 1);
    let html = format!("<html><body>{good}<img src=\"https://example.org/a.png\"></body></html>");
    let check = check_page(&html);
    assert!(!check.passed() && check.external.iter().any(|e| e.contains("example.org")), "{check}");
    assert!(!check_page("<html><p>no figures</p></html>").passed());
    assert_eq!(extract_svgs(&format!("{good}<p>between</p>{good}")).len(), 2);
}

#[test]
fn pages_are_written_to_disk() {
    let path = std::env::temp_dir().join(format!("report_page_{}.html", std::process::id()));
    let page = sample_page(None);
    page.save(&path).unwrap();
    let html = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(html, page.to_html());
}

#[test]
fn wide_figures_span_the_page_and_none_is_wider_than_its_own_size() {
    let html = sample_page(None).to_html();
    assert!(html.contains("<figure id=\"fig-4\" class=\"wide\">"), "the 1280 px grid spans the page");
    assert!(html.contains("<figure id=\"fig-1\"><div style=\"max-width:640px"));
    assert!(html.contains("figure svg { display: block; width: 100%; height: auto"), "figures shrink with the column");
    assert_eq!(Grid::new(2).figures([line_fig("a"), line_fig("b")]).dimensions(), (1280, 420));
}

#[test]
fn a_checked_figure_is_written_and_an_empty_one_is_refused_without_a_file() {
    let dir = std::env::temp_dir().join(format!("report_checked_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.svg");
    report::check::write_checked_svg(&good, &line_fig("ok").to_svg()).unwrap();
    assert!(check_svg(&std::fs::read_to_string(&good).unwrap()).passed());
    let empty = dir.join("empty.svg");
    let e = report::check::write_checked_svg(&empty, &Figure::new("empty").to_svg()).unwrap_err();
    assert!(e.contains("empty.svg") && e.contains("no data"), "{e}");
    assert!(!empty.exists(), "a refused figure leaves no file");
    std::fs::remove_dir_all(&dir).unwrap();
}
