//! Getting object bytes into bucketwatch.
//!
//! Owns: the sources records come from (local files and folders, stdin, S3 prefixes; SQS later) and
//! turning an object's bytes into a plain byte stream, decompressed by content.
//!
//! Must not touch: what the bytes mean. Framing records and parsing them is `bucketwatch-parse`.

pub mod decompress;
pub mod local;
pub mod s3;

pub use decompress::{Compression, DecodeError, decoded_reader};
pub use local::{Input, InputError};
pub use s3::{S3Error, S3Object, S3Prefix};
