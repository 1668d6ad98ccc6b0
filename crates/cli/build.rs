//! Pins the embedded Python: the binary loads the libpython they were built
//! against, not whichever one the system's loader cache finds first (Debian's, for instance,
//! whose site-packages would then be the ones rules can import).

fn main() {
    let config = pyo3_build_config::get();
    if let Some(dir) = config.lib_dir() {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
