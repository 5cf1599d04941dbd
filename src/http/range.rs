//! `Range: bytes=…` for one range, as players and download managers send it (RFC 9110 §14).

use crate::storage::ByteRange;

#[derive(Debug, PartialEq, Eq)]
pub enum Requested {
    /// No usable Range header: send the whole object with 200.
    Whole,
    Part(ByteRange),
    /// Syntactically fine but outside the object: 416.
    Unsatisfiable,
}

/// Resolves a Range header against an object of `size` bytes. Malformed headers and multi-range
/// requests are ignored (the whole object is a valid answer to both).
pub fn resolve(header: Option<&str>, size: u64) -> Requested {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Requested::Whole;
    };
    if spec.contains(',') {
        return Requested::Whole;
    }
    let Some((start, end)) = spec.trim().split_once('-') else {
        return Requested::Whole;
    };
    let (start, end) = (start.trim(), end.trim());
    let range = if start.is_empty() {
        // Suffix: the last N bytes.
        let Ok(n) = end.parse::<u64>() else {
            return Requested::Whole;
        };
        if n == 0 || size == 0 {
            return Requested::Unsatisfiable;
        }
        ByteRange {
            start: size.saturating_sub(n),
            end: size - 1,
        }
    } else {
        let Ok(start) = start.parse::<u64>() else {
            return Requested::Whole;
        };
        let end = if end.is_empty() {
            u64::MAX
        } else {
            match end.parse::<u64>() {
                Ok(e) if e >= start => e,
                _ => return Requested::Whole,
            }
        };
        if start >= size {
            return Requested::Unsatisfiable;
        }
        ByteRange {
            start,
            end: end.min(size - 1),
        }
    };
    Requested::Part(range)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(start: u64, end: u64) -> Requested {
        Requested::Part(ByteRange { start, end })
    }

    #[test]
    fn ranges() {
        assert_eq!(resolve(None, 100), Requested::Whole);
        assert_eq!(resolve(Some("bytes=0-9"), 100), part(0, 9));
        assert_eq!(resolve(Some("bytes=90-"), 100), part(90, 99));
        assert_eq!(resolve(Some("bytes=90-500"), 100), part(90, 99));
        assert_eq!(resolve(Some("bytes=-10"), 100), part(90, 99));
        assert_eq!(resolve(Some("bytes=-500"), 100), part(0, 99));
        assert_eq!(resolve(Some("bytes=100-"), 100), Requested::Unsatisfiable);
        assert_eq!(resolve(Some("bytes=-0"), 100), Requested::Unsatisfiable);
        assert_eq!(resolve(Some("bytes=5-1"), 100), Requested::Whole);
        assert_eq!(resolve(Some("bytes=0-1,5-6"), 100), Requested::Whole);
        assert_eq!(resolve(Some("items=0-1"), 100), Requested::Whole);
        assert_eq!(resolve(Some("bytes=x-1"), 100), Requested::Whole);
    }
}
