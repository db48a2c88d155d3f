//! SHA-256 batches (single and double), Merkle roots, inclusion proofs and hash chains (proof of
//! history): vera (all cores, one thread, the GPU where there is one) against sha2 called
//! directly.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand::{rngs::StdRng, Rng, SeedableRng};
use sha2::{Digest, Sha256};
use vera_benches::engines;
use vera_engine::{HashChain, MerkleScheme, Messages, ProofsBuf};

fn sha256(c: &mut Criterion) {
    let engines = engines();
    let mut rng = StdRng::seed_from_u64(2);
    for n in [64usize, 4096, 65536] {
        // 64-byte messages at a random offset, so buffer alignment luck does not flatter results.
        let skew = rng.gen_range(0..64usize);
        let bytes: Vec<u8> = (0..skew + 64 * n).map(|_| rng.gen()).collect();
        let offsets: Vec<u32> = (0..=n).map(|i| (skew + 64 * i) as u32).collect();
        let msgs = Messages::new(&bytes, &offsets).unwrap();
        let mut g = c.benchmark_group(format!("sha256-64B/size={n}"));
        g.throughput(Throughput::Elements(n as u64));
        for (name, e) in &engines {
            g.bench_function(*name, |b| b.iter(|| e.sha256(msgs).unwrap()));
            g.bench_function(BenchmarkId::new(*name, "double"), |b| {
                b.iter(|| e.sha256d(msgs).unwrap())
            });
        }
        g.bench_function("sha2-digest", |b| {
            b.iter(|| {
                msgs.iter()
                    .map(|m| Sha256::digest(m).into())
                    .collect::<Vec<[u8; 32]>>()
            })
        });
        g.bench_function(BenchmarkId::new("sha2-digest", "double"), |b| {
            b.iter(|| {
                msgs.iter()
                    .map(|m| Sha256::digest(Sha256::digest(m)).into())
                    .collect::<Vec<[u8; 32]>>()
            })
        });
        g.finish();
    }
}

fn merkle(c: &mut Criterion) {
    let engines = engines();
    let mut rng = StdRng::seed_from_u64(3);
    for n in [1024usize, 65536, 1 << 20] {
        let leaves: Vec<[u8; 32]> = (0..n).map(|_| rng.gen()).collect();
        let mut g = c.benchmark_group(format!("merkle/size={n}"));
        g.throughput(Throughput::Elements(n as u64));
        g.sample_size(10);
        for scheme in MerkleScheme::ALL {
            for (name, e) in &engines {
                g.bench_function(BenchmarkId::new(*name, scheme), |b| {
                    b.iter(|| e.merkle_root_from_hashes(scheme, &leaves).unwrap())
                });
            }
        }
        g.bench_function(BenchmarkId::new("sha2-digest", "bitcoin"), |b| {
            b.iter(|| {
                let mut level = leaves.clone();
                while level.len() > 1 {
                    level = level
                        .chunks(2)
                        .map(|p| {
                            let r = p.get(1).unwrap_or(&p[0]);
                            Sha256::digest(
                                Sha256::new().chain_update(p[0]).chain_update(r).finalize(),
                            )
                            .into()
                        })
                        .collect();
                }
                level[0]
            })
        });
        g.finish();
    }
}

/// Inclusion proofs 20 levels deep (full trees of 2^20 leaves), each with its own root.
fn proofs(c: &mut Criterion) {
    let engines = engines();
    let mut rng = StdRng::seed_from_u64(4);
    for n in [64usize, 4096, 65536] {
        let mut g = c.benchmark_group(format!("proofs-20-levels/size={n}"));
        g.throughput(Throughput::Elements(n as u64));
        g.sample_size(10);
        for scheme in MerkleScheme::ALL {
            let mut batch = ProofsBuf::new();
            for _ in 0..n {
                let index = rng.gen_range(0..1u64 << 20);
                let leaf: [u8; 32] = rng.gen();
                let path: Vec<[u8; 32]> = (0..20).map(|_| rng.gen()).collect();
                let root = fold(scheme, &leaf, &path, index);
                batch.push(&leaf, index, 1 << 20, &path, &root).unwrap();
            }
            for (name, e) in &engines {
                g.bench_function(BenchmarkId::new(*name, scheme), |b| {
                    b.iter(|| e.verify_inclusion(scheme, batch.as_proofs()).unwrap())
                });
            }
            let proofs = batch.as_proofs();
            g.bench_function(BenchmarkId::new("sha2-digest", scheme), |b| {
                b.iter(|| {
                    (0..proofs.len())
                        .filter(|&i| {
                            let p = proofs.get(i).unwrap();
                            fold(scheme, p.leaf, p.path, p.index) == *p.root
                        })
                        .count()
                })
            });
        }
        g.finish();
    }
}

/// Solana ticks of 12,500 hashes (its default hashes per tick), entries per batch as the size.
fn poh(c: &mut Criterion) {
    let engines = engines();
    let mut rng = StdRng::seed_from_u64(5);
    for n in [64usize, 1024] {
        let chains: Vec<HashChain> = (0..n)
            .map(|_| HashChain::solana_entry(rng.gen(), 12_500, None))
            .collect();
        let mut g = c.benchmark_group(format!("poh-ticks/size={n}"));
        g.throughput(Throughput::Elements(n as u64));
        g.sample_size(10);
        for (name, e) in &engines {
            g.bench_function(*name, |b| b.iter(|| e.hash_chains(&chains).unwrap()));
        }
        g.bench_function("sha2-digest", |b| {
            b.iter(|| {
                chains
                    .iter()
                    .map(|c| {
                        let mut h = c.start;
                        for _ in 0..c.hashes {
                            h = Sha256::digest(h).into();
                        }
                        h
                    })
                    .collect::<Vec<[u8; 32]>>()
            })
        });
        g.finish();
    }
}

/// A full tree's path folded with sha2's `Digest` API, the sides the index bits.
fn fold(scheme: MerkleScheme, leaf: &[u8; 32], path: &[[u8; 32]], index: u64) -> [u8; 32] {
    let mut h = *leaf;
    for (level, sibling) in path.iter().enumerate() {
        let (l, r) = if (index >> level) & 1 == 1 {
            (sibling, &h)
        } else {
            (&h, sibling)
        };
        h = match scheme {
            MerkleScheme::Rfc6962 => Sha256::new()
                .chain_update([1])
                .chain_update(l)
                .chain_update(r)
                .finalize()
                .into(),
            MerkleScheme::Bitcoin => {
                Sha256::digest(Sha256::new().chain_update(l).chain_update(r).finalize()).into()
            }
        };
    }
    h
}

criterion_group!(benches, sha256, merkle, proofs, poh);
criterion_main!(benches);
