//! How times read in messages: the reader's zone with its abbreviation, and UTC.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, Offset, Timelike, Utc};
use chrono_tz::OffsetName;

use crate::settings::Settings;

/// `2024-06-03 15:23:22`; written by hand because a strftime pattern is re-parsed on every call.
fn write_clock<T: Datelike + Timelike>(out: &mut String, t: &T) {
    let _ = write!(
        out,
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
}

/// `2018-08-30 01:24:34 JST (Asia/Tokyo)`.
pub fn local_time(time: DateTime<Utc>, settings: &Settings) -> String {
    let local = time.with_timezone(&settings.timezone);
    let mut out = String::with_capacity(48);
    write_clock(&mut out, &local);
    out.push(' ');
    match local.offset().abbreviation() {
        Some(abbreviation) => out.push_str(abbreviation),
        None => {
            let _ = write!(out, "{}", local.offset().fix());
        }
    }
    let _ = write!(out, " ({})", settings.timezone.name());
    out
}

/// `2018-08-29 16:24:34 UTC`.
pub fn utc_time(time: DateTime<Utc>) -> String {
    let mut out = String::with_capacity(24);
    write_clock(&mut out, &time);
    out.push_str(" UTC");
    out
}

/// The local time alone when the zone is UTC, else the local time.
pub fn short_time(time: DateTime<Utc>, settings: &Settings) -> String {
    if settings.timezone == chrono_tz::Tz::UTC {
        utc_time(time)
    } else {
        local_time(time, settings)
    }
}
