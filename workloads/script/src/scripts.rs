//! The scripts shipped with the workload and the inputs each is evaluated on: deterministic per index,
//! so every operation of a repeat gets different input and a known output.

use serde_json::{Value, json};

/// A shipped script: its name (the `script` parameter), source, and input for operation `i`.
#[derive(Debug)]
pub struct Shipped {
    pub name: &'static str,
    pub source: &'static str,
    pub input: fn(u64) -> Value,
}

/// Every shipped script.
pub const SHIPPED: [Shipped; 3] = [
    Shipped {
        name: "transform",
        source: include_str!("../scripts/transform.js"),
        input: transform_input,
    },
    Shipped {
        name: "pricing",
        source: include_str!("../scripts/pricing.js"),
        input: pricing_input,
    },
    Shipped {
        name: "template",
        source: include_str!("../scripts/template.js"),
        input: template_input,
    },
];

/// The shipped script named `name`.
pub fn shipped(name: &str) -> Option<&'static Shipped> {
    SHIPPED.iter().find(|s| s.name == name)
}

/// A small deterministic mixer (splitmix64): input `i`'s `k`-th pseudo-random number.
fn mix(i: u64, k: u64) -> u64 {
    let mut z = i
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(k.wrapping_mul(0xBF58_476D_1CE4_E5B9));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn pick<'a>(i: u64, k: u64, of: &[&'a str]) -> &'a str {
    of[(mix(i, k) % of.len() as u64) as usize]
}

/// A cart: 1 to 8 items, a customer tier and region, maybe a coupon.
pub fn pricing_input(i: u64) -> Value {
    let items: Vec<Value> = (0..1 + mix(i, 1) % 8)
        .map(|n| {
            json!({
                "sku": format!("SKU-{}", mix(i, 10 + n) % 10_000),
                "qty": 1 + mix(i, 20 + n) % 12,
                "price_cents": 99 + mix(i, 30 + n) % 5_000,
            })
        })
        .collect();
    json!({
        "order_id": i,
        "customer": {
            "tier": pick(i, 2, &["gold", "silver", "bronze", "none"]),
            "region": pick(i, 3, &["eu", "us", "uk", "other"]),
        },
        "coupon": pick(i, 4, &["", "TENOFF", "FREESHIP"]),
        "items": items,
    })
}

/// A request payload: a user, tags with duplicates and mixed case, 0 to 11 timed events.
pub fn transform_input(i: u64) -> Value {
    let kinds = ["click", "view", "debug", "purchase"];
    let events: Vec<Value> = (0..mix(i, 1) % 12)
        .map(|n| {
            json!({
                "kind": pick(i, 10 + n, &kinds),
                "ts": 1_700_000_000 + mix(i, 20 + n) % 1_000_000,
                "duration_ms": mix(i, 30 + n) % 900,
            })
        })
        .collect();
    let tags: Vec<&str> = (0..mix(i, 2) % 6)
        .map(|n| pick(i, 40 + n, &["Rust", "rust", "ASYNC", "io", "Io", "bench"]))
        .collect();
    json!({
        "user": {
            "id": i,
            "first": pick(i, 3, &["Ada", "Grace", "Edsger", " Barbara"]),
            "last": pick(i, 4, &["Lovelace", "Hopper", "Dijkstra", "Liskov "]),
            "email": format!("  User{}@Example.{} ", i, pick(i, 5, &["com", "org", "x"])),
        },
        "tags": tags,
        "events": events,
    })
}

/// A to-do list with characters that need escaping, 0 to 9 items.
pub fn template_input(i: u64) -> Value {
    let items: Vec<Value> = (0..mix(i, 1) % 10)
        .map(|n| {
            json!({
                "title": format!("{} #{}", pick(i, 10 + n, &["Write <docs>", "Fix \"quotes\"", "Ship & tell", "Review Bob's PR"]), n),
                "done": mix(i, 20 + n).is_multiple_of(2),
            })
        })
        .collect();
    json!({ "name": pick(i, 2, &["<Ada>", "Grace & co", "O'Hara"]), "items": items })
}
