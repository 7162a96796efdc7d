// SPDX-License-Identifier: GPL-2.0

//! The timeline as a Chrome Trace Event file (the JSON object form), which
//! ui.perfetto.dev and chrome://tracing open: one process, `stopwatch`;
//! a thread per CPU (its stopper's states as complete events, `ph: X`;
//! touches, checks, reports and warnings as thread-scoped instants,
//! `ph: i`) and a thread per calling CPU (its `stop_machine()` calls).
//! Times are microseconds since the first record.

use crate::model::{Mark, SliceKind, Timeline, Track};
use core::fmt::Write;

/// The process every track belongs to.
const PID: u32 = 1;

/// The thread id of a track: CPU n is n, its calls 100000 + n.
fn tid(track: Track) -> u32 {
    match track {
        Track::Cpu(c) => u32::from(c),
        Track::Calls(c) => 100_000 + u32::from(c),
    }
}

/// Where a track is listed: each CPU, then its calls.
fn sort_index(track: Track) -> u32 {
    match track {
        Track::Cpu(c) => 2 * u32::from(c),
        Track::Calls(c) => 2 * u32::from(c) + 1,
    }
}

/// `s` as a JSON string.
fn json(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Microseconds since the origin, as JSON.
fn us(t: &Timeline, ns: u64) -> String {
    format!("{:.3}", ns.saturating_sub(t.origin_ns) as f64 / 1000.0)
}

/// The file.
pub(crate) fn render(t: &Timeline) -> String {
    let mut events: Vec<String> = Vec::new();
    let mut tracks: Vec<Track> = (0..t.cpus).map(Track::Cpu).collect();
    tracks.extend(
        t.slices
            .iter()
            .map(|s| s.track)
            .filter(|k| matches!(k, Track::Calls(_))),
    );
    tracks.sort();
    tracks.dedup();
    events.push(format!(
        r#"{{"ph":"M","name":"process_name","pid":{PID},"tid":0,"args":{{"name":"stopwatch"}}}}"#
    ));
    for &track in &tracks {
        let name = match track {
            Track::Cpu(c) => match t.culprit_of(c) {
                Some(stop) => format!("CPU {c} (culprit of #{stop})"),
                None => format!("CPU {c}"),
            },
            Track::Calls(c) => format!("CPU {c}: stop_machine() calls"),
        };
        events.push(format!(
            r#"{{"ph":"M","name":"thread_name","pid":{PID},"tid":{},"args":{{"name":{}}}}}"#,
            tid(track),
            json(&name)
        ));
        events.push(format!(
            r#"{{"ph":"M","name":"thread_sort_index","pid":{PID},"tid":{},"args":{{"sort_index":{}}}}}"#,
            tid(track),
            sort_index(track)
        ));
    }
    for s in &t.slices {
        let (cat, args) = match s.kind {
            SliceKind::State(state) => ("state", format!(r#""state":{}"#, json(state.name()))),
            SliceKind::NotArrived => ("culprit", r#""culprit":true"#.to_string()),
            SliceKind::Call => (
                "stop_machine",
                t.instances
                    .iter()
                    .find(|i| i.stop == s.stop)
                    .map_or(String::new(), |i| {
                        let culprits: Vec<String> = i.culprits.iter().map(u16::to_string).collect();
                        format!(
                            r#""fn":{},"culprit_cpus":[{}],"stops":{}"#,
                            json(&i.func),
                            culprits.join(","),
                            json(&i.line)
                        )
                    }),
            ),
        };
        events.push(format!(
            r#"{{"ph":"X","cat":"{cat}","name":{},"pid":{PID},"tid":{},"ts":{},"dur":{:.3},"args":{{"stop":{}{}{args}}}}}"#,
            json(&s.name),
            tid(s.track),
            us(t, s.start_ns),
            s.end_ns.saturating_sub(s.start_ns) as f64 / 1000.0,
            s.stop,
            if args.is_empty() { "" } else { "," },
        ));
    }
    for i in &t.instants {
        let cat = match i.kind {
            Mark::Touch => "touch",
            Mark::Check => "watchdog",
            Mark::Report => "soft_lockup",
            Mark::Warning => "early_warning",
        };
        let args: Vec<String> = i
            .args
            .iter()
            .map(|(k, v)| format!("{}:{}", json(k), json(v)))
            .collect();
        events.push(format!(
            r#"{{"ph":"i","s":"t","cat":"{cat}","name":{},"pid":{PID},"tid":{},"ts":{},"args":{{{}}}}}"#,
            json(&i.name),
            tid(i.track),
            us(t, i.ts_ns),
            args.join(",")
        ));
    }
    let mut out = String::from("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n");
    out.push_str(&events.join(",\n"));
    out.push_str("\n]}\n");
    out
}
