//! Making record text safe to show: no control, line-breaking or bidi character, and no value so long that a
//! message would pass SNS's size limit.

use std::borrow::Cow;

/// Longest value shown for one fact: a 256 KB user agent must not push a message past SNS's 256 KB limit.
const VALUE_MAX_CHARS: usize = 1024;

/// Characters that reorder the text around them (bidi embeddings, overrides, isolates and marks): a user name
/// with U+202E reads backwards from there on, so a reader would see something the record does not say.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters no reader should get from a record: C0 and C1 controls (escape sequences, bells, line breaks that
/// forge a second line), Unicode's line and paragraph separators, and bidi controls.
fn is_hostile(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') || is_bidi_control(c)
}

/// What a hostile character becomes: a space for controls and line breaks (words stay apart, as the text output
/// and the subject show them), U+FFFD for bidi controls (visible: the reader sees something was there).
fn replacement(c: char) -> char {
    if is_bidi_control(c) { '\u{FFFD}' } else { ' ' }
}

/// Attacker-controlled strings (user agent, user name) must not add lines, control or bidi characters to a
/// message, nor make it too long to send. Every string of a message passes here (see `Message::cleaned`).
pub fn one_line(value: &str) -> Cow<'_, str> {
    // Nearly every value is short printable ASCII, which holds no hostile character: one byte test each, over the
    // whole value without stopping early, so the compiler tests many bytes at once.
    if value.len() <= VALUE_MAX_CHARS
        && value.bytes().fold(true, |printable, b| {
            printable & (b.wrapping_sub(0x20) < 0x5f)
        })
    {
        return Cow::Borrowed(value);
    }
    let too_long = value.len() > VALUE_MAX_CHARS && value.chars().nth(VALUE_MAX_CHARS).is_some();
    if !too_long && !value.chars().any(is_hostile) {
        return Cow::Borrowed(value);
    }
    let mut clean: String = value
        .chars()
        .take(VALUE_MAX_CHARS)
        .map(|c| if is_hostile(c) { replacement(c) } else { c })
        .collect();
    if too_long {
        clean.push_str("... (truncated)");
    }
    Cow::Owned(clean)
}

/// [`one_line`] of a value that may already be owned, copying only when it changes.
pub fn one_line_owned(value: Cow<'_, str>) -> Cow<'_, str> {
    match value {
        Cow::Borrowed(s) => one_line(s),
        Cow::Owned(s) => match one_line(&s) {
            Cow::Borrowed(_) => Cow::Owned(s),
            Cow::Owned(clean) => Cow::Owned(clean),
        },
    }
}

/// Cleans a string the message owns, leaving it untouched (no copy) when there is nothing to clean.
pub fn one_line_string(value: &mut String) {
    if let Cow::Owned(clean) = one_line(value) {
        *value = clean;
    }
}
