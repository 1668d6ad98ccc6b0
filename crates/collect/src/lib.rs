//! Getting object bytes into bucketwatch.
//!
//! Owns: the sources records come from (local files and folders, stdin, S3 prefixes, SQS queues and the notifications they carry) and
//! turning an object's bytes into a plain byte stream, decompressed by content.
//!
//! Must not touch: what the bytes mean. Framing records and parsing them is `bucketwatch-parse`.

pub mod decompress;
pub mod local;
pub mod notification;
pub mod routing;
pub mod s3;
pub mod sqs;

pub use decompress::{Compression, DecodeError, decoded_reader};
pub use local::{Input, InputError};
pub use s3::{S3Buckets, S3Error, S3Object, S3Prefix};
