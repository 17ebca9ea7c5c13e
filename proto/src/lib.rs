//! The `custos.v1` wire contract: the protobuf messages and the gRPC `Ingest` service that
//! carry findings from agents to the collector, and their conversion to and from the domain.
//!
//! Where it sits: rules ← **proto** ← agent, collector. The `.proto` file
//! (`custos/v1/custos.proto`) is the source of truth; fields are only ever added. Raw personal
//! values have no field here by design.
//!
//! Besides the generated code ([`v1`]) this crate owns what both ends of the wire need, so that
//! neither has to reach into the other:
//! - [`codec`]: the gRPC codec, which checks a message's shape on its wire bytes (how many
//!   findings, how much evidence) before decoding it, so decoded memory stays bounded;
//! - [`category`]: the wire enum of a GDPR data category ↔ [`custos_rules::Category`];
//! - [`checked`]: a wire finding decoded **once, at the edge** into a typed, checked
//!   [`checked::CheckedFinding`] — the collector's store never sees an unchecked one;
//! - [`time`]: the wire's clock (milliseconds since the Unix epoch, UTC);
//! - [`log`]: the writer both daemons log through, so that text from the wire cannot forge a
//!   log line.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod category;
pub mod checked;
pub mod codec;
pub mod log;
pub mod time;

/// Generated types of package `custos.v1`.
#[allow(missing_docs)] // generated code: its documentation is the .proto file's comments
pub mod v1 {
    tonic::include_proto!("custos.v1");
}
