//! The gRPC codec of `custos.v1`: prost, with a look at a message's shape *before* it is
//! decoded.
//!
//! Decoding is where an agent's bytes turn into the collector's memory, and protobuf lets a
//! small message cost a lot once decoded: an empty `Finding` is 2 bytes on the wire and about
//! 344 bytes as a struct, so a 1 MB batch of them took 164 MB. The message size limit alone
//! does not bound that. [`BoundedCodec`] therefore walks the wire bytes first — reading tags
//! and lengths only, allocating nothing — and refuses a message whose shape is over the
//! contract's limits ([`WireBounds`]) with `RESOURCE_EXHAUSTED`, so an oversized batch costs
//! its bytes and nothing more. Messages within the limits are decoded by prost as usual.
//!
//! `build.rs` makes every generated client and server of the package use this codec.

use crate::v1;
use prost::Message;
use std::marker::PhantomData;
use tonic::Status;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder};
use tonic_prost::ProstEncoder;

/// Findings one `FindingBatch` may hold. The agent's batches are 500 by default and its
/// configuration refuses more than this.
pub const MAX_FINDINGS_PER_BATCH: usize = 5_000;

/// Evidence entries (key/value pairs) one `FindingBatch` may hold over all its findings: an
/// agent sends a handful per export anomaly and none per personal-data finding.
pub const MAX_EVIDENCE_ENTRIES_PER_BATCH: usize = 100_000;

/// A limit on a message's shape, checked on its wire bytes before decoding.
pub trait WireBounds {
    /// `Err(why)` when the encoded message is over a limit. The default accepts everything.
    fn check_wire(_bytes: &[u8]) -> Result<(), String> {
        Ok(())
    }
}

impl WireBounds for v1::FindingBatch {
    fn check_wire(bytes: &[u8]) -> Result<(), String> {
        // Malformed bytes are prost's to refuse (INVALID_ARGUMENT).
        let Some(shape) = batch_shape(bytes) else { return Ok(()) };
        if shape.findings > MAX_FINDINGS_PER_BATCH {
            return Err(format!("a batch holds at most {MAX_FINDINGS_PER_BATCH} findings; this one holds {}: send smaller batches", shape.findings));
        }
        if shape.evidence_entries > MAX_EVIDENCE_ENTRIES_PER_BATCH {
            return Err(format!("a batch holds at most {MAX_EVIDENCE_ENTRIES_PER_BATCH} evidence entries; this one holds {}", shape.evidence_entries));
        }
        Ok(())
    }
}

impl WireBounds for v1::BatchAck {}
impl WireBounds for v1::EnrollRequest {}
impl WireBounds for v1::EnrollResponse {}
impl WireBounds for v1::RenewRequest {}

/// What a batch holds, counted on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BatchShape {
    /// `findings` entries (field 3).
    pub findings: usize,
    /// `evidence` entries of all findings (field 14 of each).
    pub evidence_entries: usize,
}

/// Counts the findings and evidence entries of an encoded `FindingBatch`; `None` when the bytes
/// are not well-formed protobuf (prost would refuse them too).
pub fn batch_shape(bytes: &[u8]) -> Option<BatchShape> {
    let mut shape = BatchShape::default();
    for field in Fields::new(bytes) {
        let (number, body) = field?;
        if number == 3 {
            shape.findings += 1;
            if let Some(finding) = body {
                for inner in Fields::new(finding) {
                    if inner?.0 == 14 {
                        shape.evidence_entries += 1;
                    }
                }
            }
        }
    }
    Some(shape)
}

/// The top-level fields of an encoded message: (field number, body of a length-delimited
/// field). Yields `None` once and stops on malformed input.
struct Fields<'a> {
    bytes: &'a [u8],
    pos: usize,
    failed: bool,
}

impl<'a> Fields<'a> {
    fn new(bytes: &'a [u8]) -> Fields<'a> {
        Fields { bytes, pos: 0, failed: false }
    }

    fn varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.bytes.get(self.pos)?;
            self.pos += 1;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    fn skip(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len())?;
        let body = &self.bytes[self.pos..end];
        self.pos = end;
        Some(body)
    }

    fn field(&mut self) -> Option<(u64, Option<&'a [u8]>)> {
        let key = self.varint()?;
        let number = key >> 3;
        let body = match key & 7 {
            0 => {
                self.varint()?;
                None
            }
            1 => self.skip(8).map(|_| None)?,
            2 => {
                let len = usize::try_from(self.varint()?).ok()?;
                Some(self.skip(len)?)
            }
            5 => self.skip(4).map(|_| None)?,
            // Groups (3, 4) are not used by proto3 and prost refuses them in our messages.
            _ => return None,
        };
        Some((number, body))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Option<(u64, Option<&'a [u8]>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.bytes.len() {
            return None;
        }
        let f = self.field();
        self.failed = f.is_none();
        Some(f)
    }
}

/// prost's codec with [`WireBounds`] checked before decoding.
#[derive(Debug, Clone, Copy)]
pub struct BoundedCodec<T, U> {
    _types: PhantomData<(T, U)>,
}

impl<T, U> Default for BoundedCodec<T, U> {
    fn default() -> Self {
        BoundedCodec { _types: PhantomData }
    }
}

impl<T, U> Codec for BoundedCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + WireBounds + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = BoundedDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::new(BufferSettings::default())
    }

    fn decoder(&mut self) -> Self::Decoder {
        BoundedDecoder { _type: PhantomData }
    }
}

/// The decoding half of [`BoundedCodec`].
#[derive(Debug)]
pub struct BoundedDecoder<U> {
    _type: PhantomData<U>,
}

impl<U: Message + Default + WireBounds> Decoder for BoundedDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        use prost::bytes::Buf;
        // tonic hands over one whole message in one contiguous buffer.
        if buf.chunk().len() != buf.remaining() {
            return Err(Status::internal("message split across buffers"));
        }
        U::check_wire(buf.chunk()).map_err(Status::resource_exhausted)?;
        U::decode(buf).map(Some).map_err(|e| Status::invalid_argument(format!("malformed message: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(findings: usize, evidence_each: usize) -> Vec<u8> {
        let f = v1::Finding { evidence: (0..evidence_each).map(|i| (format!("k{i}"), String::new())).collect(), ..Default::default() };
        v1::FindingBatch { seq: 7, agent_id: "a".into(), findings: vec![f; findings], ..Default::default() }.encode_to_vec()
    }

    #[test]
    fn the_shape_of_a_batch_is_counted_on_its_wire_bytes() {
        assert_eq!(batch_shape(&batch(3, 2)), Some(BatchShape { findings: 3, evidence_entries: 6 }));
        assert_eq!(batch_shape(&[]), Some(BatchShape::default()));
    }

    #[test]
    fn a_batch_of_empty_findings_over_the_cap_is_refused_before_decoding() {
        // Each empty finding is 2 bytes on the wire: 10,000 of them are 20 kB.
        let bytes = batch(MAX_FINDINGS_PER_BATCH * 2, 0);
        assert!(bytes.len() < 32 * 1024);
        let err = v1::FindingBatch::check_wire(&bytes).unwrap_err();
        assert!(err.contains("at most 5000 findings"), "{err}");
        assert!(v1::FindingBatch::check_wire(&batch(MAX_FINDINGS_PER_BATCH, 0)).is_ok());
    }

    #[test]
    fn too_much_evidence_is_refused_and_truncated_bytes_are_malformed() {
        assert!(v1::FindingBatch::check_wire(&batch(1_000, 101)).unwrap_err().contains("evidence"));
        let bytes = batch(2, 1);
        assert_eq!(batch_shape(&bytes[..bytes.len() - 1]), None);
        // A length running past the end, and a group wire type.
        assert_eq!(batch_shape(&[0x1a, 0xff, 0x01]), None);
        assert_eq!(batch_shape(&[0x1b]), None);
    }
}
