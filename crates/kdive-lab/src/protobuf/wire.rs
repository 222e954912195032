//! Protobuf wire-format reading: varints, length-delimited slices and skipping unknown fields.

use std::fmt;

/// Why a read failed, without location; the decoder adds the field path and offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum WireError {
    Truncated,
    VarintTooLong,
    LengthPastEnd { len: u64, left: usize },
    BadWireType(u8),
    ZeroFieldNumber,
    UnbalancedGroup,
    GroupTooDeep,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Truncated => write!(f, "message ends in the middle of a value"),
            WireError::VarintTooLong => write!(f, "varint longer than 10 bytes"),
            WireError::LengthPastEnd { len, left } => write!(
                f,
                "length prefix {len} runs past the end of the message ({left} bytes left)"
            ),
            WireError::BadWireType(t) => write!(f, "invalid wire type {t}"),
            WireError::ZeroFieldNumber => write!(f, "field number 0 is not allowed"),
            WireError::UnbalancedGroup => write!(f, "end-group marker without a matching start"),
            WireError::GroupTooDeep => write!(f, "groups nested too deeply"),
        }
    }
}

pub(super) const VARINT: u8 = 0;
pub(super) const FIXED64: u8 = 1;
pub(super) const LEN: u8 = 2;
const START_GROUP: u8 = 3;
const END_GROUP: u8 = 4;
pub(super) const FIXED32: u8 = 5;

/// Groups are deprecated and never used by Kubernetes; the bound only stops hostile nesting.
const MAX_GROUP_DEPTH: usize = 32;

pub(super) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(super) fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub(super) fn pos(&self) -> usize {
        self.pos
    }

    pub(super) fn varint(&mut self) -> Result<u64, WireError> {
        let mut value: u64 = 0;
        for i in 0..10 {
            let byte = *self.buf.get(self.pos).ok_or(WireError::Truncated)?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(WireError::VarintTooLong)
    }

    /// A tag: (field number, wire type).
    pub(super) fn tag(&mut self) -> Result<(u64, u8), WireError> {
        let key = self.varint()?;
        let wire_type = (key & 7) as u8;
        let number = key >> 3;
        if number == 0 {
            return Err(WireError::ZeroFieldNumber);
        }
        Ok((number, wire_type))
    }

    pub(super) fn length_delimited(&mut self) -> Result<&'a [u8], WireError> {
        let len = self.varint()?;
        let left = self.buf.len() - self.pos;
        if len > left as u64 {
            return Err(WireError::LengthPastEnd { len, left });
        }
        let start = self.pos;
        self.pos += len as usize;
        Ok(&self.buf[start..self.pos])
    }

    fn advance(&mut self, n: usize) -> Result<(), WireError> {
        if self.buf.len() - self.pos < n {
            return Err(WireError::Truncated);
        }
        self.pos += n;
        Ok(())
    }

    /// Skips the value of a field whose tag was just read.
    pub(super) fn skip(&mut self, number: u64, wire_type: u8) -> Result<(), WireError> {
        self.skip_at_depth(number, wire_type, 0)
    }

    fn skip_at_depth(&mut self, number: u64, wire_type: u8, depth: usize) -> Result<(), WireError> {
        match wire_type {
            VARINT => self.varint().map(drop),
            FIXED64 => self.advance(8),
            LEN => self.length_delimited().map(drop),
            FIXED32 => self.advance(4),
            START_GROUP => {
                if depth >= MAX_GROUP_DEPTH {
                    return Err(WireError::GroupTooDeep);
                }
                loop {
                    let (inner, inner_type) = self.tag()?;
                    if inner_type == END_GROUP {
                        return if inner == number {
                            Ok(())
                        } else {
                            Err(WireError::UnbalancedGroup)
                        };
                    }
                    self.skip_at_depth(inner, inner_type, depth + 1)?;
                }
            }
            END_GROUP => Err(WireError::UnbalancedGroup),
            other => Err(WireError::BadWireType(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_decodes_multi_byte_values() {
        // 300 = 0b1_0010_1100 -> low 7 bits 0x2c with continuation, then 0x02.
        let mut r = Reader::new(&[0xac, 0x02]);
        assert_eq!(r.varint(), Ok(300));
        assert!(r.at_end());
    }

    #[test]
    fn varint_rejects_eleven_bytes_and_truncation() {
        let long = [0xffu8; 11];
        assert_eq!(Reader::new(&long).varint(), Err(WireError::VarintTooLong));
        assert_eq!(Reader::new(&[0x80]).varint(), Err(WireError::Truncated));
    }

    #[test]
    fn skip_handles_every_wire_type_and_groups() {
        // field 1 fixed64, field 2 fixed32, field 3 group {field 4 varint 1}, end group 3.
        let bytes = [
            0x09, 1, 2, 3, 4, 5, 6, 7, 8, // tag 1/1 + 8 bytes
            0x15, 1, 2, 3, 4, // tag 2/5 + 4 bytes
            0x1b, 0x20, 0x01, 0x1c, // start group 3, field 4 varint 1, end group 3
        ];
        let mut r = Reader::new(&bytes);
        while !r.at_end() {
            let (n, t) = r.tag().unwrap();
            r.skip(n, t).unwrap();
        }
    }

    #[test]
    fn skip_rejects_mismatched_group_end_and_bad_types() {
        let mut r = Reader::new(&[0x1b, 0x24]); // start group 3, end group 4
        let (n, t) = r.tag().unwrap();
        assert_eq!(r.skip(n, t), Err(WireError::UnbalancedGroup));
        let mut r = Reader::new(&[0x0e]); // wire type 6
        let (n, t) = r.tag().unwrap();
        assert_eq!(r.skip(n, t), Err(WireError::BadWireType(6)));
    }

    #[test]
    fn length_past_end_is_reported() {
        let mut r = Reader::new(&[0x05, b'a']);
        assert_eq!(
            r.length_delimited(),
            Err(WireError::LengthPastEnd { len: 5, left: 1 })
        );
    }
}
