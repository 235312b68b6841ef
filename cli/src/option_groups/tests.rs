use super::*;
use remap::MemoryStyle;

fn args(wasm: &[&str], wasi: &[&str], optimize: &[&str], codegen: &[&str]) -> GroupArgs {
    let owned = |values: &[&str]| values.iter().map(|value| (*value).to_owned()).collect();
    GroupArgs {
        wasm: owned(wasm),
        wasi: owned(wasi),
        optimize: owned(optimize),
        codegen: owned(codegen),
    }
}

fn settings(command: Command, groups: GroupArgs) -> Result<Settings> {
    assert!(groups.help().is_none());
    groups.settings(command)
}

fn wasm(items: &[&str]) -> Result<Settings> {
    settings(Command::Run, args(items, &[], &[], &[]))
}

fn error(result: Result<Settings>) -> String {
    format!("{:#}", result.unwrap_err())
}

#[test]
fn keys_are_comma_separated_and_repeatable_and_the_last_wins() {
    let settings = wasm(&["fuel=1000,timeout=2s", "max-memory-size=1MiB", "fuel=0x10"]).unwrap();
    assert_eq!(settings.fuel, Some(16));
    assert_eq!(settings.timeout, Some(Duration::from_secs(2)));
    assert_eq!(settings.limits.memory_size, Some(1 << 20));
}

#[test]
fn every_value_kind_parses_into_its_setting() {
    let settings = settings(
        Command::Run,
        args(
            &[
                "epoch-interruption",
                "simd=n",
                "trap-on-grow-failure=yes",
                "max-table-elements=10",
                "max-wasm-stack=1MiB",
            ],
            &[
                "tcplisten=127.0.0.1:0",
                "inherit-env=true",
                "inherit-stdin=no",
            ],
            &[
                "memory-guard-size=65536",
                "memory-may-move=n",
                "memory-init-cow=n",
            ],
            &[
                "parallel-compilation=false",
                "compiler=cranelift",
                "cache=n",
            ],
        ),
    )
    .unwrap();
    assert_eq!(settings.epoch_interruption, Some(true));
    assert_eq!(settings.features.simd, Some(false));
    assert_eq!(settings.limits.trap_on_grow_failure, Some(true));
    assert_eq!(settings.limits.table_elements, Some(10));
    assert_eq!(settings.max_wasm_stack, Some(1 << 20));
    assert_eq!(settings.wasi.tcp_listen, ["127.0.0.1:0"]);
    assert_eq!(settings.wasi.inherit_env, Some(true));
    assert_eq!(settings.wasi.inherit_stdio, [Some(false), None, None]);
    assert_eq!(settings.layout.guard_size, Some(65536));
    assert_eq!(settings.layout.style(), Some(MemoryStyle::Static));
    assert_eq!(settings.layout.init_cow, Some(false));
    assert_eq!(settings.parallel_compilation, Some(false));
    assert_eq!(settings.code_cache, Some(false));
}

#[test]
fn an_unknown_key_lists_the_keys_of_its_group() {
    for (groups, flag, long, some_key) in [
        (
            args(&["bogus"], &[], &[], &[]),
            'W',
            "wasm",
            "max-memory-size",
        ),
        (
            args(&[], &["bogus=1"], &[], &[]),
            'S',
            "wasi",
            "inherit-env",
        ),
        (
            args(&[], &[], &["bogus"], &[]),
            'O',
            "optimize",
            "memory-may-move",
        ),
        (
            args(&[], &[], &[], &["bogus"]),
            'C',
            "codegen",
            "parallel-compilation",
        ),
    ] {
        let err = error(settings(Command::Run, groups));
        assert!(
            err.starts_with(&format!(
                "unknown -{flag} key `bogus`; the -{flag} (--{long}) keys are: "
            )),
            "{err}"
        );
        assert!(err.contains(some_key), "{err}");
        assert!(err.contains(&format!("`-{flag} help`")), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn a_wasmtime_key_remap_lacks_says_why() {
    let err = error(wasm(&["async-stack-size=65536"]));
    assert_eq!(
        err,
        "-W async-stack-size is a Wasmtime option that Remap does not support: \
         Remap's async support is the embedding API's (Config::async_support, \
         Config::async_stack_size); the command line runs programs synchronously"
    );
    let err = error(settings(
        Command::Run,
        args(&[], &[], &["pooling-total-memories=4"], &[]),
    ));
    assert!(err.contains("no pooling allocator"), "{err}");
    let err = error(settings(
        Command::Run,
        args(&[], &[], &[], &["cranelift-opt_level=none"]),
    ));
    assert!(err.contains("--spectre-mitigations"), "{err}");
}

#[test]
fn bad_values_name_the_key_and_the_expected_form() {
    for (item, expected) in [
        (
            "fuel=abc",
            "bad value for -W fuel: `abc` is not a whole number",
        ),
        ("fuel", "bad value for -W fuel: it needs a value"),
        ("timeout=1.5s", "expected -W timeout=N|Ns|Nms|.."),
        ("max-memory-size=lots", "expected -W max-memory-size=SIZE"),
        ("simd=maybe", "expected -W simd[=y|n]"),
        (
            "memory64=maybe",
            "bad value for -W memory64: `maybe` is not a boolean",
        ),
    ] {
        let err = error(wasm(&[item]));
        assert!(err.contains(expected), "{item}: {err}");
    }
    let err = error(settings(
        Command::Run,
        args(&[], &[], &["opt-level=0"], &[]),
    ));
    assert!(err.starts_with("bad value for -O opt-level: `0`"), "{err}");
    assert!(err.ends_with("expected -O opt-level=1|2"), "{err}");
}

#[test]
fn exceptions_can_be_switched_off() {
    let settings = wasm(&["exceptions=n"]).unwrap();
    assert_eq!(settings.features.exceptions, Some(false));
    assert_eq!(
        wasm(&["exceptions"]).unwrap().features.exceptions,
        Some(true)
    );
}

#[test]
fn fixed_features_take_what_remap_does_and_refuse_the_rest() {
    assert!(wasm(&["memory64", "tail-call=y", "gc=yes", "function-references"]).is_ok());
    assert!(wasm(&["threads", "shared-memory=y", "stack-switching=n"]).is_ok());
    assert!(wasm(&["component-model=false"]).is_ok());
    assert_eq!(
        error(wasm(&["stack-switching=y"])),
        "-W stack-switching=y is not supported: Remap does not implement the stack-switching proposal"
    );
    assert!(error(wasm(&["threads=n"])).contains("always accepts the threads proposal"));
    assert!(error(wasm(&["memory64=n"])).contains("always accepts 64-bit memories"));
    let err = error(settings(
        Command::Run,
        args(&[], &[], &["signals-based-traps=n"], &[]),
    ));
    assert!(err.contains("rely on signal handlers"), "{err}");
}

#[test]
fn keys_apply_to_the_commands_that_use_them() {
    let err = error(settings(
        Command::Compile,
        args(&["max-memory-size=1MiB"], &[], &[], &[]),
    ));
    assert_eq!(
        err,
        "-W max-memory-size does not apply to `remap compile`: it is taken by `remap run`"
    );
    let err = error(settings(Command::Wast, args(&["fuel=10"], &[], &[], &[])));
    assert!(
        err.ends_with("taken by `remap run` and `remap compile`"),
        "{err}"
    );
    let err = error(settings(
        Command::Compile,
        args(&[], &["inherit-env"], &[], &[]),
    ));
    assert!(
        err.contains("-S inherit-env does not apply to `remap compile`"),
        "{err}"
    );
    let compiled = settings(
        Command::Compile,
        args(
            &["fuel=1", "timeout=1s", "simd=n"],
            &[],
            &["memory-may-move=n"],
            &[],
        ),
    )
    .unwrap();
    assert!(compiled.epochs());
    assert!(
        settings(
            Command::Wast,
            args(&["max-wasm-stack=1MiB", "simd"], &[], &[], &[])
        )
        .is_ok()
    );
}

#[test]
fn help_wins_and_lists_every_key_with_its_form() {
    let text = args(&["fuel=abc", "help"], &[], &[], &[]).help().unwrap();
    for key in keys::WASM.keys {
        assert!(
            text.contains(&format!("{}{} -- ", key.name, key.form())),
            "{}: {text}",
            key.name
        );
    }
    assert!(text.contains("fuel=N -- consume fuel"), "{text}");
    assert!(text.contains("[run, compile]"), "{text}");
    assert!(text.contains("async-stack-size"), "{text}");
    let text = args(&[], &[], &[], &["help-long"]).help().unwrap();
    assert!(text.starts_with("-C (--codegen) keys"), "{text}");
}

#[test]
fn the_tables_name_each_key_once() {
    for group in [&keys::WASM, &keys::WASI, &keys::OPTIMIZE, &keys::CODEGEN] {
        let mut names: Vec<&str> = group.keys.iter().map(|key| key.name).collect();
        names.sort_unstable();
        let count = names.len();
        names.dedup();
        assert_eq!(names.len(), count, "-{}", group.flag);
        // A name both taken and refused would never be refused: keys are
        // looked up first (prefix patterns may cover taken keys, such as
        // -O pooling-* and pooling-allocator).
        for refused in group.wasmtime_only {
            for name in refused.names.iter().filter(|name| !name.ends_with('*')) {
                assert!(!names.contains(name), "-{} {name}", group.flag);
            }
        }
    }
}
