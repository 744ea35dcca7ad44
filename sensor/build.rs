//! Builds the kernel programs (`sensor-ebpf`) for the BPF target with aya-build
//! and the nightly toolchain, so `vigil` can embed the object.
//!
//! Where bpf-linker is missing (a machine that only checks or lints the host
//! code), an empty object is written instead and the build goes on: loading
//! then fails with a clear error, as aya's own integration tests do.
use anyhow::{Context as _, anyhow};
use aya_build::Toolchain;
use std::{env, fs, path::PathBuf};

fn main() -> anyhow::Result<()> {
    println!("cargo:rerun-if-changed=../sensor-common/src");
    println!("cargo:rerun-if-env-changed=VIGIL_SKIP_EBPF");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").context("OUT_DIR not set")?);
    let object = out_dir.join("sensor");

    let skip = env::var_os("VIGIL_SKIP_EBPF").is_some_and(|v| v == "1");
    if skip || which::which("bpf-linker").is_err() {
        println!(
            "cargo:warning=bpf-linker not found (or VIGIL_SKIP_EBPF=1): building vigil without its \
             eBPF object; live capture will fail at load time. Run scripts/setup.sh to install it."
        );
        fs::write(&object, []).context("writing the empty eBPF object")?;
        return Ok(());
    }

    let cargo_metadata::Metadata { packages, .. } = cargo_metadata::MetadataCommand::new()
        .no_deps()
        .exec()
        .context("MetadataCommand::exec")?;
    let ebpf = packages
        .into_iter()
        .find(|p| p.name.as_str() == "sensor-ebpf")
        .ok_or_else(|| anyhow!("sensor-ebpf package not found"))?;
    let root_dir = ebpf
        .manifest_path
        .parent()
        .ok_or_else(|| anyhow!("no parent for {}", ebpf.manifest_path))?;
    let package = aya_build::Package {
        name: ebpf.name.as_str(),
        root_dir: root_dir.as_str(),
        ..Default::default()
    };
    aya_build::build_ebpf([package], Toolchain::Nightly)
}
