//! The `idos` binary as a process: key and crypto subcommands against the idOS vectors.

use assert_cmd::Command;
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Vectors {
    kdf: Vec<Kdf>,
    #[serde(rename = "box")]
    boxes: Vec<BoxVector>,
}
#[derive(Deserialize)]
struct Kdf {
    password: String,
    user_id: String,
    secret_key: String,
    public_key: String,
}
#[derive(Deserialize)]
struct BoxVector {
    recipient_secret_key: String,
    recipient_public_key: String,
    encryptor_public_key: String,
    content: String,
    plaintext: String,
}

fn vectors() -> Vectors {
    serde_json::from_str(include_str!(
        "../../protocol/tests/vectors/idos-compat.json"
    ))
    .unwrap()
}

fn idos() -> Command {
    Command::cargo_bin("idos").unwrap()
}

/// Runs and expects the documented failure: exit status 1 (2 is for usage errors) and exactly
/// one line on stderr, naming the problem.
fn fails_with(cmd: &mut Command, needle: &str) {
    let out = cmd.assert().code(1).get_output().clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr.lines().count(),
        1,
        "one line expected, got {stderr:?}"
    );
    assert!(stderr.starts_with("error: "), "{stderr:?}");
    assert!(
        stderr.contains(needle),
        "{stderr:?} should mention {needle:?}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr:?}"
    );
    assert!(out.stdout.is_empty(), "nothing on stdout on failure");
}

fn json_of(out: &[u8]) -> Value {
    let text = std::str::from_utf8(out).unwrap();
    assert_eq!(text.lines().count(), 1, "exactly one JSON object: {text:?}");
    serde_json::from_str(text).unwrap()
}

#[test]
fn derive_key_reproduces_every_vector_as_json() {
    for v in vectors().kdf {
        let out = idos()
            .args(["crypto", "derive-key", "--user-id", &v.user_id, "--json"])
            .write_stdin(format!("{}\n", v.password))
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let json = json_of(&out);
        assert_eq!(
            json,
            serde_json::json!({"public_key": v.public_key, "secret_key": v.secret_key})
        );
    }
}

#[test]
fn derive_key_prints_lines_and_accepts_input_without_newline_or_with_crlf() {
    let v = &vectors().kdf[0];
    for stdin in [
        v.password.clone(),
        format!("{}\r\n", v.password),
        format!("{}\nignored second line", v.password),
    ] {
        idos()
            .args(["crypto", "derive-key", "--user-id", &v.user_id])
            .write_stdin(stdin)
            .assert()
            .success()
            .stdout(format!(
                "public_key: {}\nsecret_key: {}\n",
                v.public_key, v.secret_key
            ));
    }
}

#[test]
fn decrypt_reproduces_every_vector_plaintext_exactly() {
    for v in vectors().boxes {
        // Content as a flag (small ones) and from stdin (all, including the 70 KB one).
        if v.content.len() < 4096 {
            idos()
                .env("IDOS_SECRET_KEY", &v.recipient_secret_key)
                .args(["crypto", "decrypt"])
                .args([
                    "--encryptor-public-key",
                    &v.encryptor_public_key,
                    "--content",
                    &v.content,
                ])
                .assert()
                .success()
                .stdout(v.plaintext.clone());
        }
        idos()
            .env("IDOS_SECRET_KEY", &v.recipient_secret_key)
            .args(["crypto", "decrypt"])
            .args(["--encryptor-public-key", &v.encryptor_public_key])
            .write_stdin(format!("{}\n", v.content))
            .assert()
            .success()
            .stdout(v.plaintext.clone());
    }
}

#[test]
fn encrypt_output_decrypts_with_cli_and_with_the_vector_key() {
    let v = &vectors().boxes[2];
    let binary_plaintext: Vec<u8> = (0..=255u8).chain(b"\n\r\0 end".iter().copied()).collect();
    let out = idos()
        .args([
            "crypto",
            "encrypt",
            "--recipient",
            &v.recipient_public_key,
            "--json",
        ])
        .write_stdin(binary_plaintext.clone())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json = json_of(&out);
    let content = json["content"].as_str().unwrap();
    let encryptor = json["encryptor_public_key"].as_str().unwrap();
    assert_eq!(json.as_object().unwrap().len(), 2);

    // With the CLI.
    idos()
        .env("IDOS_SECRET_KEY", &v.recipient_secret_key)
        .args(["crypto", "decrypt"])
        .args(["--encryptor-public-key", encryptor, "--content", content])
        .assert()
        .success()
        .stdout(binary_plaintext.clone());

    // With the library and the vector's secret key, independently of the CLI.
    let secret =
        protocol::nacl_box::EncryptionSecretKey::from_base64(&v.recipient_secret_key).unwrap();
    let bytes = protocol::codec::base64_decode("content", content).unwrap();
    let encryptor = protocol::bytes::EncryptionPublicKey::parse(encryptor).unwrap();
    assert_eq!(
        &*protocol::nacl_box::decrypt(&bytes, &encryptor, &secret).unwrap(),
        &binary_plaintext[..]
    );
}

#[test]
fn encrypt_prints_lines_by_default() {
    let v = &vectors().boxes[0];
    let out = idos()
        .args(["crypto", "encrypt", "--recipient", &v.recipient_public_key])
        .write_stdin("hi")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].starts_with("content: ") && lines[1].starts_with("encryptor_public_key: "));
}

#[test]
fn keys_generate_every_kind() {
    let out = idos()
        .args(["keys", "generate", "--kind", "x25519", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json = json_of(&out);
    let secret =
        protocol::nacl_box::EncryptionSecretKey::from_base64(json["secret_key"].as_str().unwrap())
            .unwrap();
    assert_eq!(
        secret.public_key().to_string(),
        json["public_key"].as_str().unwrap()
    );

    let out = idos()
        .args(["keys", "generate", "--kind", "ed25519", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json = json_of(&out);
    let key = protocol::identity::SigningKey::from_hex(
        protocol::identity::SignatureScheme::Ed25519,
        json["secret_key"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(
        key.identity().identifier(),
        json["public_key"].as_str().unwrap()
    );

    let out = idos()
        .args(["keys", "generate", "--kind", "evm", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json = json_of(&out);
    let key = protocol::identity::SigningKey::from_hex(
        protocol::identity::SignatureScheme::Eip191,
        json["secret_key"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(
        key.identity().display_name(),
        json["address"].as_str().unwrap()
    );

    let out = idos()
        .args(["keys", "generate", "--kind", "ed25519"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(
        String::from_utf8(out)
            .unwrap()
            .starts_with("kind: ed25519\npublic_key: ")
    );
}

#[test]
fn keys_generate_every_wallet_kind_prints_a_key_that_signs_as_its_identifier() {
    use protocol::identity::{Identity, SignatureScheme, SigningKey};
    for (kind, scheme, identifier_field) in [
        ("near", SignatureScheme::Nep413, "public_key"),
        ("xrpl", SignatureScheme::Xrpl, "address"),
        ("xrpl-ed25519", SignatureScheme::Xrpl, "address"),
        ("stellar", SignatureScheme::Stellar, "address"),
    ] {
        let out = idos()
            .args(["keys", "generate", "--kind", kind, "--json"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let json = json_of(&out);
        let key = SigningKey::from_hex(scheme, json["secret_key"].as_str().unwrap()).unwrap();
        let identity = Identity::parse(json[identifier_field].as_str().unwrap()).unwrap();
        assert_eq!(key.identity(), identity, "{kind}: {json}");
        assert_eq!(identity.scheme(), scheme, "{kind}");
        identity
            .verify("signature", b"text", &key.sign(b"text"))
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        if kind.starts_with("xrpl") {
            let public =
                protocol::xrpl::XrplPublicKey::parse(json["public_key"].as_str().unwrap()).unwrap();
            assert_eq!(Identity::Xrpl(public.address()), identity, "{kind}");
            let ed25519 = json["public_key"].as_str().unwrap().starts_with("ED");
            assert_eq!(ed25519, kind == "xrpl-ed25519", "{kind}: {json}");
        }
    }
}

#[test]
fn fail_derive_key_with_non_uuid_v4_user_id() {
    fails_with(
        idos()
            .args(["crypto", "derive-key", "--user-id", "not-a-uuid"])
            .write_stdin("pw\n"),
        "UUIDv4",
    );
    fails_with(
        idos()
            .args([
                "crypto",
                "derive-key",
                "--user-id",
                "550e8400-e29b-31d4-a716-446655440000",
            ])
            .write_stdin("pw\n"),
        "UUIDv4",
    );
}

#[test]
fn fail_derive_key_with_unknown_kdf() {
    let uid = &vectors().kdf[0].user_id;
    fails_with(
        idos()
            .args(["crypto", "derive-key", "--user-id", uid, "--kdf", "md5"])
            .write_stdin("pw\n"),
        "md5",
    );
}

#[test]
fn fail_encrypt_with_bad_recipient() {
    fails_with(
        idos()
            .args(["crypto", "encrypt", "--recipient", "%%%"])
            .write_stdin("x"),
        "--recipient: not valid base64",
    );
    fails_with(
        idos()
            .args(["crypto", "encrypt", "--recipient", "AQID"])
            .write_stdin("x"),
        "--recipient: expected 32 bytes, got 3",
    );
}

#[test]
fn fail_decrypt_with_bad_keys() {
    let v = &vectors().boxes[0];
    fails_with(
        idos()
            .env("IDOS_SECRET_KEY", "nope!")
            .args([
                "crypto",
                "decrypt",
                "--encryptor-public-key",
                &v.encryptor_public_key,
            ])
            .args(["--content", &v.content]),
        "IDOS_SECRET_KEY: not valid base64",
    );
    fails_with(
        idos()
            .env("IDOS_SECRET_KEY", "AAAA")
            .args([
                "crypto",
                "decrypt",
                "--encryptor-public-key",
                &v.encryptor_public_key,
            ])
            .args(["--content", &v.content]),
        "IDOS_SECRET_KEY: expected 32 bytes, got 3",
    );
    fails_with(
        idos()
            .env("IDOS_SECRET_KEY", &v.recipient_secret_key)
            .args(["crypto", "decrypt", "--encryptor-public-key", "AAAA"])
            .args(["--content", &v.content]),
        "--encryptor-public-key: expected 32 bytes",
    );
    // Somebody else's key: authentication fails.
    fails_with(
        idos()
            .env("IDOS_SECRET_KEY", &vectors().boxes[1].recipient_secret_key)
            .args(["crypto", "decrypt"])
            .args([
                "--encryptor-public-key",
                &v.encryptor_public_key,
                "--content",
                &v.content,
            ]),
        "decryption failed",
    );
}

#[test]
fn fail_decrypt_tampered_or_truncated_content() {
    let v = &vectors().boxes[0];
    let mut bytes = protocol::codec::base64_decode("c", &v.content).unwrap();
    bytes[30] ^= 1;
    let tampered = protocol::codec::base64_encode(&bytes);
    let base = || {
        let mut c = idos();
        c.env("IDOS_SECRET_KEY", &v.recipient_secret_key)
            .args(["crypto", "decrypt"])
            .args(["--encryptor-public-key", &v.encryptor_public_key]);
        c
    };
    fails_with(base().args(["--content", &tampered]), "decryption failed");
    fails_with(
        base().args(["--content", "AAAA"]),
        "shorter than the 40-byte nonce and tag",
    );
    fails_with(
        base().args(["--content", "not base64!"]),
        "content: not valid base64",
    );
    fails_with(
        base().write_stdin(""),
        "shorter than the 40-byte nonce and tag",
    );
    // The recipient's own public key given as the encryptor's: authentication fails.
    fails_with(
        idos()
            .env("IDOS_SECRET_KEY", &v.recipient_secret_key)
            .args(["crypto", "decrypt"])
            .args([
                "--encryptor-public-key",
                &v.recipient_public_key,
                "--content",
                &v.content,
            ]),
        "decryption failed",
    );
}

#[test]
fn fail_usage_errors_are_one_line_too() {
    let out = idos()
        .env("IDOS_SECRET_KEY", "x")
        .args(["crypto", "decrypt"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains("--encryptor-public-key"),
        "{stderr:?}"
    );
    assert!(stderr.contains("idos crypto decrypt --help"), "{stderr:?}");
    idos()
        .args(["keys", "generate", "--kind", "rsa"])
        .assert()
        .code(2);
    idos().arg("--help").assert().success();
    idos().arg("--version").assert().success();
}

#[test]
fn fail_a_secret_key_never_comes_from_an_argument_but_from_a_file_or_the_environment() {
    let v = &vectors().boxes[0];
    let rest = [
        "--encryptor-public-key",
        v.encryptor_public_key.as_str(),
        "--content",
        v.content.as_str(),
    ];
    // As an argument it is not an option at all (every user of the machine sees arguments).
    idos()
        .env_remove("IDOS_SECRET_KEY")
        .args(["crypto", "decrypt", "--secret-key", &v.recipient_secret_key])
        .args(rest)
        .assert()
        .code(2);
    // Neither a file nor the variable: an error that names both.
    fails_with(
        idos()
            .env_remove("IDOS_SECRET_KEY")
            .env_remove("IDOS_SECRET_KEY_FILE")
            .args(["crypto", "decrypt"])
            .args(rest),
        "in a file (--secret-key-file) or in IDOS_SECRET_KEY",
    );
    // From a file (a trailing newline is fine).
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), format!("{}\n", v.recipient_secret_key)).unwrap();
    idos()
        .env_remove("IDOS_SECRET_KEY")
        .args(["crypto", "decrypt", "--secret-key-file"])
        .arg(file.path())
        .args(rest)
        .assert()
        .success()
        .stdout(v.plaintext.clone());
}
