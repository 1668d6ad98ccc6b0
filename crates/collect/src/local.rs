//! Local inputs: a file path or `-` for stdin.

use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;

/// One local input named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Stdin,
    File(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{path}: no such file; check the path")]
    NotFound { path: String },
    #[error("{path}: is a directory; name the files inside it")]
    IsDirectory { path: String },
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
}

impl Input {
    /// `-` is stdin; anything else a file path.
    pub fn from_arg(arg: &str) -> Input {
        if arg == "-" {
            Input::Stdin
        } else {
            Input::File(PathBuf::from(arg))
        }
    }

    /// How the input is named in messages and in `p_source_object`.
    pub fn display_name(&self) -> String {
        match self {
            Input::Stdin => "<stdin>".to_string(),
            Input::File(p) => p.display().to_string(),
        }
    }

    /// The value for `p_source_object`: the path for files, unknown for stdin.
    pub fn source_object(&self) -> Option<String> {
        match self {
            Input::Stdin => None,
            Input::File(p) => Some(p.display().to_string()),
        }
    }

    pub fn open(&self) -> Result<Box<dyn Read + Send>, InputError> {
        match self {
            Input::Stdin => Ok(Box::new(io::stdin())),
            Input::File(p) => {
                let path = p.display().to_string();
                if p.is_dir() {
                    return Err(InputError::IsDirectory { path });
                }
                match File::open(p) {
                    Ok(f) => Ok(Box::new(f)),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        Err(InputError::NotFound { path })
                    }
                    Err(source) => Err(InputError::Io { path, source }),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_directory_inputs_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = Input::from_arg(dir.path().join("nope.log").to_str().unwrap());
        let err = missing.open().err().unwrap().to_string();
        assert!(
            err.contains("nope.log") && err.contains("no such file"),
            "{err}"
        );
        let err = Input::File(dir.path().to_path_buf())
            .open()
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("is a directory"), "{err}");
        assert_eq!(Input::from_arg("-"), Input::Stdin);
    }
}
