//! Engine options shared by `remap run`, `remap wast` and `remap compile`:
//! Remap's own long options, combined with the option groups' [`Settings`].
//! Where a long option and a group key mean the same thing (`--memory-style`
//! and the `-O` memory keys, `--memory-reserve` and
//! `-O memory-reservation-for-growth`, `--relaxed-simd-deterministic` and
//! `-W relaxed-simd-deterministic`), either may be given, or both when they
//! agree; a contradiction is an error naming the two.

use crate::option_groups::{Settings, agree};
use crate::size::parse_size;
use anyhow::Result;
use clap::{Args, ValueEnum};
use remap::{Config, MemoryStyle};
use std::fmt;

/// How linear memories are laid out (see DESIGN.md, "Two memory styles").
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StyleArg {
    /// Reserve 4 GiB plus a guard: no bounds checks, the base never moves.
    Static,
    /// A small reservation with explicit bounds checks; relocated by mremap when outgrown.
    Dynamic,
    /// Small memories packed into slots of one shared mapping, with explicit
    /// checks of every access; moved out by mremap when outgrown.
    Arena,
}

/// Options that change the generated code: `remap compile` and
/// `remap run --allow-precompiled` must be given the same ones.
#[derive(Args, Clone, Debug)]
pub struct CodeOptions {
    /// Memory style; by default the engine picks static where address space allows.
    #[arg(long, value_enum, value_name = "STYLE")]
    pub memory_style: Option<StyleArg>,
    /// Whether explicit bounds checks are hardened against Spectre
    /// (speculative out-of-bounds accesses); on by default.
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub spectre_mitigations: bool,
    /// Whether relaxed SIMD instructions give the deterministic profile's
    /// results, the same on every host, instead of this CPU's fastest
    /// (off by default).
    #[arg(long, value_name = "BOOL", action = clap::ArgAction::Set)]
    pub relaxed_simd_deterministic: Option<bool>,
}

impl StyleArg {
    fn style(self) -> MemoryStyle {
        match self {
            StyleArg::Static => MemoryStyle::Static,
            StyleArg::Dynamic => MemoryStyle::Dynamic,
            StyleArg::Arena => MemoryStyle::Arena,
        }
    }

    fn of(style: MemoryStyle) -> StyleArg {
        match style {
            MemoryStyle::Static => StyleArg::Static,
            MemoryStyle::Dynamic => StyleArg::Dynamic,
            MemoryStyle::Arena => StyleArg::Arena,
        }
    }
}

/// As `--memory-style` spells it.
impl fmt::Display for StyleArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StyleArg::Static => "static",
            StyleArg::Dynamic => "dynamic",
            StyleArg::Arena => "arena",
        })
    }
}

impl CodeOptions {
    /// The engine configuration these options and `settings` ask for.
    pub fn config(&self, settings: &Settings) -> Result<Config> {
        let mut config = Config::new();
        settings.configure(&mut config);
        config.spectre_mitigations(self.spectre_mitigations);
        let deterministic = agree(
            "--relaxed-simd-deterministic",
            self.relaxed_simd_deterministic,
            "-W relaxed-simd-deterministic",
            settings.features.relaxed_simd_deterministic,
        )?;
        config.relaxed_simd_deterministic(deterministic.unwrap_or(false));
        let style = agree(
            "--memory-style",
            self.memory_style,
            "the -O memory keys",
            settings.layout.style().map(StyleArg::of),
        )?;
        if let Some(style) = style {
            config.memory_style(style.style());
        }
        Ok(config)
    }
}

/// Memory options: style, pinning, room for growth, and limits.
#[derive(Args, Clone, Debug)]
pub struct MemoryOptions {
    #[command(flatten)]
    pub code: CodeOptions,
    /// Keep every accessible page of linear memory locked in RAM (mlock).
    #[arg(long)]
    pub pin: bool,
    /// Most bytes that may be pinned at once, e.g. 64MiB (with --pin).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, requires = "pin")]
    pub pin_budget: Option<u64>,
    /// Largest size any one linear memory may grow to, e.g. 1GiB.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_memory: Option<u64>,
    /// Room a dynamic memory may grow into before it is relocated, e.g.
    /// 256MiB (default 16MiB; does not change the code, so a precompiled
    /// file runs with any value).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub memory_reserve: Option<u64>,
}

impl MemoryOptions {
    /// The engine configuration these options and `settings` ask for.
    pub fn config(&self, settings: &Settings) -> Result<Config> {
        let mut config = self.code.config(settings)?;
        config.pin_memory(self.pin);
        if let Some(budget) = self.pin_budget {
            config.pin_budget(budget);
        }
        config.max_memory_size(self.max_memory);
        let reserve = agree(
            "--memory-reserve",
            self.memory_reserve,
            "-O memory-reservation-for-growth",
            settings.layout.reservation_for_growth,
        )?;
        if let Some(reserve) = reserve {
            config.dynamic_memory_reserve(reserve);
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// A command that takes the memory options alone.
    #[derive(Parser)]
    struct MemoryCommand {
        #[command(flatten)]
        memory: MemoryOptions,
    }

    fn config_of(args: &[&str]) -> String {
        let command =
            MemoryCommand::try_parse_from(std::iter::once("remap").chain(args.iter().copied()))
                .expect("valid options");
        format!("{:?}", command.memory.config(&Settings::default()).unwrap())
    }

    #[test]
    fn relaxed_simd_deterministic_takes_a_value() {
        let off = "relaxed_simd_deterministic: false";
        assert!(config_of(&[]).contains(off));
        assert!(config_of(&["--relaxed-simd-deterministic=false"]).contains(off));
        let on = "relaxed_simd_deterministic: true";
        assert!(config_of(&["--relaxed-simd-deterministic=true"]).contains(on));
        assert!(config_of(&["--relaxed-simd-deterministic", "true"]).contains(on));
        assert!(
            MemoryCommand::try_parse_from(["remap", "--relaxed-simd-deterministic=maybe"]).is_err()
        );
    }

    #[test]
    fn memory_reserve_sets_the_dynamic_room_for_growth() {
        let default = format!("dynamic_memory_reserve: {}", 16u64 << 20);
        assert!(config_of(&[]).contains(&default));
        let larger = format!("dynamic_memory_reserve: {}", 256u64 << 20);
        assert!(config_of(&["--memory-reserve", "256MiB"]).contains(&larger));
        assert!(MemoryCommand::try_parse_from(["remap", "--memory-reserve", "lots"]).is_err());
    }
}
