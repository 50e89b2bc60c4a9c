//! Flips random bytes of a PBF and checks the reader returns instead of panicking:
//! `cargo run -p gridmap-import --release --example fuzz_pbf -- FILE.osm.pbf [ROUNDS]`.
use gridmap_import::{read_osm_pbf, ImportOptions, NoProgress};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args.first().ok_or("usage: fuzz_pbf FILE [ROUNDS]")?;
    let rounds: u32 = args.get(1).map_or(Ok(200), |s| s.parse())?;
    let bytes = std::fs::read(path)?;
    let dir = std::env::temp_dir().join(format!("fuzz_pbf_{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let out = dir.join("f.osm.pbf");
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let (mut ok, mut err, mut panics) = (0, 0, 0);
    for _ in 0..rounds {
        let mut b = bytes.clone();
        for _ in 0..=(next() % 8) {
            let i = (next() % b.len() as u64) as usize;
            b[i] = (next() & 0xFF) as u8;
        }
        std::fs::write(&out, &b)?;
        let r = std::panic::catch_unwind(|| {
            read_osm_pbf(&out, &ImportOptions::default(), &NoProgress).map(|_| ())
        });
        match r {
            Ok(Ok(())) => ok += 1,
            Ok(Err(_)) => err += 1,
            Err(_) => panics += 1,
        }
    }
    std::fs::remove_dir_all(&dir)?;
    println!("ok {ok}, error {err}, panic {panics}");
    Ok(())
}
