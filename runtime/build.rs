//! Builds the small C shim that gives the runtime `sigsetjmp`/`siglongjmp`,
//! which Rust cannot call soundly itself (a function that returns twice).

fn main() {
    println!("cargo:rerun-if-changed=src/vm/jump_shim.c");
    cc::Build::new()
        .file("src/vm/jump_shim.c")
        .warnings(true)
        .compile("remap_jump_shim");
}
