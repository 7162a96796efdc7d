// SPDX-License-Identifier: GPL-2.0

//! Parsing what users write to the control files. Anything not exactly as
//! documented is [`Invalid`] (`EINVAL` to the writer) and changes nothing.

use super::ring;

/// The input is not one the file accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Invalid;

/// The result of a parse.
pub(crate) type Result<T = ()> = core::result::Result<T, Invalid>;

/// Longest input any control file accepts.
pub(crate) const MAX_INPUT: usize = 32;

/// The text written, without one trailing newline; [`Invalid`] if empty,
/// too long or not UTF-8.
fn text(input: &[u8]) -> Result<&str> {
    if input.is_empty() || input.len() > MAX_INPUT {
        return Err(Invalid);
    }
    let input = input.strip_suffix(b"\n").unwrap_or(input);
    let s = core::str::from_utf8(input).map_err(|_| Invalid)?;
    if s.is_empty() || s.bytes().any(|b| b.is_ascii_whitespace()) {
        return Err(Invalid);
    }
    Ok(s)
}

/// A decimal number with no sign, no leading `+`, no spaces.
fn number(s: &str) -> Result<u64> {
    if !s.bytes().all(|b| b.is_ascii_digit()) || s.len() > 19 {
        return Err(Invalid);
    }
    s.parse().map_err(|_| Invalid)
}

/// `enable`: `0` or `1`.
pub(crate) fn parse_enable(input: &[u8]) -> Result<bool> {
    match text(input)? {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err(Invalid),
    }
}

/// `clear`: `1`.
pub(crate) fn parse_clear(input: &[u8]) -> Result {
    match text(input)? {
        "1" => Ok(()),
        _ => Err(Invalid),
    }
}

/// `buffer_size`: records per CPU, a power of two in the ring's range.
pub(crate) fn parse_buffer_size(input: &[u8]) -> Result<usize> {
    let n = usize::try_from(number(text(input)?)?).map_err(|_| Invalid)?;
    if ring::valid_size(n) {
        Ok(n)
    } else {
        Err(Invalid)
    }
}

/// `warn_percent`: 1..=100.
pub(crate) fn parse_warn_percent(input: &[u8]) -> Result<u32> {
    let n = number(text(input)?)?;
    if (1..=100).contains(&n) {
        Ok(n as u32)
    } else {
        Err(Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_einval<T>(r: Result<T>) -> bool {
        matches!(r, Err(e) if e == Invalid)
    }

    #[test]
    fn enable_accepts_exactly_0_and_1() {
        assert_eq!(parse_enable(b"1\n"), Ok(true));
        assert_eq!(parse_enable(b"0"), Ok(false));
        for bad in [
            &b""[..],
            b"\n",
            b"2",
            b"01",
            b"on",
            b"1\n\n",
            b" 1",
            b"1 ",
            b"-1",
            b"\xff",
        ] {
            assert!(is_einval(parse_enable(bad)));
        }
    }

    #[test]
    fn clear_accepts_only_1() {
        assert_eq!(parse_clear(b"1\n"), Ok(()));
        assert!(is_einval(parse_clear(b"0")));
        assert!(is_einval(parse_clear(b"yes")));
        assert!(is_einval(parse_clear(b"")));
    }

    #[test]
    fn buffer_size_is_a_power_of_two_in_range() {
        assert_eq!(parse_buffer_size(b"4096\n"), Ok(4096));
        assert_eq!(parse_buffer_size(b"16"), Ok(16));
        for bad in [
            &b"0"[..],
            b"8",
            b"1000",
            b"4097",
            b"+4096",
            b"4096k",
            b"0x1000",
            b"99999999999999999999999",
            b"2097152",
        ] {
            assert!(is_einval(parse_buffer_size(bad)));
        }
        let long = [b'1'; MAX_INPUT + 1];
        assert!(is_einval(parse_buffer_size(&long)));
    }

    #[test]
    fn warn_percent_range() {
        assert_eq!(parse_warn_percent(b"50\n"), Ok(50));
        assert_eq!(parse_warn_percent(b"100"), Ok(100));
        assert!(is_einval(parse_warn_percent(b"0")));
        assert!(is_einval(parse_warn_percent(b"101")));
        assert!(is_einval(parse_warn_percent(b"5.5")));
    }
}
