//! Custos detection: find personal data in bytes, and describe it without revealing it.
//!
//! This crate is the *detector* step of the data flow
//! (source → **detector** → finding → transport → store → correlation → incident → notification).
//! It is pure: no I/O beyond reading rule packs, no async, nothing of the other Custos crates.
//!
//! # Shape
//! - A [`RulePack`](pack::RulePack) is data (TOML): detectors with their patterns, the name of the
//!   validator that confirms a candidate, context words and a base confidence. The default packs
//!   under `rules/packs/` are compiled into the binary and parsed at start; users add their own.
//! - The [`Engine`](engine::Engine) compiles every pattern of every detector into **one**
//!   multi-pattern automaton and makes a single pass over the input; validators
//!   ([`validate`]) run on candidates only. It works on bytes in ASCII mode: invalid UTF-8 and
//!   binary junk cannot make it fail, and the fast DFA engines never give up on a non-ASCII line
//!   (Unicode word boundaries would make them bail out — measured 20× slower).
//! - A [`Detection`](engine::Detection) still holds the raw value *inside this process*. It leaves
//!   only as a masked [`preview`](mask::preview) and a keyed [`Fingerprint`](fingerprint::Fingerprint)
//!   (HMAC-SHA256), which lets the collector count distinct data subjects without reading them.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod category;
pub mod engine;
pub mod fingerprint;
pub mod mask;
pub mod pack;
pub mod syntax;
pub mod toml_file;
pub mod validate;

pub use category::Category;
pub use engine::{Detection, Engine, EngineOptions};
pub use fingerprint::{Fingerprint, FingerprintKey};
pub use pack::{DetectorSpec, PackError, RulePack, RuleSet};
pub use validate::phone::{DEFAULT_PHONE_REGIONS, PhoneRegions};
