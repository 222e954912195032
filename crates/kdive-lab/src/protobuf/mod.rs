//! Decoding Kubernetes protobuf request bodies into JSON objects.
//!
//! kubectl's typed clients POST `application/vnd.kubernetes.protobuf` bodies: the magic
//! `k8s\0`, then a `runtime.Unknown` envelope whose `raw` field holds the object. The object is
//! decoded with a small hand-written schema (see `schema.rs`) into the JSON the real apiserver
//! would produce for it: Go `omitempty` rules, maps as objects, bytes as base64, quantities and
//! int-or-strings in their JSON forms, and times as RFC 3339.

mod schema;
mod wire;

use base64::Engine as _;
use serde_json::{Map, Value};

use schema::{Field, Msg, Scalar, Shape, Zero};
use wire::{Reader, WireError};

/// The four bytes every Kubernetes protobuf body starts with.
pub const MAGIC: &[u8; 4] = b"k8s\0";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtobufError {
    #[error("protobuf body does not start with the magic bytes \"k8s\\0\"")]
    MissingMagic,
    #[error("protobuf envelope (runtime.Unknown) is malformed at byte {offset}: {reason}")]
    Envelope { offset: usize, reason: String },
    #[error("protobuf envelope has contentEncoding {0:?}; only uncompressed bodies are supported")]
    ContentEncoding(String),
    #[error(
        "protobuf body is a {found_api_version} {found_kind}, but the request path expects {api_version} {kind}"
    )]
    KindMismatch {
        api_version: String,
        kind: String,
        found_api_version: String,
        found_kind: String,
    },
    #[error("no protobuf decoding for {api_version} {kind}; send it as application/json")]
    UnsupportedKind { api_version: String, kind: String },
    #[error("malformed protobuf at {path} (byte {offset} of the object): {reason}")]
    Malformed {
        path: String,
        offset: usize,
        reason: String,
    },
}

/// Whether [`decode`] has a schema for `api_version` and `kind`; for others the server should
/// answer 415 so the client knows to send JSON.
pub fn supports(api_version: &str, kind: &str) -> bool {
    schema::root_message(api_version, kind).is_some()
}

/// Decodes a protobuf request body for `api_version` (group/version, "v1" for the core group)
/// and `kind`, as taken from the request path, into the JSON object the apiserver would store.
pub fn decode(body: &[u8], api_version: &str, kind: &str) -> Result<Value, ProtobufError> {
    let rest = body
        .strip_prefix(MAGIC.as_slice())
        .ok_or(ProtobufError::MissingMagic)?;
    let envelope = Envelope::parse(rest)?;
    if !envelope.content_encoding.is_empty() {
        return Err(ProtobufError::ContentEncoding(envelope.content_encoding));
    }
    let api_mismatch = !envelope.api_version.is_empty() && envelope.api_version != api_version;
    let kind_mismatch = !envelope.kind.is_empty() && envelope.kind != kind;
    if api_mismatch || kind_mismatch {
        return Err(ProtobufError::KindMismatch {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
            found_api_version: envelope.api_version,
            found_kind: envelope.kind,
        });
    }
    let root =
        schema::root_message(api_version, kind).ok_or_else(|| ProtobufError::UnsupportedKind {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
        })?;
    let body = decode_struct(envelope.raw, 0, root, kind)?;
    let mut object = Map::new();
    object.insert("apiVersion".into(), Value::String(api_version.to_string()));
    object.insert("kind".into(), Value::String(kind.to_string()));
    object.extend(body);
    Ok(Value::Object(object))
}

/// The `runtime.Unknown` wrapper: {1 typeMeta{1 apiVersion, 2 kind}, 2 raw, 3 contentEncoding,
/// 4 contentType}.
struct Envelope<'a> {
    api_version: String,
    kind: String,
    raw: &'a [u8],
    content_encoding: String,
}

impl<'a> Envelope<'a> {
    fn parse(buf: &'a [u8]) -> Result<Self, ProtobufError> {
        // Offsets in envelope errors count from the start of the body, magic included.
        let at = |offset: usize, reason: String| ProtobufError::Envelope {
            offset: offset + MAGIC.len(),
            reason,
        };
        let mut envelope = Envelope {
            api_version: String::new(),
            kind: String::new(),
            raw: &[],
            content_encoding: String::new(),
        };
        let mut r = Reader::new(buf);
        while !r.at_end() {
            let start = r.pos();
            let (num, wt) = r.tag().map_err(|e| at(start, e.to_string()))?;
            let expect_len = |name: &str| {
                if wt == wire::LEN {
                    Ok(())
                } else {
                    Err(at(start, format!("{name} has wire type {wt}, expected 2")))
                }
            };
            match num {
                1 => {
                    expect_len("typeMeta")?;
                    let tm = r.length_delimited().map_err(|e| at(start, e.to_string()))?;
                    let mut tr = Reader::new(tm);
                    while !tr.at_end() {
                        let (n, t) = tr.tag().map_err(|e| at(start, e.to_string()))?;
                        match (n, t) {
                            (1 | 2, wire::LEN) => {
                                let s = tr
                                    .length_delimited()
                                    .map_err(|e| at(start, e.to_string()))?;
                                let s = std::str::from_utf8(s)
                                    .map_err(|_| at(start, "typeMeta is not UTF-8".into()))?;
                                if n == 1 {
                                    envelope.api_version = s.to_string();
                                } else {
                                    envelope.kind = s.to_string();
                                }
                            }
                            _ => tr.skip(n, t).map_err(|e| at(start, e.to_string()))?,
                        }
                    }
                }
                2 => {
                    expect_len("raw")?;
                    envelope.raw = r.length_delimited().map_err(|e| at(start, e.to_string()))?;
                }
                3 => {
                    expect_len("contentEncoding")?;
                    let s = r.length_delimited().map_err(|e| at(start, e.to_string()))?;
                    envelope.content_encoding = String::from_utf8_lossy(s).into_owned();
                }
                _ => r.skip(num, wt).map_err(|e| at(start, e.to_string()))?,
            }
        }
        Ok(envelope)
    }
}

fn malformed(path: &str, offset: usize, reason: impl ToString) -> ProtobufError {
    ProtobufError::Malformed {
        path: path.to_string(),
        offset,
        reason: reason.to_string(),
    }
}

/// Decodes one message into a JSON value. Returns None for a zero `metav1.Time`, which Go
/// writes as an empty message and the apiserver renders as absent.
fn decode_message(
    buf: &[u8],
    base: usize,
    msg: Msg,
    path: &str,
) -> Result<Option<Value>, ProtobufError> {
    match msg {
        Msg::Time | Msg::MicroTime => decode_time(buf, base, msg == Msg::MicroTime, path),
        Msg::Quantity => decode_quantity(buf, base, path).map(Some),
        Msg::IntOrString => decode_int_or_string(buf, base, path).map(Some),
        _ => decode_struct(buf, base, msg, path).map(|m| Some(Value::Object(m))),
    }
}

/// One decoded value per schema field, kept in schema order for the output.
enum Slot {
    Empty,
    One(Value),
    List(Vec<Value>),
    Map(Map<String, Value>),
}

fn decode_struct(
    buf: &[u8],
    base: usize,
    msg: Msg,
    path: &str,
) -> Result<Map<String, Value>, ProtobufError> {
    let fields = msg.fields();
    let mut slots: Vec<Slot> = fields.iter().map(|_| Slot::Empty).collect();
    let mut r = Reader::new(buf);
    while !r.at_end() {
        let start = base + r.pos();
        let (num, wt) = r.tag().map_err(|e| malformed(path, start, e))?;
        let Some(idx) = fields.iter().position(|f| f.num == num) else {
            r.skip(num, wt)
                .map_err(|e| malformed(path, start, format!("unknown field {num}: {e}")))?;
            continue;
        };
        let field = &fields[idx];
        let fpath = field_path(path, field);
        let slot = &mut slots[idx];
        match field.shape {
            Shape::Scalar(scalar, _) => {
                *slot = Slot::One(read_scalar(&mut r, wt, scalar, &fpath, start)?);
            }
            Shape::Repeated(scalar) => {
                let list = list_slot(slot);
                if wt == wire::LEN && !matches!(scalar, Scalar::Str | Scalar::Bytes) {
                    // Packed repeated numbers.
                    let packed = r
                        .length_delimited()
                        .map_err(|e| malformed(&fpath, start, e))?;
                    let mut pr = Reader::new(packed);
                    while !pr.at_end() {
                        list.push(read_scalar(&mut pr, wire::VARINT, scalar, &fpath, start)?);
                    }
                } else {
                    list.push(read_scalar(&mut r, wt, scalar, &fpath, start)?);
                }
            }
            Shape::Message(sub) | Shape::Inline(sub) => {
                let bytes = read_len(&mut r, wt, &fpath, start)?;
                let value_base = base + r.pos() - bytes.len();
                if let Some(v) = decode_message(bytes, value_base, sub, &fpath)? {
                    *slot = Slot::One(v);
                }
            }
            Shape::RepeatedMessage(sub) => {
                let bytes = read_len(&mut r, wt, &fpath, start)?;
                let value_base = base + r.pos() - bytes.len();
                let list = list_slot(slot);
                let item_path = format!("{fpath}[{}]", list.len());
                let v = decode_message(bytes, value_base, sub, &item_path)?.unwrap_or(Value::Null);
                list.push(v);
            }
            Shape::Map(_) | Shape::MapMessage(_) => {
                let bytes = read_len(&mut r, wt, &fpath, start)?;
                let value_base = base + r.pos() - bytes.len();
                let (k, v) = decode_map_entry(bytes, value_base, field.shape, &fpath)?;
                if !matches!(slot, Slot::Map(_)) {
                    *slot = Slot::Map(Map::new());
                }
                if let Slot::Map(m) = slot {
                    m.insert(k, v);
                }
            }
        }
    }
    let mut out = Map::new();
    for (field, slot) in fields.iter().zip(slots) {
        match (slot, field.shape) {
            (Slot::Empty, _) => {}
            (Slot::One(Value::Object(inner)), Shape::Inline(_)) => out.extend(inner),
            (Slot::One(v), Shape::Scalar(_, Zero::Omit)) if is_zero(&v) => {}
            (Slot::One(v), _) => {
                out.insert(field.json.to_string(), v);
            }
            (Slot::List(items), _) => {
                out.insert(field.json.to_string(), Value::Array(items));
            }
            (Slot::Map(m), _) => {
                out.insert(field.json.to_string(), Value::Object(m));
            }
        }
    }
    Ok(out)
}

fn field_path(path: &str, field: &Field) -> String {
    if field.json.is_empty() {
        path.to_string()
    } else {
        format!("{path}.{}", field.json)
    }
}

fn list_slot(slot: &mut Slot) -> &mut Vec<Value> {
    if !matches!(slot, Slot::List(_)) {
        *slot = Slot::List(Vec::new());
    }
    match slot {
        Slot::List(list) => list,
        _ => unreachable!("slot was just made a list"),
    }
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_i64() == Some(0),
        _ => false,
    }
}

fn read_len<'a>(
    r: &mut Reader<'a>,
    wt: u8,
    path: &str,
    start: usize,
) -> Result<&'a [u8], ProtobufError> {
    if wt != wire::LEN {
        return Err(malformed(
            path,
            start,
            format!("wire type {wt} where a length-delimited message was expected"),
        ));
    }
    r.length_delimited().map_err(|e| malformed(path, start, e))
}

fn read_scalar(
    r: &mut Reader<'_>,
    wt: u8,
    scalar: Scalar,
    path: &str,
    start: usize,
) -> Result<Value, ProtobufError> {
    let want = match scalar {
        Scalar::Str | Scalar::Bytes => wire::LEN,
        Scalar::Bool | Scalar::I32 | Scalar::I64 => wire::VARINT,
    };
    if wt != want {
        return Err(malformed(
            path,
            start,
            format!("wire type {wt} where {scalar:?} (wire type {want}) was expected"),
        ));
    }
    let err = |e: WireError| malformed(path, start, e);
    Ok(match scalar {
        Scalar::Str => {
            let bytes = r.length_delimited().map_err(err)?;
            let s = std::str::from_utf8(bytes)
                .map_err(|e| malformed(path, start, format!("string is not UTF-8: {e}")))?;
            Value::String(s.to_string())
        }
        Scalar::Bytes => {
            let bytes = r.length_delimited().map_err(err)?;
            Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
        }
        Scalar::Bool => Value::Bool(r.varint().map_err(err)? != 0),
        // Go truncates to the declared width, as protobuf specifies.
        Scalar::I32 => Value::from(r.varint().map_err(err)? as i32),
        Scalar::I64 => Value::from(r.varint().map_err(err)? as i64),
    })
}

/// A map entry message: {1 key (string), 2 value}.
fn decode_map_entry(
    buf: &[u8],
    base: usize,
    shape: Shape,
    path: &str,
) -> Result<(String, Value), ProtobufError> {
    let mut key = String::new();
    let mut value = None;
    let mut r = Reader::new(buf);
    while !r.at_end() {
        let start = base + r.pos();
        let (num, wt) = r.tag().map_err(|e| malformed(path, start, e))?;
        match (num, shape) {
            (1, _) => {
                if let Value::String(k) = read_scalar(&mut r, wt, Scalar::Str, path, start)? {
                    key = k;
                }
            }
            (2, Shape::Map(scalar)) => {
                let p = format!("{path}[{key:?}]");
                value = Some(read_scalar(&mut r, wt, scalar, &p, start)?);
            }
            (2, Shape::MapMessage(sub)) => {
                let p = format!("{path}[{key:?}]");
                let bytes = read_len(&mut r, wt, &p, start)?;
                let value_base = base + r.pos() - bytes.len();
                value = decode_message(bytes, value_base, sub, &p)?;
            }
            _ => r
                .skip(num, wt)
                .map_err(|e| malformed(path, start, format!("map entry field {num}: {e}")))?,
        }
    }
    let value = match (value, shape) {
        (Some(v), _) => v,
        (None, Shape::MapMessage(Msg::Quantity)) => Value::String("0".into()),
        (None, Shape::MapMessage(_)) => Value::Object(Map::new()),
        (None, _) => Value::String(String::new()),
    };
    Ok((key, value))
}

/// `resource.Quantity` is {1 string}; an absent string is the zero quantity "0".
fn decode_quantity(buf: &[u8], base: usize, path: &str) -> Result<Value, ProtobufError> {
    let mut out = Value::String("0".into());
    let mut r = Reader::new(buf);
    while !r.at_end() {
        let start = base + r.pos();
        let (num, wt) = r.tag().map_err(|e| malformed(path, start, e))?;
        if num == 1 {
            out = read_scalar(&mut r, wt, Scalar::Str, path, start)?;
        } else {
            r.skip(num, wt).map_err(|e| malformed(path, start, e))?;
        }
    }
    Ok(out)
}

/// `intstr.IntOrString` is {1 type (0 int, 1 string), 2 intVal, 3 strVal}.
fn decode_int_or_string(buf: &[u8], base: usize, path: &str) -> Result<Value, ProtobufError> {
    let (mut ty, mut int_val, mut str_val) = (0i64, 0i32, String::new());
    let mut r = Reader::new(buf);
    while !r.at_end() {
        let start = base + r.pos();
        let (num, wt) = r.tag().map_err(|e| malformed(path, start, e))?;
        match num {
            1 => {
                ty = read_scalar(&mut r, wt, Scalar::I64, path, start)?
                    .as_i64()
                    .unwrap_or(0)
            }
            2 => {
                let v = read_scalar(&mut r, wt, Scalar::I32, path, start)?;
                int_val = v.as_i64().unwrap_or(0) as i32;
            }
            3 => {
                if let Value::String(s) = read_scalar(&mut r, wt, Scalar::Str, path, start)? {
                    str_val = s;
                }
            }
            _ => r.skip(num, wt).map_err(|e| malformed(path, start, e))?,
        }
    }
    match ty {
        0 => Ok(Value::from(int_val)),
        1 => Ok(Value::String(str_val)),
        other => Err(malformed(
            path,
            base,
            format!("IntOrString type {other} is neither 0 (int) nor 1 (string)"),
        )),
    }
}

/// `metav1.Time` and `MicroTime` are {1 seconds, 2 nanos}. Time keeps whole seconds (the
/// apiserver drops nanos); MicroTime keeps microseconds.
fn decode_time(
    buf: &[u8],
    base: usize,
    micro: bool,
    path: &str,
) -> Result<Option<Value>, ProtobufError> {
    if buf.is_empty() {
        return Ok(None);
    }
    let (mut seconds, mut nanos) = (0i64, 0i64);
    let mut r = Reader::new(buf);
    while !r.at_end() {
        let start = base + r.pos();
        let (num, wt) = r.tag().map_err(|e| malformed(path, start, e))?;
        match num {
            1 => {
                seconds = read_scalar(&mut r, wt, Scalar::I64, path, start)?
                    .as_i64()
                    .unwrap_or(0)
            }
            2 => {
                nanos = read_scalar(&mut r, wt, Scalar::I32, path, start)?
                    .as_i64()
                    .unwrap_or(0)
            }
            _ => r.skip(num, wt).map_err(|e| malformed(path, start, e))?,
        }
    }
    if !(0..1_000_000_000).contains(&nanos) {
        return Err(malformed(path, base, format!("nanos {nanos} out of range")));
    }
    let nanos = if micro { nanos / 1000 * 1000 } else { 0 };
    let at = chrono::DateTime::from_timestamp(seconds, nanos as u32)
        .ok_or_else(|| malformed(path, base, format!("seconds {seconds} out of range")))?;
    let text = if micro {
        at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
    } else {
        at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    };
    Ok(Some(Value::String(text)))
}

#[cfg(test)]
mod tests;
