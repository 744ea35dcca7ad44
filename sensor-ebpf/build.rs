//! Rebuild the kernel programs when bpf-linker changes (a new LLVM changes the
//! object), as aya's template does.
use which::which;

fn main() {
    if let Ok(linker) = which("bpf-linker") {
        println!("cargo:rerun-if-changed={}", linker.display());
    }
}
