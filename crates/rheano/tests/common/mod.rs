//! Helpers shared by the integration tests.

use std::collections::HashSet;

/// The distinct node ids (`[id X]`) of the debugprint lines that mention `needle`: how many
/// nodes of that kind the compiled graph has, however often each is printed.
pub fn node_ids<'a>(debugprint: &'a str, needle: &str) -> HashSet<&'a str> {
    debugprint
        .lines()
        .filter(|l| l.contains(needle))
        .map(|l| {
            l.split("[id ")
                .nth(1)
                .and_then(|r| r.split(']').next())
                .unwrap_or("")
        })
        .collect()
}
