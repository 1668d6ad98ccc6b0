//! Turning decompressed bytes into normalized events.
//!
//! Owns: framing a stream into records ([`framing`]), the parsers of each log type
//! ([`s3_access`], [`cloudtrail`]), classification of records whose type is not given, and the
//! normalizer that writes each record as one JSON line with its standard `p_` fields
//! ([`normalize`]). A record no parser accepts becomes a classification failure, never a drop.
//!
//! Must not touch: where bytes come from or how they were compressed (`bucketwatch-collect`),
//! and what happens to events afterwards (detection, the lake).

pub mod cloudtrail;
pub mod framing;
pub mod normalize;
pub mod s3_access;

pub use framing::{Framer, Unit, UnitKind};
pub use normalize::{Counts, Normalizer};
