// SPDX-License-Identifier: GPL-2.0

//! Records round-trip through their encoding, and bad ones are refused.

use super::*;

/// One event of every kind, with fields at their extremes.
fn samples() -> [Event; 14] {
    [
        Event::Touch {
            source: TouchSource::Plain,
            caller: 0xffff_ffff_8100_1234,
        },
        Event::Touch {
            source: TouchSource::All,
            caller: 0,
        },
        Event::WatchdogWork,
        Event::WatchdogCheck { touch_age_ns: None },
        Event::WatchdogCheck {
            touch_age_ns: Some(u64::MAX - 1),
        },
        Event::StopBegin {
            stop: u32::MAX,
            nr_cpus: u16::MAX,
            nr_active: 0,
            func: 0xffff_ffff_a000_0010,
        },
        Event::StopBegin {
            stop: 1,
            nr_cpus: 4,
            nr_active: u16::MAX,
            func: 0,
        },
        Event::StopEnd {
            stop: 7,
            ret: -22,
            duration_ns: 5_100_000_000,
        },
        Event::CpuState {
            stop: 2,
            state: StopState::DisableIrq,
        },
        Event::CpuState {
            stop: 2,
            state: StopState::Exit,
        },
        Event::EarlyWarning {
            stop: 12,
            culprit: Some(2),
            waited_ns: 1_000_000_001,
        },
        Event::EarlyWarning {
            stop: 12,
            culprit: None,
            waited_ns: 1_000_000_001,
        },
        Event::OtherStop {
            key: u32::MAX,
            threads: u16::MAX,
            func: 0xffff_ffff_8100_0000,
        },
        Event::OtherState {
            key: 1,
            state: StopState::Exit,
        },
    ]
}

#[test]
fn round_trip_every_kind() {
    for (i, event) in samples().into_iter().enumerate() {
        let rec = Record {
            ts_ns: 1_000 + i as u64,
            cpu: u16::MAX - i as u16,
            pid: u32::MAX - i as u32,
            event,
        };
        assert_eq!(Record::decode(rec.encode()), Ok(rec));
    }
}

#[test]
fn kinds_are_distinct() {
    let s = samples();
    for a in &s {
        for b in &s {
            if core::mem::discriminant(a) != core::mem::discriminant(b) {
                assert_ne!(a.kind(), b.kind());
            }
        }
    }
}

#[test]
fn header_layout_matches_documentation() {
    let rec = Record {
        ts_ns: 0x1122_3344_5566_7788,
        cpu: 0xabcd,
        pid: 0x1234_5678,
        event: Event::WatchdogWork,
    };
    let words = rec.encode();
    assert_eq!(words.len() * 8, RECORD_BYTES);
    assert_eq!(words[0], 0x1122_3344_5566_7788);
    assert_eq!(words[1], 0x1234_5678_abcd_0202);
}

#[test]
fn rejects_other_version_and_bad_payload() {
    let mut words = Record {
        ts_ns: 1,
        cpu: 0,
        pid: 0,
        event: Event::WatchdogWork,
    }
    .encode();
    words[1] = (words[1] & !0xff) | u64::from(FORMAT_VERSION + 1);
    assert_eq!(
        Record::decode(words),
        Err(DecodeError::Version(FORMAT_VERSION + 1))
    );

    // Unknown kind 0 (never written: a zeroed slot).
    assert_eq!(
        Record::decode([0, u64::from(FORMAT_VERSION), 0, 0]),
        Err(DecodeError::Payload(0))
    );
    // A state number past MULTI_STOP_EXIT.
    let bad_state = u64::from(FORMAT_VERSION) | (u64::from(kind::CPU_STATE) << 8);
    assert_eq!(
        Record::decode([0, bad_state, 5, 1]),
        Err(DecodeError::Payload(kind::CPU_STATE))
    );
    // A touch source past the last one.
    let bad_touch = u64::from(FORMAT_VERSION) | (u64::from(kind::TOUCH) << 8);
    assert_eq!(
        Record::decode([0, bad_touch, 0, 4]),
        Err(DecodeError::Payload(kind::TOUCH))
    );
}
