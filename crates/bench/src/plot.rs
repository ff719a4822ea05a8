//! `dockhand-bench plot`: the scale curves from the bench's own JSON as an SVG image, written
//! by hand (no plotting library, no system libraries): two panels, each with log-scaled x.

use std::fmt::Write as _;

use serde_json::Value;

const W: f64 = 460.0;
const H: f64 = 320.0;
const MARGIN_L: f64 = 60.0;
const MARGIN_R: f64 = 60.0;
const MARGIN_T: f64 = 40.0;
const MARGIN_B: f64 = 66.0;
const COLORS: [&str; 4] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];

struct Series {
    label: String,
    color: &'static str,
    /// Right-hand axis instead of the left one.
    right: bool,
    /// Hollow markers only, no line and no legend entry (the points with filler rows).
    hollow: bool,
    points: Vec<(f64, f64)>,
}

struct Panel {
    title: String,
    x_label: String,
    left_label: String,
    right_label: Option<String>,
    series: Vec<Series>,
    note: Option<String>,
}

fn nice_max(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if v <= m * p {
            return m * p;
        }
    }
    10.0 * p
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn panel_svg(out: &mut String, p: &Panel, ox: f64) {
    let xs: Vec<f64> = p
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|(x, _)| *x))
        .collect();
    let (xmin, xmax) = xs
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(*x), b.max(*x)));
    let (lx0, lx1) = (xmin.max(1.0).log10(), xmax.max(2.0).log10());
    let span = if lx1 > lx0 { lx1 - lx0 } else { 1.0 };
    let ymax = |right: bool| {
        nice_max(
            p.series
                .iter()
                .filter(|s| s.right == right)
                .flat_map(|s| s.points.iter().map(|(_, y)| *y))
                .fold(0.0, f64::max)
                * 1.1,
        )
    };
    let (yl, yr) = (ymax(false), ymax(true));
    let (pw, ph) = (W - MARGIN_L - MARGIN_R, H - MARGIN_T - MARGIN_B);
    let px = |x: f64| ox + MARGIN_L + (x.max(1.0).log10() - lx0) / span * pw;
    let py = |y: f64, right: bool| MARGIN_T + ph - y / if right { yr } else { yl } * ph;
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="22" font-size="14" text-anchor="middle" font-weight="bold">{}</text>"##,
        ox + W / 2.0,
        esc(&p.title)
    );
    let _ = writeln!(
        out,
        r##"<rect x="{:.1}" y="{MARGIN_T}" width="{pw:.1}" height="{ph:.1}" fill="none" stroke="#888"/>"##,
        ox + MARGIN_L
    );
    for i in 0..=4 {
        let f = i as f64 / 4.0;
        let y = MARGIN_T + ph - f * ph;
        let _ = writeln!(
            out,
            r##"<line x1="{:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#eee"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">{}</text>"##,
            ox + MARGIN_L,
            ox + MARGIN_L + pw,
            ox + MARGIN_L - 4.0,
            y + 4.0,
            trim(yl * f)
        );
        if p.right_label.is_some() {
            let _ = writeln!(
                out,
                r##"<text x="{:.1}" y="{:.1}" font-size="11">{}</text>"##,
                ox + MARGIN_L + pw + 4.0,
                y + 4.0,
                trim(yr * f)
            );
        }
    }
    let mut ticks: Vec<f64> = xs.clone();
    ticks.sort_by(f64::total_cmp);
    ticks.dedup();
    for x in ticks {
        let _ = writeln!(
            out,
            r##"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle">{}</text>"##,
            px(x),
            MARGIN_T + ph + 15.0,
            trim(x)
        );
    }
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle">{}</text>"##,
        ox + MARGIN_L + pw / 2.0,
        H - 30.0,
        esc(&p.x_label)
    );
    let _ = writeln!(
        out,
        r##"<text transform="translate({:.1},{:.1}) rotate(-90)" font-size="12" text-anchor="middle">{}</text>"##,
        ox + 14.0,
        MARGIN_T + ph / 2.0,
        esc(&p.left_label)
    );
    if let Some(r) = &p.right_label {
        let _ = writeln!(
            out,
            r##"<text transform="translate({:.1},{:.1}) rotate(90)" font-size="12" text-anchor="middle">{}</text>"##,
            ox + W - 12.0,
            MARGIN_T + ph / 2.0,
            esc(r)
        );
    }
    for (i, s) in p.series.iter().enumerate() {
        let pts: Vec<String> = s
            .points
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y, s.right)))
            .collect();
        if !s.hollow {
            let _ = writeln!(
                out,
                r##"<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>"##,
                pts.join(" "),
                s.color
            );
        }
        for (x, y) in &s.points {
            let (r, fill) = if s.hollow { (5, "none") } else { (3, s.color) };
            let _ = writeln!(
                out,
                r##"<circle cx="{:.1}" cy="{:.1}" r="{r}" fill="{fill}" stroke="{}" stroke-width="1.5"/>"##,
                px(*x),
                py(*y, s.right),
                s.color
            );
        }
        if s.hollow {
            continue;
        }
        let ly = MARGIN_T + 14.0 + i as f64 * 15.0;
        let _ = writeln!(
            out,
            r##"<rect x="{:.1}" y="{:.1}" width="10" height="3" fill="{}"/><text x="{:.1}" y="{:.1}" font-size="11">{}</text>"##,
            ox + MARGIN_L + 8.0,
            ly - 4.0,
            s.color,
            ox + MARGIN_L + 22.0,
            ly,
            esc(&s.label)
        );
    }
    if let Some(n) = &p.note {
        let _ = writeln!(
            out,
            r##"<text x="{:.1}" y="{:.1}" font-size="10" fill="#555">{}</text>"##,
            ox + MARGIN_L,
            H - 10.0,
            esc(n)
        );
    }
}

fn trim(v: f64) -> String {
    if v >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn points(rows: &[Value], x: &str, y: &str, scale: f64) -> Vec<(f64, f64)> {
    rows.iter()
        .filter_map(|r| Some((r[x].as_f64()?, r[y].as_f64()? * scale)))
        .collect()
}

/// The SVG for the `scale` section of a bench JSON document, or None if it has none.
pub(crate) fn render(doc: &Value) -> Option<String> {
    let scale = &doc["sections"]["scale"];
    let sup = scale["supervisor"].as_array()?;
    let cmds = scale["commands"].as_array()?;
    // The curve over projects uses the points without filler rows; the last point (with the
    // events and backups rows) is shown as its own marker series at the same x.
    let (plain, with_rows): (Vec<Value>, Vec<Value>) = cmds
        .iter()
        .cloned()
        .partition(|r| r["events_rows"].as_u64() == Some(0));
    let (mut cmd_series, mut extra) = (Vec::new(), Vec::new());
    for (i, (key, label)) in [
        ("status_ms_median", "status"),
        ("attach_ms_median", "attach (provisioned)"),
        ("env_ms_median", "env"),
    ]
    .into_iter()
    .enumerate()
    {
        cmd_series.push(Series {
            label: label.into(),
            color: COLORS[i],
            right: false,
            hollow: false,
            points: points(&plain, "projects", key, 1.0),
        });
        extra.push(Series {
            label: String::new(),
            color: COLORS[i],
            right: false,
            hollow: true,
            points: points(&with_rows, "projects", key, 1.0),
        });
    }
    cmd_series.append(&mut extra);
    let rows_note = with_rows.first().map(|r| {
        format!(
            "hollow: the same with {} events and {} backups rows",
            r["events_rows"], r["backups_rows"]
        )
    });
    let panels = [
        Panel {
            title: "dockhand supervise, idle".into(),
            x_label: "healthy services (1 PostgreSQL, 1 MariaDB, rest redis:7)".into(),
            left_label: "CPU %".into(),
            right_label: Some("RSS MiB".into()),
            series: vec![
                Series {
                    label: "CPU %".into(),
                    color: COLORS[0],
                    right: false,
                    hollow: false,
                    points: points(sup, "services", "cpu_percent", 1.0),
                },
                Series {
                    label: "RSS MiB (right axis)".into(),
                    color: COLORS[1],
                    right: true,
                    hollow: false,
                    points: points(sup, "services", "rss_kib", 1.0 / 1024.0),
                },
            ],
            note: None,
        },
        Panel {
            title: "command latency (whole process, median)".into(),
            x_label: "projects in the state store".into(),
            left_label: "ms".into(),
            right_label: None,
            series: cmd_series,
            note: rows_note,
        },
    ];
    let mut out = String::new();
    let _ = writeln!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>"##,
        W * 2.0,
        H + 10.0
    );
    for (i, p) in panels.iter().enumerate() {
        panel_svg(&mut out, p, i as f64 * W);
    }
    out.push_str("</svg>\n");
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_both_curves_from_the_json() {
        let doc = serde_json::json!({"sections": {"scale": {
            "supervisor": [{"services": 1, "cpu_percent": 0.1, "rss_kib": 10240},
                           {"services": 64, "cpu_percent": 1.5, "rss_kib": 20480}],
            "commands": [{"projects": 10, "events_rows": 0, "backups_rows": 0,
                          "status_ms_median": 20.0, "attach_ms_median": 40.0, "env_ms_median": 15.0},
                         {"projects": 500, "events_rows": 0, "backups_rows": 0,
                          "status_ms_median": 30.0, "attach_ms_median": 45.0, "env_ms_median": 16.0},
                         {"projects": 500, "events_rows": 10000, "backups_rows": 10000,
                          "status_ms_median": 31.0, "attach_ms_median": 46.0, "env_ms_median": 17.0}]
        }}});
        let svg = render(&doc).unwrap();
        assert!(svg.starts_with("<svg"));
        assert_eq!(svg.matches("<polyline").count(), 5);
        assert_eq!(svg.matches(r#"r="5" fill="none""#).count(), 3);
        assert!(svg.contains("hollow: the same with 10000 events and 10000 backups rows"));
    }

    #[test]
    fn no_scale_section_no_image() {
        assert!(render(&serde_json::json!({"sections": {}})).is_none());
    }
}
