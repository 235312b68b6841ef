//! Wasmtime's option groups on Remap's command line: `-W` (Wasm features
//! and limits), `-S` (WASI), `-O` (memory and optimisation) and `-C` (code
//! generation), each `-G KEY[=VALUE][,KEY[=VALUE]...]` and repeatable, with
//! Wasmtime's key names and value spellings.
//!
//! Each group is one declarative table of [`Key`]s (`keys.rs`): the name,
//! the value kind (which decides the parser and the form shown in help),
//! which commands take it, a help line, and how the value lands in
//! [`Settings`]. Parsing, the unknown-key error listing the group's keys and
//! the `-W help` text are all generated from the tables.
//!
//! Failure behaviour: the first bad item stops parsing with one error that
//! names the group and key: an unknown key lists the group's keys; a key
//! Wasmtime has but Remap does not support says why; a bad value names the
//! expected form; a key a command does not use names the commands that do.
//! Keys apply in command-line order, so a later one overrides an earlier.

mod keys;
mod settings;
mod values;

use anyhow::{Result, anyhow};
use clap::Args;
use std::fmt::Write as _;
use std::time::Duration;
use values::{parse_bool, parse_bytes, parse_count, parse_duration, required};

pub use settings::{Settings, agree};

/// The `remap` command a group argument was given to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// `remap run`.
    Run,
    /// `remap compile`.
    Compile,
    /// `remap wast`.
    Wast,
}

impl Command {
    /// The subcommand's name: `run`, `compile` or `wast`.
    fn name(self) -> &'static str {
        match self {
            Command::Run => "run",
            Command::Compile => "compile",
            Command::Wast => "wast",
        }
    }
}

/// Which commands take a key.
#[derive(Clone, Copy, Debug)]
pub enum Applies {
    /// Every command: the key changes what is accepted or compiled.
    Everywhere,
    /// `remap run` and `remap compile`: instrumentation compiled into the
    /// code, whose budget only a run uses (`remap wast` could not give it).
    RunAndCompile,
    /// `remap run` and `remap wast`: an engine setting that does not change code.
    RunAndWast,
    /// `remap run` only: the store or WASI.
    Run,
}

impl Applies {
    fn commands(self) -> &'static [Command] {
        match self {
            Applies::Everywhere => &[Command::Run, Command::Compile, Command::Wast],
            Applies::RunAndCompile => &[Command::Run, Command::Compile],
            Applies::RunAndWast => &[Command::Run, Command::Wast],
            Applies::Run => &[Command::Run],
        }
    }

    /// The commands' names joined with `separator`, each inside `before` and `after`.
    fn list(self, before: &str, after: &str, separator: &str) -> String {
        let names: Vec<String> = self
            .commands()
            .iter()
            .map(|command| format!("{before}{}{after}", command.name()))
            .collect();
        names.join(separator)
    }
}

/// A key's value kind and where the parsed value goes.
pub enum Kind {
    /// `KEY[=y|n]`.
    Flag(fn(&mut Settings, bool)),
    /// `KEY=SIZE`: bytes.
    Size(fn(&mut Settings, u64)),
    /// `KEY=N`: a count.
    Count(fn(&mut Settings, u64)),
    /// `KEY=N|Ns|Nms|..`: a duration.
    Duration(fn(&mut Settings, Duration)),
    /// `KEY=VALUE` with the values `form` shows; `apply` refuses others,
    /// saying what Remap takes.
    Text {
        /// The value form in help, e.g. `=ADDRESS:PORT`.
        form: &'static str,
        /// Stores the value, or explains why it is refused.
        apply: fn(&mut Settings, &str) -> Result<(), String>,
    },
    /// A Wasmtime switch that Remap cannot turn: the value Remap always
    /// has is accepted (and changes nothing), the other refused with `why`.
    Fixed {
        /// What Remap always does.
        remap: bool,
        /// Why the other value is refused.
        why: &'static str,
    },
}

/// One key of a group.
pub struct Key {
    /// The name, as in Wasmtime.
    pub name: &'static str,
    /// Its value kind and effect.
    pub kind: Kind,
    /// Which commands take it.
    pub applies: Applies,
    /// One line for `-G help`.
    pub help: &'static str,
}

/// Why a key's value was not taken.
enum Refusal {
    /// The value is malformed; the problem in words.
    BadValue(String),
    /// The value is well formed but Remap cannot do it.
    Unsupported(&'static str),
}

impl Key {
    /// The value form shown in help and errors.
    fn form(&self) -> &'static str {
        match self.kind {
            Kind::Flag(_) | Kind::Fixed { .. } => "[=y|n]",
            Kind::Size(_) => "=SIZE",
            Kind::Count(_) => "=N",
            Kind::Duration(_) => "=N|Ns|Nms|..",
            Kind::Text { form, .. } => form,
        }
    }

    fn apply(&self, settings: &mut Settings, value: Option<&str>) -> Result<(), Refusal> {
        let bad = Refusal::BadValue;
        match self.kind {
            Kind::Flag(set) => set(settings, parse_bool(value).map_err(bad)?),
            Kind::Size(set) => set(
                settings,
                required(value).and_then(parse_bytes).map_err(bad)?,
            ),
            Kind::Count(set) => set(
                settings,
                required(value).and_then(parse_count).map_err(bad)?,
            ),
            Kind::Duration(set) => set(
                settings,
                required(value).and_then(parse_duration).map_err(bad)?,
            ),
            Kind::Text { apply, .. } => {
                apply(settings, required(value).map_err(bad)?).map_err(bad)?;
            }
            Kind::Fixed { remap, why } => {
                if parse_bool(value).map_err(bad)? != remap {
                    return Err(Refusal::Unsupported(why));
                }
            }
        }
        Ok(())
    }
}

/// Wasmtime keys of a group that Remap refuses whatever their value: the
/// names (a trailing `*` matches any key starting with what precedes it)
/// and why.
pub struct WasmtimeOnly {
    /// The keys.
    pub names: &'static [&'static str],
    /// Why Remap does not take them.
    pub why: &'static str,
}

/// One option group.
pub struct Group {
    /// The short option, e.g. `W`.
    pub flag: char,
    /// The long option, e.g. `wasm`.
    pub long: &'static str,
    /// What the group is about, for help.
    pub about: &'static str,
    /// The keys Remap takes.
    pub keys: &'static [Key],
    /// Wasmtime's other keys of this group.
    pub wasmtime_only: &'static [WasmtimeOnly],
}

impl Group {
    /// Applies one argument of the group (`KEY[=VALUE][,...]`) for `command`.
    fn apply(&self, argument: &str, command: Command, settings: &mut Settings) -> Result<()> {
        let flag = self.flag;
        for item in argument.split(',') {
            let (name, value) = match item.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (item, None),
            };
            let Some(key) = self.keys.iter().find(|key| key.name == name) else {
                return Err(anyhow!(self.unknown_key(name)));
            };
            if !key.applies.commands().contains(&command) {
                return Err(anyhow!(
                    "-{flag} {name} does not apply to `remap {}`: it is taken by {}",
                    command.name(),
                    key.applies.list("`remap ", "`", " and ")
                ));
            }
            key.apply(settings, value)
                .map_err(|refusal| match refusal {
                    Refusal::BadValue(problem) => anyhow!(
                        "bad value for -{flag} {name}: {problem}; expected -{flag} {name}{}",
                        key.form()
                    ),
                    Refusal::Unsupported(why) => anyhow!("-{flag} {item} is not supported: {why}"),
                })?;
        }
        Ok(())
    }

    fn unknown_key(&self, name: &str) -> String {
        let flag = self.flag;
        let refused = self.wasmtime_only.iter().find(|refused| {
            refused
                .names
                .iter()
                .any(|pattern| match pattern.strip_suffix('*') {
                    Some(prefix) => name.starts_with(prefix),
                    None => name == *pattern,
                })
        });
        match refused {
            Some(refused) => format!(
                "-{flag} {name} is a Wasmtime option that Remap does not support: {}",
                refused.why
            ),
            None => {
                let names: Vec<&str> = self.keys.iter().map(|key| key.name).collect();
                format!(
                    "unknown -{flag} key `{name}`; the -{flag} (--{}) keys are: {} \
                     (`-{flag} help` describes them)",
                    self.long,
                    names.join(", ")
                )
            }
        }
    }

    /// The `-G help` text: every key with its value form, help and commands,
    /// then the Wasmtime keys Remap refuses.
    pub fn help(&self) -> String {
        let flag = self.flag;
        let mut text = format!(
            "-{flag} (--{}) keys: {}. Give them as -{flag} KEY[=VALUE][,KEY[=VALUE]...]; \
             the commands that take each are in brackets.\n\n",
            self.long, self.about
        );
        let width = self
            .keys
            .iter()
            .map(|key| key.name.len() + key.form().len())
            .max()
            .unwrap_or(0);
        for key in self.keys {
            let _ = writeln!(
                text,
                "  -{flag} {:>width$} -- {} [{}]",
                format!("{}{}", key.name, key.form()),
                key.help,
                key.applies.list("", "", ", ")
            );
        }
        let _ = writeln!(
            text,
            "\nWasmtime's other -{flag} keys, which Remap refuses with the reason:"
        );
        for refused in self.wasmtime_only {
            let _ = writeln!(text, "  {}: {}", refused.names.join(", "), refused.why);
        }
        text
    }
}

/// The four groups as `remap` options; flattened into every command.
#[derive(Args, Clone, Debug, Default)]
pub struct GroupArgs {
    /// Wasm features and limits with Wasmtime's keys, e.g. `-W fuel=1000,timeout=10s`
    /// (`-W help` lists them)
    #[arg(short = 'W', long = "wasm", value_name = "KEY[=VAL[,..]]")]
    pub wasm: Vec<String>,
    /// WASI options with Wasmtime's keys, e.g. `-S inherit-env` (`-S help` lists them)
    #[arg(short = 'S', long = "wasi", value_name = "KEY[=VAL[,..]]")]
    pub wasi: Vec<String>,
    /// Memory layout and optimisation with Wasmtime's keys, e.g.
    /// `-O memory-may-move=n` (`-O help` lists them)
    #[arg(short = 'O', long = "optimize", value_name = "KEY[=VAL[,..]]")]
    pub optimize: Vec<String>,
    /// Code generation with Wasmtime's keys, e.g. `-C parallel-compilation=n`
    /// (`-C help` lists them)
    #[arg(short = 'C', long = "codegen", value_name = "KEY[=VAL[,..]]")]
    pub codegen: Vec<String>,
}

/// The argument ids of the groups, for `required_unless_present_any`: a
/// command given only `-G help` needs no file.
pub const GROUP_IDS: [&str; 4] = ["wasm", "wasi", "optimize", "codegen"];

impl GroupArgs {
    fn groups(&self) -> [(&'static Group, &[String]); 4] {
        [
            (&keys::WASM, &self.wasm),
            (&keys::WASI, &self.wasi),
            (&keys::OPTIMIZE, &self.optimize),
            (&keys::CODEGEN, &self.codegen),
        ]
    }

    /// The help of the first group given `help` (or `help-long`), if any.
    pub fn help(&self) -> Option<String> {
        self.groups()
            .into_iter()
            .find(|(_, arguments)| {
                arguments
                    .iter()
                    .any(|argument| matches!(argument.as_str(), "help" | "help-long"))
            })
            .map(|(group, _)| group.help())
    }

    /// Parses every group argument for `command`.
    pub fn settings(&self, command: Command) -> Result<Settings> {
        let mut settings = Settings::default();
        for (group, arguments) in self.groups() {
            for argument in arguments {
                group.apply(argument, command, &mut settings)?;
            }
        }
        Ok(settings)
    }

    /// The settings for `command`; after printing the help asked for with
    /// `-G help` (which wins over everything else), `None`: the command has
    /// nothing else to do.
    pub fn settings_or_help(&self, command: Command) -> Result<Option<Settings>> {
        match self.help() {
            Some(text) => {
                print!("{text}");
                Ok(None)
            }
            None => self.settings(command).map(Some),
        }
    }
}

#[cfg(test)]
mod tests;
