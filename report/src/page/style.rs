//! The page's stylesheet, inlined so the page opens from disk with no request of any kind. Fonts
//! are the reader's own (DejaVu Sans where present); figures scale down to the column width and
//! never overflow it, and two standard figures sit side by side from about 1300 px up.

pub(crate) const CSS: &str = r#"
:root { color-scheme: light; }
body { margin: 0; background: #ffffff; color: #1d1d1f;
  font-family: "DejaVu Sans", "Helvetica Neue", Helvetica, Arial, sans-serif; font-size: 15px; line-height: 1.5; }
main { max-width: 1360px; margin: 0 auto; padding: 24px 20px 48px; box-sizing: border-box; }
h1 { font-size: 26px; margin: 0 0 8px; }
h2 { font-size: 20px; margin: 36px 0 8px; padding-bottom: 4px; border-bottom: 1px solid #dddddd; }
p { max-width: 900px; margin: 8px 0; }
p.intro { font-size: 16px; }
nav ol { margin: 8px 0 0; padding-left: 22px; columns: 2; max-width: 900px; }
a { color: #005a8c; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 600px), 1fr));
  gap: 28px 32px; margin: 16px 0; align-items: start; }
figure { margin: 0; min-width: 0; }
figure.wide { grid-column: 1 / -1; }
figure svg { display: block; width: 100%; height: auto; margin: 0 auto; }
figcaption { font-size: 14px; color: #333333; margin-top: 6px; max-width: 900px; }
figcaption b { color: #1d1d1f; }
.table-wrap { overflow-x: auto; margin: 12px 0; max-width: 100%; }
table { border-collapse: collapse; font-size: 14px; }
caption { text-align: left; font-size: 14px; color: #333333; padding-bottom: 6px; }
th, td { border: 1px solid #d0d0d0; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.verdict { font-weight: bold; white-space: nowrap; }
td.pass { color: #00573f; background: #e3f4ec; }
td.fail { color: #8f2d00; background: #fde6da; }
td.notrun { color: #555555; background: #f2f2f2; }
details { margin: 12px 0; }
summary { cursor: pointer; font-weight: bold; }
sub, sup { line-height: 0; }
footer { margin-top: 40px; font-size: 13px; color: #555555; }
@media print { figure { break-inside: avoid; } details { display: block; } }
"#;
