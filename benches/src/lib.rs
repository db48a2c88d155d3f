//! Criterion benchmarks for vera: each group puts vera's backends beside the reference crates
//! called directly, on the same inputs. Run with `cargo bench -p vera-benches`.
//! `vera bench` gives the same comparison as a table without criterion's statistics.
