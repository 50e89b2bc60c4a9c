//! Rebuild the server when the embedded web app (web/dist) changes: `include_dir!` cannot tell
//! cargo about the files it reads on stable Rust.
fn main() {
    println!("cargo:rerun-if-changed=../../web/dist");
}
