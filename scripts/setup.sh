#!/usr/bin/env bash
# One idempotent setup step for a fresh Debian 12 machine: everything Vigil
# needs to build (host crates and the eBPF program) and to run its tests.
# Safe to run again: each step checks before it acts.
set -euo pipefail

BPF_LINKER_VERSION=0.13.0
LLVM_MAJOR=22
NIGHTLY=nightly

log() { printf '\033[1msetup:\033[0m %s\n' "$*" >&2; }

need_root() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup: must run as root (installs Debian packages)" >&2
        exit 1
    fi
}

# --- Debian packages -------------------------------------------------------
# llvm/polly: bpf-linker links against them.  iproute2: the lab (ip netns,
# veth, tc).  tcpdump/tcpreplay: recording and injecting test traffic.
# rsyslog: the real syslog receiver of the output tests.  curl/python3: lab
# clients and servers.  pkg-config/libssl: crates that probe for them.
APT_PACKAGES=(
    "llvm-${LLVM_MAJOR}-dev" "libpolly-${LLVM_MAJOR}-dev" libzstd-dev zlib1g-dev
    build-essential pkg-config iproute2 iputils-ping ethtool tcpdump tcpreplay
    rsyslog curl python3 procps kmod
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    need_root
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    log "Debian packages present"
fi
# The rsyslog package starts a system daemon; tests run their own instances.
if command -v systemctl >/dev/null 2>&1; then systemctl disable --now rsyslog >/dev/null 2>&1 || true; fi

# --- Rust toolchains -------------------------------------------------------
export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v rustup >/dev/null 2>&1; then
    echo "setup: rustup not found; this machine kind ships it" >&2
    exit 1
fi
# Never update the nightly: a newer one brings an LLVM this bpf-linker cannot link.
if ! rustup toolchain list | grep -q "^${NIGHTLY}"; then
    echo "setup: the '${NIGHTLY}' toolchain is missing; the eBPF crate needs it" >&2
    exit 1
fi
if ! rustup component list --installed --toolchain "$NIGHTLY" | grep -q '^rust-src'; then
    log "adding rust-src to $NIGHTLY"
    rustup component add rust-src --toolchain "$NIGHTLY"
else
    log "rust-src present for $NIGHTLY"
fi

# --- bpf-linker built against Debian's LLVM --------------------------------
have=$(bpf-linker --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$BPF_LINKER_VERSION" ]; then
    log "building bpf-linker $BPF_LINKER_VERSION against LLVM $LLVM_MAJOR (about 2 minutes)"
    LLVM_PREFIX="/usr/lib/llvm-${LLVM_MAJOR}" cargo install bpf-linker \
        --version "$BPF_LINKER_VERSION" --locked --no-default-features --features "llvm-${LLVM_MAJOR}"
else
    log "bpf-linker $BPF_LINKER_VERSION present"
fi
# --- cargo-fuzz: the parsers' fuzz targets run for a bounded time in CI ------
if ! cargo fuzz --version >/dev/null 2>&1; then
    log "installing cargo-fuzz"
    cargo install cargo-fuzz --version 0.13.2 --locked
else
    log "cargo-fuzz present"
fi
log "done"
