//! Benchmarks of the cryptography every request pays for:
//! `cargo bench -p protocol --bench crypto`.

use criterion::{BenchmarkId, Criterion, Throughput, black_box, criterion_group, criterion_main};
use protocol::credential::{sign_credential, verify_credential_signatures};
use protocol::identity::{Ed25519SigningKey, SigningKey, recover_eip191};
use protocol::kdf::{KdfVersion, derive_user_key};
use protocol::nacl_box::{EncryptionSecretKey, decrypt, encrypt};

fn kdf(c: &mut Criterion) {
    let mut group = c.benchmark_group("kdf");
    group.sample_size(20);
    group.bench_function("scrypt N=2^14 r=8 p=1 (idOS 0.1)", |b| {
        b.iter(|| {
            derive_user_key(
                black_box("correct horse battery staple"),
                "9f51b3b2-4cbe-4c2b-8ea3-0b0c1b2f1a11",
                KdfVersion::IdosScryptV0_1,
            )
            .unwrap()
        })
    });
    group.finish();
}

fn nacl_box(c: &mut Criterion) {
    let recipient = EncryptionSecretKey::generate();
    let public = recipient.public_key();
    let mut group = c.benchmark_group("box");
    for size in [1024usize, 64 * 1024] {
        let plaintext = vec![0x5au8; size];
        let sealed = encrypt(&plaintext, &public).unwrap();
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("seal", size), &plaintext, |b, p| {
            b.iter(|| encrypt(black_box(p), &public).unwrap())
        });
        group.bench_with_input(BenchmarkId::new("open", size), &sealed, |b, s| {
            b.iter(|| decrypt(black_box(&s.content), &s.encryptor_public_key, &recipient).unwrap())
        });
    }
    group.finish();
}

fn signatures(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify");
    let issuer = Ed25519SigningKey::generate();
    let notes = r#"{"id":"6879d59d-4862-440b-a3f5-a0e14fbc4b94","level":"basic+liveness","status":"approved"}"#;
    let content = vec![7u8; 1024 + 40];
    let sigs = sign_credential(&issuer, notes, &content);
    let pk = issuer.public_key();
    group.bench_function("credential signatures (2x ed25519, 1 KiB content)", |b| {
        b.iter(|| verify_credential_signatures(&pk, black_box(notes), &content, &sigs).unwrap())
    });

    let ed = SigningKey::generate_ed25519();
    let message = vec![1u8; 300];
    let ed_sig = ed.sign(&message);
    let ed_id = ed.identity();
    group.bench_function("ed25519 (300 B message)", |b| {
        b.iter(|| ed_id.verify("s", black_box(&message), &ed_sig).unwrap())
    });

    let evm = SigningKey::generate_evm();
    let evm_sig = evm.sign(&message);
    group.bench_function("eip-191 recover (300 B message)", |b| {
        b.iter(|| recover_eip191(black_box(&message), &evm_sig).unwrap())
    });

    // The wallet schemes, each as `Identity::verify` checks a transaction's signature: a NEAR
    // blob (parse, message, recipient, SHA-256, Ed25519); an XRPL key and signature (address
    // check, then secp256k1 over SHA-512Half or Ed25519); Stellar SEP-53 (one Ed25519 check)
    // and raw (SEP-53 tried first and refused, then raw: two checks).
    use protocol::identity::SignatureScheme;
    let wallet = |scheme, hex: String| SigningKey::from_hex(scheme, &hex).unwrap();
    let stellar = wallet(SignatureScheme::Stellar, "14".repeat(32));
    let SigningKey::Stellar(stellar_seed) = &stellar else {
        unreachable!()
    };
    let stellar_raw = stellar_seed.sign(&message).as_bytes().to_vec();
    for (name, key, signature) in [
        (
            "near nep-413 blob",
            wallet(SignatureScheme::Nep413, "11".repeat(32)),
            None,
        ),
        (
            "xrpl secp256k1",
            wallet(SignatureScheme::Xrpl, format!("00{}", "12".repeat(32))),
            None,
        ),
        (
            "xrpl ed25519",
            wallet(SignatureScheme::Xrpl, format!("ED{}", "13".repeat(32))),
            None,
        ),
        ("stellar sep-53", stellar.clone(), None),
        ("stellar raw", stellar.clone(), Some(stellar_raw.clone())),
    ] {
        let signature = signature.unwrap_or_else(|| key.sign(&message));
        let identity = key.identity();
        identity.verify("s", &message, &signature).unwrap();
        group.bench_function(format!("{name} (300 B message)"), |b| {
            b.iter(|| {
                identity
                    .verify("s", black_box(&message), &signature)
                    .unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, kdf, nacl_box, signatures);
criterion_main!(benches);
