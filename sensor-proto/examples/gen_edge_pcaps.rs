//! Writes the edge-case regression captures into `pcaps/` (from the
//! workspace root): `cargo run -p sensor-proto --example gen_edge_pcaps`.

#[allow(dead_code)]
#[path = "../tests/common/edge.rs"]
mod edge;

fn main() -> std::io::Result<()> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../pcaps");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("http-edge-cases.pcap");
    std::fs::write(&path, edge::http_edge_cases_pcap())?;
    eprintln!("wrote {}", path.display());
    Ok(())
}
