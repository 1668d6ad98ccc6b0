//! Decompression chosen by the object's first bytes, never by its name or headers.
//!
//! gzip (multi-member too, as concatenated CloudTrail or Firehose output is) and zstd (any number
//! of frames) are streamed; anything else is plain text. bzip2 and zip are recognized so they can
//! be refused with a clear message instead of being parsed as garbage.

use std::io::{self, BufReader, Cursor, Read};

const BUF: usize = 256 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "plain",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error(
        "{0} compression is not supported; decompress it first, or store gzip, zstd or plain text"
    )]
    Unsupported(&'static str),
    #[error("reading the first bytes failed: {0}")]
    Io(#[from] io::Error),
}

/// Detects the compression of `reader` from its first bytes and returns a reader of the
/// decompressed stream.
pub fn decoded_reader<R: Read + Send + 'static>(
    mut reader: R,
) -> Result<(Compression, Box<dyn Read + Send>), DecodeError> {
    let mut magic = [0u8; 4];
    let mut n = 0;
    while n < magic.len() {
        match reader.read(&mut magic[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    let head = &magic[..n];
    let stream = Cursor::new(magic).take(n as u64).chain(reader);
    let compression = if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else if head.starts_with(b"BZh") {
        return Err(DecodeError::Unsupported("bzip2"));
    } else if head.starts_with(b"PK\x03\x04") {
        return Err(DecodeError::Unsupported("zip"));
    } else {
        Compression::None
    };
    let out: Box<dyn Read + Send> = match compression {
        Compression::None => Box::new(stream),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(
            BufReader::with_capacity(BUF, stream),
        )),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(
            BufReader::with_capacity(BUF, stream),
        )?),
    };
    Ok((compression, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use proptest::prelude::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn decode(bytes: Vec<u8>) -> (Compression, Vec<u8>) {
        let (c, mut r) = decoded_reader(Cursor::new(bytes)).unwrap();
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        (c, out)
    }

    #[test]
    fn plain_passes_through_even_when_tiny() {
        assert_eq!(decode(b"ab".to_vec()), (Compression::None, b"ab".to_vec()));
        assert_eq!(decode(Vec::new()), (Compression::None, Vec::new()));
    }

    #[test]
    fn gzip_with_several_members() {
        let mut bytes = gzip(b"first\n");
        bytes.extend(gzip(b"second\n"));
        assert_eq!(
            decode(bytes),
            (Compression::Gzip, b"first\nsecond\n".to_vec())
        );
    }

    #[test]
    fn zstd_with_several_frames() {
        let mut bytes = zstd::encode_all(&b"one\n"[..], 3).unwrap();
        bytes.extend(zstd::encode_all(&b"two\n"[..], 3).unwrap());
        assert_eq!(decode(bytes), (Compression::Zstd, b"one\ntwo\n".to_vec()));
    }

    #[test]
    fn bzip2_and_zip_are_refused_by_name() {
        for (bytes, name) in [(&b"BZh91AY"[..], "bzip2"), (b"PK\x03\x04rest", "zip")] {
            let err = decoded_reader(Cursor::new(bytes.to_vec())).err().unwrap();
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    #[test]
    fn corrupt_gzip_is_an_error_not_a_panic() {
        let mut bytes = gzip(b"some text that is long enough to matter\n");
        let mid = bytes.len() / 2;
        bytes.truncate(mid);
        let (_, mut r) = decoded_reader(Cursor::new(bytes)).unwrap();
        let mut out = Vec::new();
        assert!(r.read_to_end(&mut out).is_err());
    }

    proptest! {
        #[test]
        fn gzip_round_trips(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
            prop_assert_eq!(decode(gzip(&data)), (Compression::Gzip, data));
        }
    }
}
