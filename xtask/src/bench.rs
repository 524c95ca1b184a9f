pub fn run(_s: &[u64], _w: Option<std::path::PathBuf>, _r: usize) -> Result<(), String> { Err("todo".into()) }
