// SPDX-License-Identifier: GPL-2.0

//! One instance as a self-contained SVG: a row for its calling CPU's call
//! and one per CPU, its stopper's states as labelled bars, the CPUs the
//! others waited for in red, touches as ticks under the bars, watchdog
//! checks as dots, the kernel's soft-lockup reports and stopwatch's early
//! warnings as labelled marks, the soft-lockup threshold as a dashed line.
//! Labels sit on what they name; the legend at the bottom only repeats
//! the colours.

use crate::{
    logic::record::StopState,
    model::{Instance, Mark, SliceKind, Timeline, Track},
};
use core::fmt::Write;

/// Width of the image.
const WIDTH: f64 = 1400.0;
/// Left of the plot (row labels before it).
const LEFT: f64 = 230.0;
/// Right margin.
const RIGHT: f64 = 30.0;
/// Top of the first row.
const TOP: f64 = 110.0;
/// Height of a row.
const ROW: f64 = 60.0;
/// Height of a bar.
const BAR: f64 = 22.0;

/// Colour of a slice.
fn colour(kind: SliceKind) -> &'static str {
    match kind {
        SliceKind::State(StopState::None) => "#b0bec5",
        SliceKind::State(StopState::Prepare) => "#ffb74d",
        SliceKind::State(StopState::DisableIrq) => "#64b5f6",
        SliceKind::State(StopState::Run) => "#81c784",
        SliceKind::State(StopState::Exit) => "#90a4ae",
        SliceKind::NotArrived => "#e53935",
        SliceKind::Call => "#9575cd",
    }
}

/// `s` as SVG text (control characters, which XML does not allow, as `?`).
fn esc(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect::<String>()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Seconds with a sensible precision.
fn secs(ns: u64) -> String {
    let s = ns as f64 / 1e9;
    if ns == 0 {
        "0 s".to_string()
    } else if s >= 10.0 {
        format!("{s:.1} s")
    } else if s >= 0.01 {
        format!("{s:.2} s")
    } else {
        format!("{:.3} ms", ns as f64 / 1e6)
    }
}

/// The image of `i`.
pub(crate) fn render(t: &Timeline, i: &Instance) -> String {
    let span = i.end_ns.saturating_sub(i.start_ns).max(1_000_000);
    let pad = span / 20;
    let t0 = i.start_ns.saturating_sub(pad);
    let t1 = i.end_ns + pad;
    let plot = WIDTH - LEFT - RIGHT;
    let x = |ns: u64| LEFT + (ns.clamp(t0, t1) - t0) as f64 / (t1 - t0) as f64 * plot;
    let inside = |ns: u64| (t0..=t1).contains(&ns);
    // Rows: the caller's calls, then each CPU.
    let mut rows: Vec<Track> = Vec::new();
    if let Some(c) = i.caller_cpu {
        rows.push(Track::Calls(c));
    }
    rows.extend((0..t.cpus).map(Track::Cpu));
    let row_y = |track: Track| {
        rows.iter()
            .position(|&r| r == track)
            .map(|n| TOP + n as f64 * ROW)
    };
    let height = TOP + rows.len() as f64 * ROW + 90.0;
    let mut o = String::new();
    let _ = writeln!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="13">"#
    );
    let _ = writeln!(o, r#"<rect width="100%" height="100%" fill="white"/>"#);
    // Title: what, and who held it up.
    let took = if i.running {
        format!(
            "still running {} after entry when the dump was taken",
            secs(i.end_ns.saturating_sub(i.start_ns))
        )
    } else {
        format!("took {}", secs(i.end_ns.saturating_sub(i.start_ns)))
    };
    let caller = i
        .caller_cpu
        .map_or(String::new(), |c| format!(", called on CPU {c}"));
    let _ = writeln!(
        o,
        r#"<text x="16" y="30" font-size="18" font-weight="bold">stop_machine() #{}: fn={}{caller}, {took}</text>"#,
        i.stop,
        esc(&i.func)
    );
    let verdict = match (i.culprits.first(), i.longest_wait) {
        (Some(c), Some(wait)) => format!(
            "CPU {c} held it up{}: the other CPUs waited up to {} in PREPARE for its stopper{}",
            i.culprit_task
                .as_ref()
                .map_or(String::new(), |t| format!(" (running {t})")),
            secs(wait.ns),
            if i.culprits.len() > 1 {
                format!(" (also late: CPUs {})", list(&i.culprits[1..]))
            } else {
                String::new()
            }
        ),
        _ => "Nobody held it up long enough to blame: an ordinary call".to_string(),
    };
    let _ = writeln!(
        o,
        r##"<text x="16" y="56" font-size="15" fill="{}">{}</text>"##,
        if i.culprits.is_empty() {
            "#37474f"
        } else {
            "#c62828"
        },
        esc(&verdict)
    );
    // Rows and their labels.
    for (n, &track) in rows.iter().enumerate() {
        let y = TOP + n as f64 * ROW;
        if n % 2 == 0 {
            let _ = writeln!(
                o,
                r##"<rect x="0" y="{}" width="{WIDTH}" height="{ROW}" fill="#f5f7f8"/>"##,
                y - (ROW - BAR) / 2.0
            );
        }
        let (label, red) = match track {
            Track::Calls(c) => (format!("CPU {c}: the call"), false),
            Track::Cpu(c) if i.culprits.contains(&c) => {
                (format!("CPU {c}  \u{25c0} culprit"), true)
            }
            Track::Cpu(c) => (format!("CPU {c}"), false),
        };
        let _ = writeln!(
            o,
            r##"<text x="16" y="{}" font-weight="{}" fill="{}">{}</text>"##,
            y + BAR / 2.0 + 5.0,
            if red { "bold" } else { "normal" },
            if red { "#c62828" } else { "#263238" },
            esc(&label)
        );
    }
    // Bars.
    for s in t.slices.iter().filter(|s| s.stop == i.stop) {
        let Some(y) = row_y(s.track) else { continue };
        let (x0, x1) = (x(s.start_ns), x(s.end_ns));
        let w = (x1 - x0).max(1.5);
        let (y, h) = match s.kind {
            // Drawn over the row, under the states it ends at.
            SliceKind::NotArrived => (y + 3.0, BAR - 6.0),
            _ => (y, BAR),
        };
        let _ = writeln!(
            o,
            r#"<rect x="{x0:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{}" rx="2"><title>{}</title></rect>"#,
            colour(s.kind),
            esc(&s.name)
        );
        let text = match s.kind {
            SliceKind::State(StopState::None) => "arrived".to_string(),
            SliceKind::State(st) => st.name().to_string(),
            SliceKind::NotArrived => "not arrived: its stopper cannot run".to_string(),
            SliceKind::Call => format!("stop_machine() #{}", i.stop),
        };
        let text = format!("{text} {}", secs(s.end_ns.saturating_sub(s.start_ns)));
        // About 7 px a character.
        if w > text.len() as f64 * 7.2 + 8.0 {
            let fill = if s.kind == SliceKind::NotArrived {
                "white"
            } else {
                "#212121"
            };
            let _ = writeln!(
                o,
                r#"<text x="{:.1}" y="{:.1}" font-size="12" fill="{fill}">{}</text>"#,
                x0 + 5.0,
                y + h / 2.0 + 4.0,
                esc(&text)
            );
        }
    }
    // Marks. A report or warning is labelled the first time on its row.
    let mut labelled: Vec<(Track, Mark)> = Vec::new();
    for m in t.instants.iter().filter(|m| inside(m.ts_ns)) {
        let Some(y) = row_y(m.track) else { continue };
        let mx = x(m.ts_ns);
        match m.kind {
            Mark::Touch => {
                let _ = writeln!(
                    o,
                    r##"<line x1="{mx:.1}" y1="{:.1}" x2="{mx:.1}" y2="{:.1}" stroke="#37474f" stroke-width="1"/>"##,
                    y + BAR + 2.0,
                    y + BAR + 9.0
                );
            }
            Mark::Check => {
                let _ = writeln!(
                    o,
                    r##"<circle cx="{mx:.1}" cy="{:.1}" r="3" fill="#546e7a"><title>{}</title></circle>"##,
                    y - 5.0,
                    esc(&m.name)
                );
            }
            Mark::Report | Mark::Warning => {
                // A report points down at the bar; a warning is a diamond.
                let (fill, label, shape) = if m.kind == Mark::Report {
                    ("#b71c1c", "BUG: soft lockup", "l -6 -11 l 12 0 z")
                } else {
                    ("#f9a825", "early warning", "m 0 -12 l 6 6 l -6 6 l -6 -6 z")
                };
                let _ = writeln!(
                    o,
                    r#"<path d="M {mx:.1} {:.1} {shape}" fill="{fill}" stroke="white" stroke-width="0.5"><title>{}</title></path>"#,
                    y - 1.0,
                    esc(&m.name)
                );
                if !labelled.contains(&(m.track, m.kind)) {
                    labelled.push((m.track, m.kind));
                    let _ = writeln!(
                        o,
                        r#"<text x="{mx:.1}" y="{:.1}" font-size="12" font-weight="bold" fill="{fill}" text-anchor="middle">{label}</text>"#,
                        y - 16.0
                    );
                }
            }
        }
    }
    // The soft-lockup threshold, from the first arrival: a waiting CPU
    // nobody touched for that long is reported.
    let bottom = TOP + rows.len() as f64 * ROW - (ROW - BAR) / 2.0;
    // (Of the CPUs online: one never online keeps the 20 s default.)
    let thr = t
        .online
        .iter()
        .filter_map(|&c| t.thresholds_ns.get(usize::from(c)))
        .min();
    if let (Some(first), Some(&thr)) = (i.first_arrival_ns, thr) {
        let at = first + thr;
        if inside(at) {
            let tx = x(at);
            let _ = writeln!(
                o,
                r##"<line x1="{tx:.1}" y1="{:.1}" x2="{tx:.1}" y2="{bottom:.1}" stroke="#c62828" stroke-width="1.5" stroke-dasharray="6 4"/>"##,
                TOP - 24.0
            );
            let _ = writeln!(
                o,
                r##"<text x="{:.1}" y="{:.1}" font-size="12" fill="#c62828" text-anchor="end">soft-lockup threshold: {} after the first arrival</text>"##,
                tx - 4.0,
                TOP - 14.0,
                secs(thr)
            );
        }
    }
    // Time axis, from the call's entry.
    let step = nice_step((t1 - t0) / 10);
    let _ = writeln!(
        o,
        r##"<line x1="{LEFT}" y1="{bottom:.1}" x2="{:.1}" y2="{bottom:.1}" stroke="#455a64"/>"##,
        WIDTH - RIGHT
    );
    let mut tick = i.start_ns;
    while tick <= t1 {
        let tx = x(tick);
        let _ = writeln!(
            o,
            r##"<line x1="{tx:.1}" y1="{bottom:.1}" x2="{tx:.1}" y2="{:.1}" stroke="#455a64"/><text x="{tx:.1}" y="{:.1}" font-size="11" text-anchor="middle" fill="#455a64">+{}</text>"##,
            bottom + 5.0,
            bottom + 18.0,
            secs(tick.saturating_sub(i.start_ns))
        );
        tick += step;
    }
    // Legend.
    let ly = bottom + 48.0;
    let mut lx = 16.0;
    let items: [(&str, &str); 7] = [
        (colour(SliceKind::State(StopState::None)), "arrived"),
        (
            colour(SliceKind::State(StopState::Prepare)),
            "PREPARE (waiting for every CPU)",
        ),
        (
            colour(SliceKind::State(StopState::DisableIrq)),
            "DISABLE_IRQ",
        ),
        (colour(SliceKind::State(StopState::Run)), "RUN"),
        (colour(SliceKind::NotArrived), "not arrived (waited for)"),
        ("#37474f", "| touch   \u{25cf} watchdog check"),
        (
            "#b71c1c",
            "\u{25bc} BUG: soft lockup report  \u{25c6} early warning",
        ),
    ];
    for (fill, name) in items {
        let _ = writeln!(
            o,
            r#"<rect x="{lx:.1}" y="{:.1}" width="12" height="12" fill="{fill}"/><text x="{:.1}" y="{ly:.1}" font-size="12">{}</text>"#,
            ly - 10.0,
            lx + 16.0,
            esc(name)
        );
        lx += 16.0 + name.chars().count() as f64 * 6.8 + 18.0;
    }
    o.push_str("</svg>\n");
    o
}

/// A tick step of 1, 2 or 5 times a power of ten nanoseconds, at least
/// `rough`.
fn nice_step(rough: u64) -> u64 {
    let mut p = 1u64;
    loop {
        for m in [1, 2, 5] {
            if p * m >= rough.max(1) {
                return p * m;
            }
        }
        p *= 10;
    }
}

/// `1,2,3`.
fn list(cpus: &[u16]) -> String {
    cpus.iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",")
}
