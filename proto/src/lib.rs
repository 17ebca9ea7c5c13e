//! The `custos.v1` wire contract: the protobuf messages and the gRPC `Ingest` service that
//! carry findings from agents to the collector.
//!
//! This crate holds the contract and nothing else, so both sides compile against the same
//! definition. The `.proto` file (`custos/v1/custos.proto`) is the source of truth; fields are
//! only ever added. Raw personal values have no field here by design.

#![allow(missing_docs)] // generated code

/// Generated types of package `custos.v1`.
pub mod v1 {
    tonic::include_proto!("custos.v1");
}
