//! Output for people (aligned key/value tables) and for scripts (`--json`: one JSON object on the
//! last line of stdout).
use serde::Serialize;

/// Prints `value` as one JSON line when `json`, else as an indented key/value listing.
pub fn emit<T: Serialize>(json: bool, title: &str, value: &T) {
    let v = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
    if json {
        println!("{}", serde_json::to_string(&v).unwrap_or_default());
        return;
    }
    println!("{title}");
    print_value(&v, 1);
}

fn print_value(v: &serde_json::Value, depth: usize) {
    let pad = "  ".repeat(depth);
    match v {
        serde_json::Value::Object(m) => {
            let w = m.keys().map(|k| k.chars().count()).max().unwrap_or(0);
            for (k, x) in m {
                match x {
                    serde_json::Value::Object(_) => {
                        println!("{pad}{k}:");
                        print_value(x, depth + 1);
                    }
                    serde_json::Value::Array(a) if a.iter().any(serde_json::Value::is_object) => {
                        println!("{pad}{k}: ({} items)", a.len());
                        for (i, e) in a.iter().take(20).enumerate() {
                            println!("{pad}  [{i}]");
                            print_value(e, depth + 2);
                        }
                        if a.len() > 20 {
                            println!("{pad}  … {} more (use --json for all)", a.len() - 20);
                        }
                    }
                    _ => println!("{pad}{k:<w$}  {}", scalar(x)),
                }
            }
        }
        other => println!("{pad}{}", scalar(other)),
    }
}

fn scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "-".into(),
        serde_json::Value::Array(a) => a.iter().map(scalar).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}
