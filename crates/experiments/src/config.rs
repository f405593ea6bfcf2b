//! Experiment files: finding them, reading one profile, and rejecting unknown keys.
//!
//! serde's `deny_unknown_fields` cannot be put on the solver crates' configs without making
//! them unusable for anything that adds keys, so unknown keys are found here instead: the
//! section is deserialised, serialised back, and every key of the file that did not survive the
//! round trip is reported by its dotted path.

use std::path::{Path, PathBuf};

use serde::{Serialize, de::DeserializeOwned};

/// Which size of an experiment to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// Small enough for 2 CPU cores in minutes.
    Quick,
    /// The paper's scale, meant for a GPU machine.
    Full,
}

impl Profile {
    /// The profile's table name in the experiment file.
    pub fn key(self) -> &'static str {
        match self {
            Profile::Quick => "quick",
            Profile::Full => "full",
        }
    }
}

/// Errors reading an experiment file; each names the file and the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// No file for the experiment.
    #[error(
        "no experiment `{name}`: expected a TOML file or one of the experiments in {dir} ({available})"
    )]
    UnknownExperiment { name: String, dir: String, available: String },
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML, a section is missing, or a value has the wrong type.
    #[error("{path}: {detail}")]
    Invalid { path: String, detail: String },
    /// A key that no part of lno reads (usually a typo).
    #[error("{path}: unknown key `{key}` (check its spelling; see configs/README.md)")]
    UnknownKey { path: String, key: String },
}

/// An experiment file, parsed as TOML but not yet interpreted.
#[derive(Debug, Clone)]
pub struct ExperimentFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// The experiment's name: the file stem with `_` written as `-`.
    pub name: String,
    table: toml::Table,
}

impl ExperimentFile {
    /// Resolves `name_or_path`: an existing `.toml` file, or an experiment name looked up as
    /// `<configs_dir>/<name>.toml` (with `-` and `_` interchangeable).
    pub fn find(name_or_path: &str, configs_dir: &Path) -> Result<Self, ConfigError> {
        let direct = Path::new(name_or_path);
        if direct.extension().is_some_and(|e| e == "toml") {
            return Self::read(direct);
        }
        let stem = name_or_path.replace('-', "_");
        let candidate = configs_dir.join(format!("{stem}.toml"));
        if candidate.is_file() {
            return Self::read(&candidate);
        }
        Err(ConfigError::UnknownExperiment {
            name: name_or_path.into(),
            dir: configs_dir.display().to_string(),
            available: available_experiments(configs_dir).join(", "),
        })
    }

    /// Reads and parses `path`.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Io { path: path.display().to_string(), source })?;
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            ConfigError::Invalid { path: path.display().to_string(), detail: e.to_string() }
        })?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().replace('_', "-"))
            .unwrap_or_else(|| "experiment".into());
        Ok(Self { path: path.to_path_buf(), name, table })
    }

    /// The section `<profile>.<section>` deserialised as `T`, with unknown keys rejected.
    pub fn section<T: DeserializeOwned + Serialize>(
        &self,
        profile: Profile,
        section: &str,
    ) -> Result<T, ConfigError> {
        let dotted = format!("{}.{section}", profile.key());
        // `section` may be dotted (`models.fno`): walk the nested tables.
        let value = section
            .split('.')
            .try_fold(self.table.get(profile.key()), |table, part| Some(table?.get(part)))
            .flatten()
            .ok_or_else(|| self.invalid(format!("missing section [{dotted}]")))?;
        let parsed: T = value
            .clone()
            .try_into()
            .map_err(|e: toml::de::Error| self.invalid(format!("in [{dotted}]: {e}")))?;
        let round_trip = toml::Value::try_from(&parsed)
            .map_err(|e| self.invalid(format!("in [{dotted}]: {e}")))?;
        if let Some(key) = first_unknown_key(value, &round_trip, &dotted) {
            return Err(ConfigError::UnknownKey { path: self.path.display().to_string(), key });
        }
        Ok(parsed)
    }

    /// Sets `<profile>.<section>.<key>` to `value` unless the file gives it (`section` may be
    /// dotted, e.g. `models.fno`); used for values a command knows better than the user, such
    /// as channel counts implied by the data.
    pub fn set_default(&mut self, profile: Profile, section: &str, key: &str, value: toml::Value) {
        let mut table = match self.table.get_mut(profile.key()) {
            Some(toml::Value::Table(t)) => t,
            _ => return,
        };
        for part in section.split('.') {
            table = match table.get_mut(part) {
                Some(toml::Value::Table(t)) => t,
                _ => return,
            };
        }
        table.entry(key.to_string()).or_insert(value);
    }

    fn invalid(&self, detail: String) -> ConfigError {
        ConfigError::Invalid { path: self.path.display().to_string(), detail }
    }
}

/// The experiment names available in `configs_dir`, sorted.
pub fn available_experiments(configs_dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(configs_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let path = entry.path();
            (path.extension()? == "toml")
                .then(|| path.file_stem())?
                .map(|s| s.to_string_lossy().replace('_', "-"))
        })
        .collect();
    names.sort();
    names
}

/// The dotted path of the first key of `given` that `known` (its parsed-and-reserialised
/// form) lacks, recursing into tables and arrays of tables.
fn first_unknown_key(given: &toml::Value, known: &toml::Value, prefix: &str) -> Option<String> {
    match (given, known) {
        (toml::Value::Table(g), toml::Value::Table(k)) => g.iter().find_map(|(key, gv)| {
            let path = format!("{prefix}.{key}");
            match k.get(key) {
                None => Some(path),
                Some(kv) => first_unknown_key(gv, kv, &path),
            }
        }),
        (toml::Value::Array(g), toml::Value::Array(k)) => g
            .iter()
            .zip(k)
            .enumerate()
            .find_map(|(i, (gv, kv))| first_unknown_key(gv, kv, &format!("{prefix}[{i}]"))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, serde::Deserialize)]
    struct Inner {
        a: u32,
        #[serde(default)]
        b: Option<f64>,
    }

    #[derive(Debug, Serialize, serde::Deserialize)]
    struct Outer {
        inner: Inner,
        list: Vec<Inner>,
    }

    fn file(text: &str) -> ExperimentFile {
        ExperimentFile {
            path: "test.toml".into(),
            name: "test".into(),
            table: text.parse().unwrap(),
        }
    }

    #[test]
    fn a_section_with_known_keys_parses() {
        let f = file("[quick.s]\ninner = { a = 1 }\nlist = [{ a = 2, b = 0.5 }]\n");
        let s: Outer = f.section(Profile::Quick, "s").unwrap();
        assert_eq!(s.inner.a, 1);
        assert_eq!(s.list[0].b, Some(0.5));
    }

    #[test]
    fn unknown_keys_are_named_by_their_dotted_path() {
        let f = file("[quick.s]\ninner = { a = 1, typo = 3 }\nlist = []\n");
        let err = f.section::<Outer>(Profile::Quick, "s").unwrap_err().to_string();
        assert!(err.contains("`quick.s.inner.typo`"), "{err}");
        let f = file("[quick.s]\ninner = { a = 1 }\nlist = [{ a = 2 }, { a = 3, c = 1 }]\n");
        let err = f.section::<Outer>(Profile::Quick, "s").unwrap_err().to_string();
        assert!(err.contains("`quick.s.list[1].c`"), "{err}");
    }

    #[test]
    fn missing_sections_and_wrong_types_are_errors_naming_the_section() {
        let f = file("[full.s]\ninner = { a = 1 }\nlist = []\n");
        let err = f.section::<Outer>(Profile::Quick, "s").unwrap_err().to_string();
        assert!(err.contains("missing section [quick.s]"), "{err}");
        let f = file("[quick.s]\ninner = { a = \"x\" }\nlist = []\n");
        let err = f.section::<Outer>(Profile::Quick, "s").unwrap_err().to_string();
        assert!(err.contains("[quick.s]"), "{err}");
    }

    #[test]
    fn unknown_experiment_names_list_the_available_ones() {
        let dir = std::env::temp_dir().join(format!("lno-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("navier_stokes.toml"), "").unwrap();
        let err = ExperimentFile::find("navier", &dir).unwrap_err().to_string();
        assert!(err.contains("navier-stokes"), "{err}");
        assert!(ExperimentFile::find("navier-stokes", &dir).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
