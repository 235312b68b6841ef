//! Helpers shared by the runtime's integration tests that run one scenario
//! under every code-generation setting that changes bounds checks.

use remap::{Config, Engine, MemoryStyle, Trap, TrapKind};

/// An engine for each memory style, with Spectre mitigations on and off,
/// each with a name for assertion messages.
pub fn engines_for_every_bounds_check() -> Vec<(String, Engine)> {
    let mut engines = Vec::new();
    for style in [MemoryStyle::Static, MemoryStyle::Dynamic] {
        for spectre in [true, false] {
            let mut config = Config::new();
            config.memory_style(style).spectre_mitigations(spectre);
            let engine = Engine::new(&config).expect("a valid configuration");
            engines.push((format!("{style:?}, spectre {spectre}"), engine));
        }
    }
    engines
}

/// Asserts that `result` is a `MemoryOutOfBounds` trap; `what` names the case.
pub fn expect_out_of_bounds(result: anyhow::Result<impl std::fmt::Debug>, what: &str) {
    let error = result.expect_err(what);
    let trap = error
        .downcast_ref::<Trap>()
        .unwrap_or_else(|| panic!("{what}: not a trap: {error:#}"));
    assert_eq!(trap.kind(), TrapKind::MemoryOutOfBounds, "{what}");
}
