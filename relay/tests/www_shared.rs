//! The vendored JavaScript the pages run is exactly the published package's files: a changed
//! byte fails here (the sums are of the files in `@noble/hashes` 2.0.1's npm tarball).

use std::path::Path;

const PINNED: &[(&str, &str)] = &[
    (
        "sha3.js",
        "8741330184fd2af27d8805e400888060294ac1e31e7b7038e5347c31e1bb33ca",
    ),
    (
        "_u64.js",
        "e48c0cfc10810439a4807b46db136ce603a3fa09b62584f513ef2f3ca496af54",
    ),
    (
        "utils.js",
        "11319ec0a8132a0c2ced8c98af33ae9274c001d6baf4f4709c4a6115e031a3c5",
    ),
    (
        "LICENSE",
        "4f221aee6e072336700c408c68ab3b96a3fc09f6aebe6f48f1bd99e5ef13faec",
    ),
];

#[test]
fn vendored_noble_hashes_are_the_published_files() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../www/shared/vendor/noble-hashes-2.0.1");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut pinned: Vec<&str> = PINNED.iter().map(|(n, _)| *n).collect();
    pinned.sort();
    assert_eq!(names, pinned, "only the pinned files are vendored");
    for (name, sum) in PINNED {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        assert_eq!(
            protocol::credential::content_hash(&bytes).to_string(),
            *sum,
            "{name} differs from @noble/hashes 2.0.1"
        );
    }
}
