//! Executes the directives of one script against a fresh store.

use crate::legacy_try::unfold_legacy_try;
use crate::patterns::message_matches;
use crate::report::{DirectiveResult, FileReport, Mismatch};
use crate::spectest::define_spectest;
use crate::values::{
    argument_value, describe_expected, describe_list, describe_value, result_matches,
};
use anyhow::{Context, Result, anyhow};
use remap::{Config, Engine, Instance, Linker, Module, Store, ThrownException, Trap, Val};
use std::any::Any;
use std::collections::HashMap;
use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::thread;
use wast::lexer::Lexer;
use wast::parser::{self, ParseBuffer};
use wast::token::Id;
use wast::{QuoteWat, Wast, WastDirective, WastExecute, WastInvoke, WastRet, Wat};

/// Host stack for the thread that runs a script: room for the Wasm stack
/// limit plus the (unoptimised, in tests) host frames around it.
const SCRIPT_THREAD_STACK: usize = 16 << 20;

/// Runs the script at `path` with a new engine built from `config`. Errors
/// are for the file itself (unreadable); everything inside it, including a
/// script that does not parse, is reported per directive.
pub fn run_file(path: &Path, config: &Config) -> Result<FileReport> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("cannot read spec script {}", path.display()))?;
    run_script(
        &path.display().to_string(),
        &text,
        &config_for_script(path, config),
    )
}

/// `config` with the features the script at `path` was written for. The
/// threads proposal's scripts predate multi-memory and reference types
/// (they check that a second memory or table is invalid), so they run with
/// both off, as Wasmtime's spec runner does. The custom descriptors
/// proposal's scripts run with it on; the others with it off, since it
/// relaxes what Wasm 3.0's `br_on_cast` scripts check is invalid.
fn config_for_script(path: &Path, config: &Config) -> Config {
    let mut config = config.clone();
    let components: Vec<_> = path
        .components()
        .map(|component| component.as_os_str())
        .collect();
    let in_proposal = |name: &str| {
        components
            .windows(2)
            .any(|pair| pair[0] == "proposals" && pair[1] == name)
    };
    if in_proposal("threads") {
        config.wasm_multi_memory(false).wasm_reference_types(false);
    }
    if in_proposal("custom-descriptors") {
        config.wasm_custom_descriptors(true);
    }
    config
}

/// Runs script `text` (named `name` in messages) with a new engine built
/// from `config`. A panic inside the runtime fails the directive that caused
/// it instead of unwinding into the caller.
pub fn run_script(name: &str, text: &str, config: &Config) -> Result<FileReport> {
    let engine = Engine::new(config).context("cannot create an engine from the configuration")?;
    thread::scope(|scope| {
        let runner = thread::Builder::new()
            .name(format!("wast {name}"))
            .stack_size(SCRIPT_THREAD_STACK)
            .spawn_scoped(scope, || run_on_this_thread(text, &engine))
            .context("cannot start the thread that runs the script")?;
        runner
            .join()
            .map_err(|payload| anyhow!("the script runner panicked: {}", panic_message(&*payload)))
    })
}

fn run_on_this_thread(text: &str, engine: &Engine) -> FileReport {
    // The legacy exception scripts are written in a folded form the text
    // parser no longer reads; the flat form keeps every line where it was.
    let text = &unfold_legacy_try(text);
    // The suite's scripts use bidirectional and other look-alike characters
    // on purpose (names.wast), so the lexer must not refuse them.
    let mut lexer = Lexer::new(text);
    lexer.allow_confusing_unicode(true);
    let buffer = match ParseBuffer::new_with_lexer(lexer) {
        Ok(buffer) => buffer,
        Err(err) => return unparsable_script(text, err),
    };
    let script = match parser::parse::<Wast>(&buffer) {
        Ok(script) => script,
        Err(err) => return unparsable_script(text, err),
    };
    let mut runner = match ScriptRunner::new(text, engine) {
        Ok(runner) => runner,
        Err(err) => {
            return FileReport {
                results: vec![DirectiveResult {
                    line: 1,
                    directive: "spectest",
                    mismatch: Some(Mismatch {
                        expected: "the spectest host module to be defined".to_owned(),
                        got: format!("{err:#}"),
                    }),
                }],
            };
        }
    };
    for directive in script.directives {
        runner.run_directive(directive);
    }
    FileReport {
        results: runner.results,
    }
}

fn unparsable_script(text: &str, err: wast::Error) -> FileReport {
    let line = err.span().linecol_in(text).0 + 1;
    FileReport {
        results: vec![DirectiveResult {
            line,
            directive: "script",
            mismatch: Some(Mismatch {
                expected: "a script the text parser accepts".to_owned(),
                got: err.message(),
            }),
        }],
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "a non-string panic payload".to_owned()
    }
}

/// The state a script builds up: its store, the names it registered, its
/// named instances and module definitions, and the results so far.
struct ScriptRunner<'text> {
    text: &'text str,
    engine: Engine,
    store: Store<()>,
    linker: Linker<()>,
    current: Option<Instance>,
    instances: HashMap<String, Instance>,
    definitions: HashMap<String, Module>,
    results: Vec<DirectiveResult>,
}

/// How a module turned out when the script asked for it to be compiled.
enum Built {
    /// The text did not parse or encode.
    Unparsable(anyhow::Error),
    /// The bytes did not decode, validate or compile.
    Rejected(anyhow::Error),
    /// Compiled.
    Compiled(Module),
}

impl<'text> ScriptRunner<'text> {
    fn new(text: &'text str, engine: &Engine) -> Result<ScriptRunner<'text>> {
        let mut store = Store::new(engine, ());
        // With epoch checks compiled in, a deadline that never comes: the
        // scripts must pass as they do without them.
        store.set_epoch_deadline(u64::MAX);
        let mut linker = Linker::new(engine);
        linker.allow_shadowing(true);
        define_spectest(&mut linker, &mut store)?;
        Ok(ScriptRunner {
            text,
            engine: engine.clone(),
            store,
            linker,
            current: None,
            instances: HashMap::new(),
            definitions: HashMap::new(),
            results: Vec::new(),
        })
    }

    fn run_directive(&mut self, directive: WastDirective<'_>) {
        let line = directive.span().linecol_in(self.text).0 + 1;
        let name = directive_name(&directive);
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| self.check(directive)))
            .unwrap_or_else(|payload| {
                Err(Mismatch {
                    expected: "no panic".to_owned(),
                    got: format!("the runtime panicked: {}", panic_message(&*payload)),
                })
            });
        self.results.push(DirectiveResult {
            line,
            directive: name,
            mismatch: outcome.err(),
        });
    }

    fn check(&mut self, directive: WastDirective<'_>) -> Result<(), Mismatch> {
        match directive {
            WastDirective::Module(module) => self.check_module(module),
            WastDirective::ModuleDefinition(module) => self.check_definition(module),
            WastDirective::ModuleInstance {
                instance, module, ..
            } => self.check_module_instance(instance, module),
            WastDirective::Register { name, module, .. } => self.check_register(name, module),
            WastDirective::Invoke(invoke) => match self.invoke(&invoke) {
                Ok(_) => Ok(()),
                Err(err) => Err(mismatch("a successful call", error_text(&err))),
            },
            WastDirective::AssertReturn { exec, results, .. } => {
                self.check_assert_return(exec, &results)
            }
            WastDirective::AssertTrap { exec, message, .. } => {
                self.check_assert_trap(exec, message)
            }
            WastDirective::AssertExhaustion { call, message, .. } => {
                let expected = format!("trap \"{message}\"");
                match self.invoke(&call) {
                    Ok(values) => Err(mismatch(expected, self.describe_values(&values))),
                    Err(err) if trap_matches(&err, message) => Ok(()),
                    Err(err) => Err(mismatch(expected, error_text(&err))),
                }
            }
            WastDirective::AssertInvalid {
                module, message, ..
            } => self.check_rejected(module, message, "an invalid module to be rejected"),
            WastDirective::AssertMalformed {
                module, message, ..
            } => self.check_rejected(module, message, "a malformed module to be rejected"),
            WastDirective::AssertUnlinkable {
                module, message, ..
            } => self.check_unlinkable(module, message),
            WastDirective::AssertInvalidCustom { module, .. }
            | WastDirective::AssertMalformedCustom { module, .. } => {
                self.check_custom_section_fault(module)
            }
            WastDirective::AssertException { exec, .. } => self.check_assert_exception(exec),
            WastDirective::AssertSuspension { .. } => unsupported("stack switching"),
            WastDirective::Thread(_) | WastDirective::Wait { .. } => unsupported("threads"),
        }
    }

    fn check_module(&mut self, mut module: QuoteWat<'_>) -> Result<(), Mismatch> {
        let name = module.name().map(|id| id.name().to_owned());
        // Until this module exists, nothing may run against the one before
        // it: the directives that follow a failed module fail too.
        self.current = None;
        if let Some(name) = &name {
            self.instances.remove(name);
        }
        let module = self
            .build(&mut module)
            .map_err(|err| mismatch("the module to compile", format!("{err:#}")))?;
        let instance = self
            .instantiate(&module)
            .map_err(|err| mismatch("the module to instantiate", error_text(&err)))?;
        if let Some(name) = name {
            self.instances.insert(name, instance);
        }
        self.current = Some(instance);
        Ok(())
    }

    fn check_definition(&mut self, mut module: QuoteWat<'_>) -> Result<(), Mismatch> {
        let name = module.name().map(|id| id.name().to_owned());
        let module = self
            .build(&mut module)
            .map_err(|err| mismatch("the module definition to compile", format!("{err:#}")))?;
        if let Some(name) = name {
            self.definitions.insert(name, module);
        }
        Ok(())
    }

    fn check_module_instance(
        &mut self,
        instance: Option<Id<'_>>,
        module: Option<Id<'_>>,
    ) -> Result<(), Mismatch> {
        let definition = module
            .and_then(|id| self.definitions.get(id.name()))
            .cloned()
            .ok_or_else(|| mismatch("a defined module to instantiate", "no such definition"))?;
        let created = self
            .instantiate(&definition)
            .map_err(|err| mismatch("the module to instantiate", error_text(&err)))?;
        if let Some(id) = instance {
            self.instances.insert(id.name().to_owned(), created);
        }
        self.current = Some(created);
        Ok(())
    }

    fn check_register(&mut self, name: &str, module: Option<Id<'_>>) -> Result<(), Mismatch> {
        let instance = self
            .instance_named(module)
            .map_err(|err| mismatch("an instance to register", format!("{err:#}")))?;
        self.linker
            .instance(&mut self.store, name, instance)
            .map(|_| ())
            .map_err(|err| mismatch("the instance to register", format!("{err:#}")))
    }

    fn check_assert_return(
        &mut self,
        exec: WastExecute<'_>,
        results: &[WastRet<'_>],
    ) -> Result<(), Mismatch> {
        let mut expected = Vec::with_capacity(results.len());
        for result in results {
            match result {
                WastRet::Core(core) => expected.push(core),
                _ => return unsupported("component-model results"),
            }
        }
        let described = describe_list(expected.iter().map(|core| describe_expected(core)));
        let values = self
            .execute(exec)
            .map_err(|err| mismatch(described.clone(), error_text(&err)))?;
        let all_match = values.len() == expected.len()
            && expected
                .iter()
                .zip(&values)
                .all(|(pattern, value)| result_matches(&self.store, pattern, value));
        if all_match {
            Ok(())
        } else {
            Err(mismatch(described, self.describe_values(&values)))
        }
    }

    fn check_assert_trap(&mut self, exec: WastExecute<'_>, message: &str) -> Result<(), Mismatch> {
        let instantiates = matches!(exec, WastExecute::Wat(_));
        let expected = format!("trap \"{message}\"");
        match self.execute(exec) {
            Ok(values) => Err(mismatch(expected, self.describe_values(&values))),
            Err(err) if trap_matches(&err, message) => Ok(()),
            // A trap while running a start function or initialising segments
            // may reach us as an instantiation error that carries the message.
            Err(err) if instantiates && err_chain_matches(&err, message) => Ok(()),
            Err(err) => Err(mismatch(expected, error_text(&err))),
        }
    }

    /// `assert_exception`: the call must end with an exception no Wasm
    /// handler caught.
    fn check_assert_exception(&mut self, exec: WastExecute<'_>) -> Result<(), Mismatch> {
        let expected = "an uncaught exception";
        match self.execute(exec) {
            Ok(values) => Err(mismatch(expected, self.describe_values(&values))),
            Err(err) if err.is::<ThrownException>() => Ok(()),
            Err(err) => Err(mismatch(expected, error_text(&err))),
        }
    }

    /// `assert_invalid` and `assert_malformed`: the module must be rejected,
    /// by the text parser (malformed text) or by the runtime. Only that it is
    /// rejected is checked: engines word validation errors differently.
    fn check_rejected(
        &mut self,
        mut module: QuoteWat<'_>,
        message: &str,
        expected: &str,
    ) -> Result<(), Mismatch> {
        match self.try_build(&mut module) {
            Built::Unparsable(_) | Built::Rejected(_) => Ok(()),
            Built::Compiled(_) => Err(mismatch(
                format!("{expected} (\"{message}\")"),
                "the module compiled",
            )),
        }
    }

    /// `assert_malformed_custom` and `assert_invalid_custom`: the fault lies
    /// in a custom section (or its text annotation). The text parser may
    /// reject the annotation; a runtime must not reject the module, because
    /// errors in custom sections never make a module malformed or invalid.
    fn check_custom_section_fault(&mut self, mut module: QuoteWat<'_>) -> Result<(), Mismatch> {
        match self.try_build(&mut module) {
            Built::Unparsable(_) | Built::Compiled(_) => Ok(()),
            Built::Rejected(err) => Err(mismatch(
                "the module to compile (custom-section faults never reject a module)",
                format!("{err:#}"),
            )),
        }
    }

    fn check_unlinkable(&mut self, mut module: Wat<'_>, message: &str) -> Result<(), Mismatch> {
        let expected = format!("a link error \"{message}\"");
        let bytes = module
            .encode()
            .map_err(|err| mismatch(expected.clone(), format!("text error: {err}")))?;
        let module = Module::new(&self.engine, bytes)
            .map_err(|err| mismatch(expected.clone(), format!("compile error: {err:#}")))?;
        match self.instantiate(&module) {
            Ok(_) => Err(mismatch(expected, "the module instantiated")),
            Err(err) if err_chain_matches(&err, message) => Ok(()),
            Err(err) => Err(mismatch(expected, error_text(&err))),
        }
    }

    fn execute(&mut self, exec: WastExecute<'_>) -> Result<Vec<Val>> {
        match exec {
            WastExecute::Invoke(invoke) => self.invoke(&invoke),
            WastExecute::Wat(mut module) => {
                let bytes = module.encode().context("the module text does not encode")?;
                let module = Module::new(&self.engine, bytes)?;
                self.instantiate(&module)?;
                Ok(Vec::new())
            }
            WastExecute::Get { module, global, .. } => {
                let instance = self.instance_named(module)?;
                let found = instance
                    .get_global(&mut self.store, global)
                    .with_context(|| format!("no global export named `{global}`"))?;
                Ok(vec![found.get(&mut self.store)])
            }
        }
    }

    fn invoke(&mut self, invoke: &WastInvoke<'_>) -> Result<Vec<Val>> {
        let instance = self.instance_named(invoke.module)?;
        let func = instance
            .get_func(&mut self.store, invoke.name)
            .with_context(|| format!("no function export named `{}`", invoke.name))?;
        let params = invoke
            .args
            .iter()
            .map(|arg| argument_value(&mut self.store, arg))
            .collect::<Result<Vec<_>>>()?;
        let ty = func.ty(&self.store);
        let mut results: Vec<Val> = ty.results().iter().copied().map(Val::default_for).collect();
        func.call(&mut self.store, &params, &mut results)?;
        Ok(results)
    }

    fn instance_named(&self, id: Option<Id<'_>>) -> Result<Instance> {
        match id {
            Some(id) => self
                .instances
                .get(id.name())
                .copied()
                .with_context(|| format!("no module instance named `${}`", id.name())),
            None => self.current.context("no module has been instantiated yet"),
        }
    }

    fn instantiate(&mut self, module: &Module) -> Result<Instance> {
        self.linker.instantiate(&mut self.store, module)
    }

    /// Compiles a module the script requires to be valid.
    fn build(&self, module: &mut QuoteWat<'_>) -> Result<Module> {
        match self.try_build(module) {
            Built::Compiled(module) => Ok(module),
            Built::Unparsable(err) => Err(err.context("the module text does not parse")),
            Built::Rejected(err) => Err(err),
        }
    }

    fn try_build(&self, module: &mut QuoteWat<'_>) -> Built {
        let bytes = match module.encode() {
            Ok(bytes) => bytes,
            Err(err) => return Built::Unparsable(err.into()),
        };
        match Module::new(&self.engine, bytes) {
            Ok(module) => Built::Compiled(module),
            Err(err) => Built::Rejected(err),
        }
    }

    fn describe_values(&self, values: &[Val]) -> String {
        describe_list(
            values
                .iter()
                .map(|value| describe_value(&self.store, value)),
        )
    }
}

fn directive_name(directive: &WastDirective<'_>) -> &'static str {
    match directive {
        WastDirective::Module(_) => "module",
        WastDirective::ModuleDefinition(_) => "module definition",
        WastDirective::ModuleInstance { .. } => "module instance",
        WastDirective::Register { .. } => "register",
        WastDirective::Invoke(_) => "invoke",
        WastDirective::AssertReturn { .. } => "assert_return",
        WastDirective::AssertTrap {
            exec: WastExecute::Wat(_),
            ..
        } => "assert_uninstantiable",
        WastDirective::AssertTrap { .. } => "assert_trap",
        WastDirective::AssertExhaustion { .. } => "assert_exhaustion",
        WastDirective::AssertInvalid { .. } => "assert_invalid",
        WastDirective::AssertMalformed { .. } => "assert_malformed",
        WastDirective::AssertUnlinkable { .. } => "assert_unlinkable",
        WastDirective::AssertInvalidCustom { .. } => "assert_invalid_custom",
        WastDirective::AssertMalformedCustom { .. } => "assert_malformed_custom",
        WastDirective::AssertException { .. } => "assert_exception",
        WastDirective::AssertSuspension { .. } => "assert_suspension",
        WastDirective::Thread(_) => "thread",
        WastDirective::Wait { .. } => "wait",
    }
}

fn mismatch(expected: impl Into<String>, got: impl Into<String>) -> Mismatch {
    Mismatch {
        expected: expected.into(),
        got: got.into(),
    }
}

fn unsupported(feature: &str) -> Result<(), Mismatch> {
    Err(mismatch(
        format!("support for {feature}"),
        "not supported by Remap's spec driver",
    ))
}

/// Whether `err` is a Wasm trap whose message is the expected one.
fn trap_matches(err: &anyhow::Error, expected: &str) -> bool {
    err.downcast_ref::<Trap>()
        .is_some_and(|trap| message_matches(trap.kind().message(), expected))
}

/// Whether any error in the chain carries the expected message.
fn err_chain_matches(err: &anyhow::Error, expected: &str) -> bool {
    trap_matches(err, expected)
        || err
            .chain()
            .any(|cause| cause.to_string().contains(expected))
}

/// An error on one line: the trap kind for traps, the whole chain otherwise.
fn error_text(err: &anyhow::Error) -> String {
    match err.downcast_ref::<Trap>() {
        Some(trap) => format!("trap \"{}\"", trap.kind().message()),
        None => format!("error: {err:#}"),
    }
}
