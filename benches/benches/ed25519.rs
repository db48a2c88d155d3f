//! Ed25519 verification: vera (all cores, one thread, the GPU where there is one) against the
//! reference crates on one core.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ed25519_dalek::{Signer, SigningKey, Verifier};
use rand::{rngs::StdRng, Rng, SeedableRng};
use vera_engine::{Rule, SignatureBatchBuf};

fn bench(c: &mut Criterion) {
    let engines = vera_benches::engines();
    let mut rng = StdRng::seed_from_u64(1);
    for n in [64usize, 1024] {
        let keys: Vec<SigningKey> = (0..n).map(|_| SigningKey::from_bytes(&rng.gen())).collect();
        let msgs: Vec<[u8; 32]> = (0..n).map(|_| rng.gen()).collect();
        let sigs: Vec<_> = keys.iter().zip(&msgs).map(|(k, m)| k.sign(m)).collect();
        let pks: Vec<[u8; 32]> = keys.iter().map(|k| k.verifying_key().to_bytes()).collect();
        let mut buf = SignatureBatchBuf::new();
        for ((pk, m), s) in pks.iter().zip(&msgs).zip(&sigs) {
            buf.push(pk, m, &s.to_bytes()).unwrap();
        }
        let batch = buf.as_batch();
        let mut g = c.benchmark_group(format!("ed25519/size={n}"));
        g.throughput(Throughput::Elements(n as u64));
        g.sample_size(10);
        for rule in Rule::ALL {
            for (name, e) in &engines {
                g.bench_function(BenchmarkId::new(*name, rule), |b| {
                    b.iter(|| e.verify(rule, batch).unwrap())
                });
            }
        }
        g.bench_function("dalek-verify_strict", |b| {
            b.iter(|| {
                for ((pk, m), s) in pks.iter().zip(&msgs).zip(&sigs) {
                    let vk = ed25519_dalek::VerifyingKey::from_bytes(pk).unwrap();
                    vk.verify_strict(m, s).unwrap();
                }
            })
        });
        g.bench_function("dalek-verify", |b| {
            b.iter(|| {
                for ((pk, m), s) in pks.iter().zip(&msgs).zip(&sigs) {
                    let vk = ed25519_dalek::VerifyingKey::from_bytes(pk).unwrap();
                    vk.verify(m, s).unwrap();
                }
            })
        });
        g.bench_function("dalek-verify_batch-not-exact", |b| {
            b.iter(|| {
                let vks: Vec<_> = pks
                    .iter()
                    .map(|pk| ed25519_dalek::VerifyingKey::from_bytes(pk).unwrap())
                    .collect();
                let m: Vec<&[u8]> = msgs.iter().map(|m| &m[..]).collect();
                ed25519_dalek::verify_batch(&m, &sigs, &vks).unwrap();
            })
        });
        g.bench_function("consensus-batch", |b| {
            b.iter(|| {
                let mut v = ed25519_consensus::batch::Verifier::new();
                for ((pk, m), s) in pks.iter().zip(&msgs).zip(&sigs) {
                    v.queue((
                        ed25519_consensus::VerificationKeyBytes::from(*pk),
                        ed25519_consensus::Signature::from(s.to_bytes()),
                        &m[..],
                    ));
                }
                v.verify(rand::thread_rng()).unwrap();
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
