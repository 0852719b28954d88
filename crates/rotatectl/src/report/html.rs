//! `report --html FILE`: the report as one self-contained page. Its content security policy allows nothing to be
//! fetched and no script to run, so the page works offline, and a name that looks like markup (secret names and
//! failure texts are written by others) is escaped text, never markup.

use std::fmt::Write;

use super::Entry;

/// How many of the oldest entries the chart draws (the table lists every entry).
const CHART_ROWS: usize = 40;

/// The page: a chart of the oldest ages against `max_age`, then every entry, those violating the policy first
/// (oldest first within each group).
pub(super) fn page(entries: &[Entry], max_age: i64, generated_at: &str) -> String {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by_key(|e| (e.violations.is_empty(), std::cmp::Reverse(e.age_days)));
    let violating = sorted.iter().filter(|e| !e.violations.is_empty()).count();
    let mut out = String::with_capacity(4096 + entries.len() * 400);
    let _ = write!(
        out,
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; base-uri 'none'; form-action 'none'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rotor fleet report</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #1b1b1b; }}
h1 {{ font-size: 1.4em; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }}
th {{ background: #f3f3f3; }}
td.age {{ text-align: right; font-variant-numeric: tabular-nums; }}
tr.violating td {{ background: #fdecea; }}
.summary {{ margin: 1em 0; }}
svg text {{ font: 11px system-ui, sans-serif; }}
</style>
</head>
<body>
<h1>rotor fleet report</h1>
<p class="summary" id="summary">{} checked, {violating} violating the policy (rotation on, rotated within {max_age} days, none stuck). Ages as of {}.</p>
"#,
        entries.len(),
        escape(generated_at),
    );
    chart(&mut out, &sorted, max_age);
    out.push_str(
        "<table id=\"fleet\">\n<thead><tr><th>Name</th><th>Kind</th><th>Rotation</th><th>Function</th>\
         <th>Last rotated</th><th>Next rotation</th><th>Age (days)</th><th>Violations</th></tr></thead>\n<tbody>\n",
    );
    for entry in &sorted {
        let mut violations = entry.violations.join("; ");
        if let Some(failure) = &entry.last_failure {
            let _ = write!(violations, " (last failure: {failure})");
        }
        let _ = writeln!(
            out,
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"age\">{}</td><td>{}</td></tr>",
            if entry.violations.is_empty() { "ok" } else { "violating" },
            escape(entry.shown_name()),
            entry.kind,
            if entry.rotation_enabled { "on" } else { "off" },
            escape(
                entry
                    .function
                    .as_deref()
                    .map_or("-", |arn| arn.rsplit_once(":function:").map_or(arn, |(_, name)| name))
            ),
            escape(entry.last_rotated.as_deref().unwrap_or("-")),
            escape(entry.next_rotation.as_deref().unwrap_or("-")),
            entry.age_days.map_or("-".into(), |d| d.to_string()),
            if violations.is_empty() { "-".to_owned() } else { escape(&violations) },
        );
    }
    out.push_str("</tbody>\n</table>\n</body>\n</html>\n");
    out
}

/// A bar per entry (the oldest [`CHART_ROWS`]), its length the age, its colour the verdict, and the line of
/// `max_age`.
fn chart(out: &mut String, sorted: &[&Entry], max_age: i64) {
    let mut aged: Vec<(&Entry, i64)> = sorted.iter().filter_map(|e| e.age_days.map(|a| (*e, a.max(0)))).collect();
    aged.sort_by_key(|(_, age)| std::cmp::Reverse(*age));
    aged.truncate(CHART_ROWS);
    if aged.is_empty() {
        return;
    }
    let scale_days = aged.iter().map(|(_, a)| *a).max().unwrap_or(0).max(max_age).max(1) as f64 * 1.1;
    let (label, width, row) = (260.0, 520.0, 18.0);
    let height = row * aged.len() as f64 + 24.0;
    let x = |days: i64| label + width * days as f64 / scale_days;
    let _ = writeln!(
        out,
        r#"<svg id="ages" role="img" aria-label="Age of each secret against the {max_age}-day policy" width="{}" height="{height}" viewBox="0 0 {} {height}">"#,
        label + width + 60.0,
        label + width + 60.0,
    );
    for (i, (entry, age)) in aged.iter().enumerate() {
        let y = 4.0 + row * i as f64;
        // Red past the policy's age, orange for another violation (rotation off, stuck), green when compliant.
        let colour = match (*age > max_age, entry.violations.is_empty()) {
            (true, _) => "#c62828",
            (false, false) => "#ef6c00",
            (false, true) => "#2e7d32",
        };
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text><rect x="{label}" y="{y}" width="{:.1}" height="{}" fill="{colour}"><title>{} days</title></rect><text x="{:.1}" y="{}">{age}</text>"#,
            label - 6.0,
            y + 12.0,
            escape(&truncate(entry.shown_name(), 40)),
            x(*age) - label,
            row - 4.0,
            age,
            x(*age) + 4.0,
            y + 12.0,
        );
    }
    let _ = writeln!(
        out,
        r##"<line x1="{0:.1}" y1="0" x2="{0:.1}" y2="{1}" stroke="#000" stroke-dasharray="4 3"/><text x="{0:.1}" y="{2}" text-anchor="middle">policy: {max_age} days</text></svg>"##,
        x(max_age),
        height - 14.0,
        height - 2.0,
    );
}

fn truncate(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        return text.to_owned();
    }
    let head: String = text.chars().take(chars - 1).collect();
    format!("{head}…")
}

/// Text as HTML text and attribute content: `&`, `<`, `>`, `"` and `'` escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_a_name_or_a_failure_is_text() {
        assert_eq!(escape(r#"<img src=x onerror="a()">&'"#), "&lt;img src=x onerror=&quot;a()&quot;&gt;&amp;&#39;");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }
}
