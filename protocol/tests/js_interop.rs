//! The other direction of byte compatibility: what this crate writes, the JavaScript library
//! idOS uses (tweetnacl 1.0.3, run by Node.js) reads. `idos_vectors.rs` covers what
//! tweetnacl and scrypt-js wrote, read here.
//!
//! Needs `node` and tweetnacl, which `scripts/setup.sh` installs into `~/.cache/idos-tools`
//! (or `$IDOS_TOOLS_DIR`). Missing tools fail the test with that instruction rather than
//! skip it.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use protocol::codec::{base64_encode, hex_encode};
use protocol::credential::sign_credential;
use protocol::identity::Ed25519SigningKey;
use protocol::nacl_box::{EncryptionSecretKey, encrypt};
use serde_json::{Value, json};

fn tweetnacl() -> PathBuf {
    let tools = std::env::var_os("IDOS_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/idos-tools")
        });
    let path = tools.join("node_modules/tweetnacl/nacl-fast.js");
    assert!(
        path.is_file(),
        "{} is missing: run scripts/setup.sh (it installs tweetnacl@1.0.3 for this test)",
        path.display()
    );
    path
}

/// Runs `script` in Node with `nacl` bound to tweetnacl and `input` (JSON) on stdin; the
/// script prints one JSON value.
fn node(script: &str, input: &Value) -> Value {
    let program = format!(
        "const nacl = require({nacl:?});\n\
         const b64 = (s) => new Uint8Array(Buffer.from(s, 'base64'));\n\
         const hex = (s) => new Uint8Array(Buffer.from(s, 'hex'));\n\
         let text = ''; process.stdin.on('data', (d) => text += d);\n\
         process.stdin.on('end', () => {{ const input = JSON.parse(text);\n{script}\n}});",
        nacl = tweetnacl().display().to_string(),
    );
    let mut child = Command::new("node")
        .args(["-e", &program])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node is not on PATH: run scripts/setup.sh");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("node printed JSON")
}

#[test]
fn tweetnacl_opens_what_this_crate_sealed_and_refuses_tampering() {
    let recipient = EncryptionSecretKey::generate();
    let mut cases = Vec::new();
    for plaintext in [
        &b""[..],
        b"x",
        "{\"credentialSubject\":{\"name\":\"J\u{f6}rg\"}}".as_bytes(),
        &[0xa5; 4096][..],
    ] {
        let sealed = encrypt(plaintext, &recipient.public_key()).unwrap();
        let mut tampered = sealed.content.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        cases.push(json!({
            "content": base64_encode(&sealed.content),
            "tampered": base64_encode(&tampered),
            "encryptor": sealed.encryptor_public_key.to_text(),
            "plaintext": base64_encode(plaintext),
        }));
    }
    let input = json!({"secret": base64_encode(*recipient.to_bytes()), "cases": cases});
    let opened = node(
        r#"const sk = b64(input.secret);
           const open = (content, epk) => {
             const c = b64(content);
             const m = nacl.box.open(c.subarray(40 - 16), c.subarray(0, 24), b64(epk), sk);
             return m === null ? null : Buffer.from(m).toString('base64');
           };
           // tweetnacl's box takes tag ‖ ciphertext after the 24-byte nonce.
           console.log(JSON.stringify(input.cases.map((c) => ({
             opened: open(c.content, c.encryptor),
             tampered: open(c.tampered, c.encryptor),
           }))));"#,
        &input,
    );
    let opened = opened.as_array().unwrap();
    assert_eq!(opened.len(), cases.len());
    for (case, result) in cases.iter().zip(opened) {
        assert_eq!(result["opened"], case["plaintext"], "tweetnacl opens it");
        assert_eq!(
            result["tampered"],
            Value::Null,
            "tweetnacl refuses a flipped bit"
        );
    }
}

#[test]
fn tweetnacl_verifies_credential_signatures_made_here() {
    let issuer = Ed25519SigningKey::from_seed(&[0x11; 32]);
    let notes = r#"{"id":"urn:uuid:1","status":"valid"}"#;
    let content = encrypt(b"credential", &EncryptionSecretKey::generate().public_key())
        .unwrap()
        .content;
    let sigs = sign_credential(&issuer, notes, &content);
    let input = json!({
        "key": hex_encode(issuer.public_key().as_bytes()),
        "notes": base64_encode(notes.as_bytes()),
        "content": base64_encode(&content),
        "notes_sig": sigs.public_notes_signature.to_text(),
        "broader_sig": sigs.broader_signature.to_text(),
    });
    let verdicts = node(
        r#"const pk = hex(input.key);
           const notesSig = b64(input.notes_sig);
           const broader = new Uint8Array([...notesSig, ...b64(input.content)]);
           const other = new Uint8Array([...notesSig, ...b64(input.content), 0]);
           console.log(JSON.stringify({
             notes: nacl.sign.detached.verify(b64(input.notes), notesSig, pk),
             broader: nacl.sign.detached.verify(broader, b64(input.broader_sig), pk),
             swapped: nacl.sign.detached.verify(b64(input.notes), b64(input.broader_sig), pk),
             extended: nacl.sign.detached.verify(other, b64(input.broader_sig), pk),
           }));"#,
        &input,
    );
    assert_eq!(
        verdicts,
        json!({"notes": true, "broader": true, "swapped": false, "extended": false})
    );
}
