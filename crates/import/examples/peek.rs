//! Prints communities, streets, compounds and facility kinds of a file (debugging aid).
use gridmap_import::{import_file, ImportOptions, NoProgress};
use std::collections::BTreeMap;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: peek FILE")?;
    let (ds, _) = import_file(
        std::path::Path::new(&path),
        &ImportOptions::default(),
        &NoProgress,
    )?;
    for c in &ds.communities {
        let n = ds
            .buildings
            .iter()
            .filter(|b| b.community.as_ref() == Some(&c.id))
            .count();
        println!(
            "community {} {} street={:?} buildings={n}",
            c.id, c.name, c.street
        );
    }
    for s in &ds.streets {
        println!("street {} {}", s.id, s.name);
    }
    for c in &ds.compounds {
        let n = ds
            .buildings
            .iter()
            .filter(|b| b.compound.as_ref() == Some(&c.id))
            .count();
        println!(
            "compound {} {:?} {:?} community={:?} buildings={n}",
            c.id, c.name, c.kind, c.community
        );
    }
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for f in &ds.facilities {
        *kinds.entry(f.kind.to_string()).or_default() += 1;
    }
    println!("facilities {kinds:?}");
    println!(
        "entrances {}",
        ds.buildings.iter().filter(|b| b.entrance.is_some()).count()
    );
    Ok(())
}
