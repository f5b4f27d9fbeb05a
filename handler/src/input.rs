//! Recognises the input shape (CloudWatch Logs subscription, EventBridge, CloudTrail log file, bare record) and yields its records one by one.
//!
//! # Why not `aws_lambda_events`
//!
//! The Lambda hands this module the event as raw JSON (`LambdaEvent<Box<RawValue>>` in `main.rs`), and the crate
//! does not depend on `aws_lambda_events` at all. Its event types were weighed and left out for three reasons:
//!
//! - **Several shapes, one entry point.** The same function is invoked by a CloudWatch Logs subscription
//!   (`awslogs.data`: base64 of gzip of JSON, sometimes a `CONTROL_MESSAGE` with no records), by EventBridge (a
//!   record in `detail`, whose envelope names the region and account it came from after a cross-region rule, or
//!   the `Scheduled Event` that sends the digests); `preview` reads CloudTrail log files (`Records`), JSON arrays
//!   of records or of EventBridge events, and bare records, which a function invoked by hand gets too. A typed
//!   event covers one shape, so the handler would have to guess the type before it could parse; here one pass
//!   over the top-level keys decides ([`Shape`]). No path of the pipeline wraps events in SQS, so that shape is
//!   not read.
//! - **Tolerance.** Those types are strict: a log event's `id` is a `String` (moto sends a number), its `timestamp`
//!   an `i64`, and a CloudTrail `detail` type expects strings where real records put nulls, numbers or objects.
//!   One such field fails the deserialisation of the whole event, and with it every record of the batch. Here each
//!   field is read leniently (`lenient::Text` and `Object`), and a record that still cannot be read reaches the
//!   caller as an `Err` with its position while its siblings are classified and delivered.
//! - **The memory bound.** Their `AwsLogs` decompresses with no limit and builds every log event of the batch as
//!   owned strings before the handler sees the first. Here the decompressed payload is capped at
//!   [`MAX_DECOMPRESSED`] (a larger one is refused with an error saying to split the batch), the log events are
//!   visited one at a time by a `DeserializeSeed` rather than collected, and they cross to the worker threads in
//!   chunks through a bounded channel. Records borrow from their JSON text and skip the fields login-alert does not
//!   read. The decompressed JSON itself is held whole while it is read: the cap is sized for that (see `limits`).

use std::borrow::Cow;
use std::fmt;
use std::io::Read;

use base64::Engine;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;

use crate::error::{InputError, RecordError};
use crate::lenient::{Object, Text};
use crate::limits::MAX_DECOMPRESSED;
use crate::record::Record;

/// Which shape the input had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    CloudWatchLogs,
    CloudWatchLogsControl,
    EventBridge,
    LogFile,
    Array,
    Record,
    /// EventBridge's `Scheduled Event`: no records; time to send the digests of groups whose window closed.
    Schedule,
}

impl Shape {
    pub fn describe(self) -> &'static str {
        match self {
            Shape::CloudWatchLogs => "CloudWatch Logs subscription event",
            Shape::CloudWatchLogsControl => "CloudWatch Logs control message",
            Shape::EventBridge => "EventBridge event",
            Shape::LogFile => "CloudTrail log file",
            Shape::Array => "JSON array of records",
            Shape::Record => "CloudTrail record",
            Shape::Schedule => "EventBridge scheduled event",
        }
    }
}

/// Where a record sat in the input, for log lines about the ones that could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub container: &'static str,
    pub index: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.container.is_empty() {
            f.write_str("the record")
        } else {
            write!(f, "{}[{}]", self.container, self.index)
        }
    }
}

/// One record of the input, or why it could not be read; `timestamp_ms` is the log event's time when known.
pub struct Item<'a> {
    pub position: Position,
    pub record: Result<Record<'a>, RecordError>,
    pub timestamp_ms: Option<i64>,
    /// The EventBridge envelope around the record, when it came in one.
    pub envelope: Option<EventInfo<'a>>,
    /// The record's JSON text (empty when there is none).
    pub raw: &'a str,
}

/// What an EventBridge envelope says about its event. `region` and `account` are where the event happened, also
/// after a rule forwarded it to another region's bus; the record's own `awsRegion` still comes first.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct EventInfo<'a> {
    #[serde(borrow)]
    pub source: Text<'a>,
    #[serde(borrow, rename = "detail-type")]
    pub detail_type: Text<'a>,
    #[serde(borrow)]
    pub region: Text<'a>,
    #[serde(borrow)]
    pub account: Text<'a>,
}

impl EventInfo<'_> {
    /// EventBridge's own scheduled event, which carries no record.
    pub fn is_schedule(&self) -> bool {
        self.source.is("aws.events") && self.detail_type.is("Scheduled Event")
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Envelope<'a> {
    #[serde(borrow)]
    awslogs: Object<AwsLogs<'a>>,
    #[serde(borrow)]
    detail: Option<&'a RawValue>,
    #[serde(borrow)]
    source: Text<'a>,
    #[serde(borrow, rename = "detail-type")]
    detail_type: Text<'a>,
    #[serde(borrow)]
    region: Text<'a>,
    #[serde(borrow)]
    account: Text<'a>,
    #[serde(borrow, rename = "Records")]
    records: Option<&'a RawValue>,
    #[serde(rename = "eventName")]
    event_name: Option<IgnoredAny>,
    #[serde(rename = "eventSource")]
    event_source: Option<IgnoredAny>,
    #[serde(rename = "userIdentity")]
    user_identity: Option<IgnoredAny>,
    #[serde(rename = "eventTime")]
    event_time: Option<IgnoredAny>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AwsLogs<'a> {
    #[serde(borrow)]
    data: Text<'a>,
}

/// `id` is a string from AWS and an integer from moto; `Text` takes both. `message` is kept as its JSON token,
/// still escaped: the worker thread that parses the record unescapes it, so the one thread reading the batch
/// only finds where each message ends.
#[derive(Deserialize, Default)]
#[serde(default)]
struct LogEvent<'a> {
    #[serde(borrow)]
    #[allow(dead_code)]
    id: Text<'a>,
    #[serde(borrow)]
    timestamp: Text<'a>,
    #[serde(borrow)]
    message: Option<&'a RawValue>,
}

/// Calls `each` for every record of `input`, in input order, and says which shape the input had.
///
/// An error is returned only when the input as a whole cannot be read (not JSON, bad base64 or gzip, an unknown
/// shape); a record that cannot be read reaches `each` as an `Err` and its siblings are still delivered.
pub fn for_each_record<F>(input: &[u8], mut each: F) -> Result<Shape, InputError>
where
    F: FnMut(Item<'_>),
{
    let text = std::str::from_utf8(input).map_err(InputError::NotUtf8)?;
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(InputError::Empty);
    }
    if trimmed.starts_with('[') {
        let elements: Vec<&RawValue> = serde_json::from_str(text).map_err(InputError::NotJson)?;
        for (index, element) in elements.iter().enumerate() {
            each(one_record(
                element.get(),
                Position {
                    container: "array",
                    index,
                },
            ));
        }
        return Ok(Shape::Array);
    }
    let envelope: Envelope = serde_json::from_str(text).map_err(InputError::NotJson)?;
    if let Some(awslogs) = envelope.awslogs.get() {
        let data = awslogs.data.get().ok_or(InputError::MissingLogsData)?;
        return for_each_log_event(data, each);
    }
    if let Some(records) = envelope.records {
        let records: Vec<&RawValue> =
            serde_json::from_str(records.get()).map_err(InputError::RecordsNotArray)?;
        for (index, raw) in records.iter().enumerate() {
            each(one_record(
                raw.get(),
                Position {
                    container: "Records",
                    index,
                },
            ));
        }
        return Ok(Shape::LogFile);
    }
    if let Some(detail) = envelope.detail {
        let info = EventInfo {
            source: envelope.source,
            detail_type: envelope.detail_type,
            region: envelope.region,
            account: envelope.account,
        };
        if info.is_schedule() {
            return Ok(Shape::Schedule);
        }
        let mut item = parse_record(
            detail.get(),
            Position {
                container: "detail",
                index: 0,
            },
            None,
        );
        item.envelope = Some(info);
        each(item);
        return Ok(Shape::EventBridge);
    }
    if envelope.event_name.is_some()
        || envelope.event_source.is_some()
        || envelope.user_identity.is_some()
        || envelope.event_time.is_some()
    {
        each(parse_record(
            text,
            Position {
                container: "",
                index: 0,
            },
            None,
        ));
        return Ok(Shape::Record);
    }
    Err(InputError::UnknownShape)
}

/// Like [`for_each_record`], but the work on each record runs on worker threads, a chunk of log events at a
/// time: `map` folds a chunk's records into a `T`, and `collect` receives the chunks' results on the calling
/// thread, in input order. Shapes other than a CloudWatch Logs batch are mapped on the calling thread, as one chunk.
pub fn map_records<T, M, C>(input: &[u8], map: M, mut collect: C) -> Result<Shape, InputError>
where
    T: Default + Send,
    M: Fn(&mut T, Item<'_>) + Sync,
    C: FnMut(T),
{
    let Some(data) = std::str::from_utf8(input).ok().and_then(awslogs_data) else {
        let mut chunk = T::default();
        let shape = for_each_record(input, |item| map(&mut chunk, item))?;
        collect(chunk);
        return Ok(shape);
    };
    let json = decompress(data)?;
    let json = json.as_slice();
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4);
    let (chunk_sender, chunk_receiver) =
        std::sync::mpsc::sync_channel::<(usize, Vec<EventRef>)>(2 * workers + 2);
    let chunk_receiver = std::sync::Mutex::new(chunk_receiver);
    std::thread::scope(|scope| {
        let decoder = std::thread::Builder::new()
            .name("awslogs-decoder".into())
            .spawn_scoped(scope, move || {
                let (mut seq, mut chunk) = (0, Vec::with_capacity(CHUNK));
                let shape = read_log_events(json, &mut |index, event| {
                    chunk.push(EventRef::new(index, event));
                    if chunk.len() == CHUNK {
                        let _ = chunk_sender.send((
                            seq,
                            std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)),
                        ));
                        seq += 1;
                    }
                });
                if !chunk.is_empty() {
                    let _ = chunk_sender.send((seq, chunk));
                }
                shape
            });
        let Ok(decoder) = decoder else {
            let mut chunk = T::default();
            let shape = read_log_events(json, &mut |index, event| {
                EventRef::new(index, event).emit(&mut |item| map(&mut chunk, item));
            })?;
            collect(chunk);
            return Ok(shape);
        };
        let (result_sender, result_receiver) = std::sync::mpsc::channel::<(usize, T)>();
        let mut spawned = 0;
        for n in 0..workers {
            let (receiver, sender, map) = (&chunk_receiver, result_sender.clone(), &map);
            let worker = std::thread::Builder::new()
                .name(format!("awslogs-worker-{n}"))
                .spawn_scoped(scope, move || {
                    loop {
                        // The lock is held only to take the next chunk; a poisoned lock or a closed channel ends the worker.
                        let next = match receiver.lock() {
                            Ok(receiver) => receiver.recv(),
                            Err(_) => return,
                        };
                        let Ok((seq, events)) = next else { return };
                        let mut out = T::default();
                        for event in events {
                            event.emit(&mut |item| map(&mut out, item));
                        }
                        if sender.send((seq, out)).is_err() {
                            return;
                        }
                    }
                });
            spawned += usize::from(worker.is_ok());
        }
        drop(result_sender);
        if spawned == 0 {
            // No worker thread to be had: map the chunks here, in order.
            if let Ok(receiver) = chunk_receiver.lock() {
                for (_, events) in receiver.iter() {
                    let mut out = T::default();
                    for event in events {
                        event.emit(&mut |item| map(&mut out, item));
                    }
                    collect(out);
                }
            }
        } else {
            let mut pending = std::collections::BTreeMap::new();
            let mut next = 0;
            for (seq, out) in result_receiver {
                pending.insert(seq, out);
                while let Some(out) = pending.remove(&next) {
                    collect(out);
                    next += 1;
                }
            }
        }
        decoder.join().unwrap_or(Err(InputError::DecoderStopped))
    })
}

/// `awslogs.data` when the input is a CloudWatch Logs subscription event, without reading anything else.
fn awslogs_data(text: &str) -> Option<&str> {
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Top<'a> {
        #[serde(borrow)]
        awslogs: Object<AwsLogs<'a>>,
    }
    if !text.trim_start().starts_with('{') {
        return None;
    }
    let top: Top = serde_json::from_str(text).ok()?;
    match top.awslogs.0?.data.0? {
        Cow::Borrowed(data) => Some(data),
        Cow::Owned(_) => None,
    }
}

/// An element of `Records` or of a top-level array: a record, or an EventBridge event wrapping one.
fn one_record(raw: &str, position: Position) -> Item<'_> {
    if raw.trim_start().starts_with('{') {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Detail<'a> {
            #[serde(borrow)]
            detail: Option<&'a RawValue>,
            #[serde(rename = "eventName")]
            event_name: Option<IgnoredAny>,
            #[serde(borrow)]
            source: Text<'a>,
            #[serde(borrow, rename = "detail-type")]
            detail_type: Text<'a>,
            #[serde(borrow)]
            region: Text<'a>,
            #[serde(borrow)]
            account: Text<'a>,
        }
        if let Ok(Detail {
            detail: Some(detail),
            event_name: None,
            source,
            detail_type,
            region,
            account,
        }) = serde_json::from_str::<Detail>(raw)
        {
            let mut item = parse_record(detail.get(), position, None);
            item.envelope = Some(EventInfo {
                source,
                detail_type,
                region,
                account,
            });
            return item;
        }
    }
    parse_record(raw, position, None)
}

fn parse_record(json: &str, position: Position, timestamp_ms: Option<i64>) -> Item<'_> {
    let record = if json.trim_start().starts_with('{') {
        Record::parse(json).map_err(RecordError::Json)
    } else {
        Err(RecordError::NotAnObject)
    };
    Item {
        position,
        record,
        timestamp_ms,
        envelope: None,
        raw: json,
    }
}

fn for_each_log_event<F>(data: &str, mut each: F) -> Result<Shape, InputError>
where
    F: FnMut(Item<'_>),
{
    // Reading the outer JSON (where each escaped message starts and ends) runs on its own thread while this one
    // unescapes, parses, classifies and renders.
    let json = decompress(data)?;
    let json = json.as_slice();
    std::thread::scope(|scope| {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<EventRef>>(8);
        let decoder = std::thread::Builder::new()
            .name("awslogs-decoder".into())
            .spawn_scoped(scope, move || {
                let mut chunk = Vec::with_capacity(CHUNK);
                let shape = read_log_events(json, &mut |index, event| {
                    chunk.push(EventRef::new(index, event));
                    if chunk.len() == CHUNK {
                        // A send fails only if the reader is gone, and then nobody needs the rest.
                        let _ =
                            sender.send(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)));
                    }
                });
                if !chunk.is_empty() {
                    let _ = sender.send(chunk);
                }
                shape
            });
        let decoder = match decoder {
            Ok(decoder) => decoder,
            // No thread to be had (a process limit): do it all here, one event after the other.
            Err(_) => {
                return read_log_events(json, &mut |index, event| {
                    EventRef::new(index, event).emit(&mut each);
                });
            }
        };
        for chunk in receiver {
            for event in chunk {
                event.emit(&mut each);
            }
        }
        decoder.join().unwrap_or(Err(InputError::DecoderStopped))
    })
}

/// Log events cross from the decoding thread in chunks of this many, so channel traffic stays negligible.
pub const CHUNK: usize = 256;

/// A log event as it crosses to a worker thread: its message still the escaped JSON token in the decompressed
/// buffer, which outlives the workers.
struct EventRef<'a> {
    index: usize,
    timestamp_ms: Option<i64>,
    message: Result<&'a RawValue, RecordError>,
}

impl<'a> EventRef<'a> {
    fn new(index: usize, event: Object<LogEvent<'a>>) -> Self {
        let Some(event) = event.0 else {
            return EventRef {
                index,
                timestamp_ms: None,
                message: Err(RecordError::NotAnObject),
            };
        };
        let timestamp_ms = event
            .timestamp
            .get()
            .and_then(|t| t.trim().parse::<f64>().ok())
            .map(|t| t as i64);
        let message = event.message.ok_or(RecordError::MissingMessage);
        EventRef {
            index,
            timestamp_ms,
            message,
        }
    }

    fn emit<F: FnMut(Item<'_>)>(self, each: &mut F) {
        let position = Position {
            container: "logEvents",
            index: self.index,
        };
        // The message read as `Text` would have been read in the outer pass: a string unescaped, a number or a
        // boolean spelled out (and then not an object), anything else absent. A string whose escapes cannot be
        // undone is this record's problem alone.
        let message = self.message.and_then(|raw| {
            serde_json::from_str::<Text>(raw.get())
                .map_err(RecordError::Json)?
                .0
                .ok_or(RecordError::MissingMessage)
        });
        match message {
            Ok(message) => each(parse_record(&message, position, self.timestamp_ms)),
            Err(err) => each(Item {
                position,
                record: Err(err),
                timestamp_ms: self.timestamp_ms,
                envelope: None,
                raw: "",
            }),
        }
    }
}

/// The CloudWatch Logs JSON of `awslogs.data`: base64, then gzip, undone.
fn decompress(data: &str) -> Result<Vec<u8>, InputError> {
    let compressed = decode_base64(data)?;
    gunzip(&compressed)
}

/// Reads the decompressed CloudWatch Logs JSON and hands every log event to `sink` in order.
fn read_log_events<'j, S>(json: &'j [u8], sink: &mut S) -> Result<Shape, InputError>
where
    S: FnMut(usize, Object<LogEvent<'j>>),
{
    let mut seed = LogsSeed {
        sink,
        control: false,
    };
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    serde::de::DeserializeSeed::deserialize(&mut seed, &mut deserializer)
        .map_err(InputError::LogsJson)?;
    deserializer.end().map_err(InputError::LogsJson)?;
    Ok(if seed.control {
        Shape::CloudWatchLogsControl
    } else {
        Shape::CloudWatchLogs
    })
}

/// Reads the CloudWatch Logs JSON and hands each log event on as soon as it is parsed, so a batch never holds
/// all its messages at once. `messageType` normally comes first; if it does not, events are buffered until it is
/// known, so a control message is never mistaken for records.
struct LogsSeed<'f, S> {
    sink: &'f mut S,
    control: bool,
}

impl<'de, S: FnMut(usize, Object<LogEvent<'de>>)> serde::de::DeserializeSeed<'de>
    for &mut LogsSeed<'_, S>
{
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, S: FnMut(usize, Object<LogEvent<'de>>)> serde::de::Visitor<'de> for &mut LogsSeed<'_, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the CloudWatch Logs payload object")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut type_known = false;
        let mut buffered: Option<Vec<Object<LogEvent<'de>>>> = None;
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            match key.as_deref() {
                Some("messageType") => {
                    let kind: Text = map.next_value()?;
                    self.control = kind.is("CONTROL_MESSAGE");
                    type_known = true;
                }
                Some("logEvents") if type_known && self.control => {
                    map.next_value::<IgnoredAny>()?;
                }
                Some("logEvents") if type_known => {
                    map.next_value_seed(EventsSeed {
                        sink: &mut *self.sink,
                    })?;
                }
                Some("logEvents") => buffered = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if let (Some(events), false) = (buffered, self.control) {
            for (index, event) in events.into_iter().enumerate() {
                (self.sink)(index, event);
            }
        }
        Ok(())
    }
}

struct EventsSeed<'f, S> {
    sink: &'f mut S,
}

impl<'de, S: FnMut(usize, Object<LogEvent<'de>>)> serde::de::DeserializeSeed<'de>
    for EventsSeed<'_, S>
{
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, S: FnMut(usize, Object<LogEvent<'de>>)> serde::de::Visitor<'de> for EventsSeed<'_, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of log events")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        while let Some(event) = seq.next_element::<Object<LogEvent<'de>>>()? {
            (self.sink)(index, event);
            index += 1;
        }
        Ok(())
    }
}

fn decode_base64(data: &str) -> Result<Vec<u8>, InputError> {
    let engine = base64::engine::general_purpose::STANDARD;
    match engine.decode(data.trim()) {
        Ok(bytes) => Ok(bytes),
        // Tools that wrap base64 at 76 columns leave line breaks; tolerate them, but only as a second try.
        Err(first) => {
            let compact: Cow<str> =
                Cow::Owned(data.chars().filter(|c| !c.is_ascii_whitespace()).collect());
            engine
                .decode(compact.as_bytes())
                .map_err(|_| InputError::Base64(first))
        }
    }
}

fn gunzip(compressed: &[u8]) -> Result<Vec<u8>, InputError> {
    // Gzip stores the uncompressed size (mod 2^32) in its last four bytes: a good first capacity.
    let hint = compressed
        .len()
        .checked_sub(4)
        .and_then(|start| compressed.get(start..))
        .and_then(|tail| <[u8; 4]>::try_from(tail).ok())
        .map(|tail| u32::from_le_bytes(tail) as usize)
        .unwrap_or(0)
        // Deflate cannot expand more than ~1032:1, so a larger claim is a corrupt or hostile trailer.
        .min(compressed.len().saturating_mul(1032))
        .min(MAX_DECOMPRESSED as usize);
    let mut out = Vec::with_capacity(hint.saturating_add(1));
    flate2::read::MultiGzDecoder::new(compressed)
        .take(MAX_DECOMPRESSED + 1)
        .read_to_end(&mut out)
        .map_err(InputError::Gzip)?;
    if out.len() as u64 > MAX_DECOMPRESSED {
        return Err(InputError::TooLarge);
    }
    Ok(out)
}
