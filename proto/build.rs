//! Generates the gRPC code for `custos.v1`.
//!
//! A fresh machine has no `protoc`: unless `PROTOC` is set, the vendored binary from
//! `protoc-bin-vendored` is used, so `cargo build` needs nothing installed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = tonic_prost_build::Config::new();
    if std::env::var_os("PROTOC").is_none() {
        config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    }
    println!("cargo:rerun-if-changed=custos/v1/custos.proto");
    tonic_prost_build::configure()
        // Every message is checked on its wire bytes before it is decoded (src/codec.rs).
        .codec_path("crate::codec::BoundedCodec")
        .build_server(true)
        .build_client(true)
        .compile_with_config(config, &["custos/v1/custos.proto"], &["."])?;
    Ok(())
}
