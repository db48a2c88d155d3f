use vera_engine::*;
fn main() {
    let t = std::time::Instant::now();
    let gpu = Engine::builder()
        .backend(BackendChoice::Gpu)
        .build()
        .unwrap();
    println!(
        "gpu: {:?} setup {:?} total {:?}",
        gpu.gpu_backend().unwrap().adapter().name,
        gpu.gpu_backend().unwrap().setup_time(),
        t.elapsed()
    );
    let cpu = Engine::cpu();
    let msgs: Vec<Vec<u8>> = (0..300)
        .map(|i| (0..i).map(|j| (j * 7 + i) as u8).collect())
        .collect();
    let buf = MessageBuf::from_slices(&msgs).unwrap();
    let a = gpu.sha256(buf.as_messages()).unwrap();
    let b = cpu.sha256(buf.as_messages()).unwrap();
    println!("sha256 equal: {}", a == b);
    for n in [1usize, 2, 3, 255, 256, 257, 1000, 65537] {
        let leaves: Vec<[u8; 32]> = (0..n)
            .map(|i| {
                let mut x = [0u8; 32];
                x[..8].copy_from_slice(&(i as u64).to_le_bytes());
                x
            })
            .collect();
        for s in MerkleScheme::ALL {
            let g = gpu.merkle_root_from_hashes(s, &leaves).unwrap();
            let c = cpu.merkle_root_from_hashes(s, &leaves).unwrap();
            let data = MessageBuf::from_slices(&leaves).unwrap();
            let g2 = gpu.merkle_root(s, data.as_messages()).unwrap();
            let c2 = cpu.merkle_root(s, data.as_messages()).unwrap();
            println!("n={n} {s}: {} {}", g == c, g2 == c2);
        }
    }
}
