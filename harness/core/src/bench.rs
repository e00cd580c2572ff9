//! What the bench mains of the workloads share (their `reference` and `validate` benches): the common
//! flags, the commit they ran at, and the binaries built beside them.

use std::path::PathBuf;
use std::str::FromStr;

/// A bench's command line or set-up that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BenchError {
    /// An option without its value.
    #[error("{0} needs a value")]
    MissingValue(String),
    /// An option whose value is not a positive number.
    #[error("--{name} needs a positive number, not {value:?}")]
    NotPositive { name: String, value: String },
    /// A binary the bench runs is not built beside it.
    #[error("{name} is not built beside {beside} (cargo build --release)")]
    NotBuilt { name: String, beside: String },
}

/// A bench's command line: `--quick`, `--out FILE` and `--NAME VALUE` options; cargo's own `--bench`
/// and anything that is not an option are ignored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BenchArgs {
    /// The smoke profile: fewer, shorter rounds.
    pub quick: bool,
    /// Where to write the result file.
    pub out: Option<PathBuf>,
    values: Vec<(String, String)>,
}

impl BenchArgs {
    /// This process's arguments.
    pub fn from_env() -> Result<BenchArgs, BenchError> {
        Self::parse(std::env::args().skip(1))
    }

    /// Arguments after the program name.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<BenchArgs, BenchError> {
        let mut a = BenchArgs::default();
        let mut args = args.into_iter().peekable();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => a.quick = true,
                "--bench" => {}
                name if name.starts_with("--") => {
                    let value = args
                        .next_if(|v| !v.starts_with("--"))
                        .ok_or_else(|| BenchError::MissingValue(name.into()))?;
                    match name {
                        "--out" => a.out = Some(PathBuf::from(value)),
                        _ => a.values.push((name[2..].to_string(), value)),
                    }
                }
                _ => {}
            }
        }
        Ok(a)
    }

    /// Option `--name` as a positive number, if given.
    pub fn positive<T: FromStr + PartialOrd + Default>(
        &self,
        name: &str,
    ) -> Result<Option<T>, BenchError> {
        match self.values.iter().rev().find(|(n, _)| n == name) {
            None => Ok(None),
            Some((_, v)) => match v.parse::<T>() {
                Ok(x) if x > T::default() => Ok(Some(x)),
                _ => Err(BenchError::NotPositive {
                    name: name.into(),
                    value: v.clone(),
                }),
            },
        }
    }
}

/// The short commit of the checkout the bench runs in, if git knows it.
pub fn commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A binary of the workspace built beside this bench (cargo puts bench executables in
/// `target/<profile>/deps/` and binaries one directory up).
pub fn sibling_binary(name: &str) -> Result<PathBuf, BenchError> {
    let exe = std::env::current_exe().unwrap_or_default();
    exe.parent()
        .and_then(std::path::Path::parent)
        .map(|d| d.join(name))
        .filter(|p| p.is_file())
        .ok_or_else(|| BenchError::NotBuilt {
            name: name.into(),
            beside: exe.display().to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Result<BenchArgs, BenchError> {
        BenchArgs::parse(s.split_whitespace().map(String::from))
    }

    #[test]
    fn flags_values_and_cargos_own_arguments() {
        let a = args("--bench --quick --rounds 3 --out r.json filter").unwrap();
        assert!(a.quick);
        assert_eq!(a.out, Some(PathBuf::from("r.json")));
        assert_eq!(a.positive::<usize>("rounds"), Ok(Some(3)));
        assert_eq!(a.positive::<f64>("secs"), Ok(None));
        let e = args("--rounds 0")
            .unwrap()
            .positive::<usize>("rounds")
            .unwrap_err();
        assert_eq!(e.to_string(), "--rounds needs a positive number, not \"0\"");
        assert_eq!(
            args("--out --quick").unwrap_err(),
            BenchError::MissingValue("--out".into())
        );
    }
}
