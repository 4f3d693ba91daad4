//! Damage behind a valid seal: a checkpoint whose metadata bytes were changed and whose seal
//! was then renewed (`nn::io::reseal`), as a tool that rewrites a checkpoint would leave it.
//! The seal then vouches for the damage, and only HDF5's own checksums (object headers, dense
//! attribute storage, superblock) and the loader's checks stand between the bytes and the
//! library. Format version 3 kept its text in HDF5's global heap, which has no checksum: such
//! damage to a string's length crashed or hung the HDF5 library. Every load must now be an error
//! or, where the bytes did not change the checkpoint's meaning, bit-identical to the undamaged
//! file's.

use super::*;

/// Bit flips at random places of each file's metadata (the data chunks excluded).
pub const RESEALED_FLIPS: usize = 60;
/// The bytes before each text attribute's value flipped one by one: its dataspace (the text's
/// length) and the end of its datatype.
pub const BYTES_BEFORE_TEXT: usize = 16;

/// Values written over the 8 bytes before a text's value, where its length is stored.
fn lengths(len: u64) -> [(&'static str, u64); 6] {
    [
        ("0", 0),
        ("one less", len - 1),
        ("one more", len + 1),
        ("twice", 2 * len),
        ("2^40", 1 << 40),
        ("2^64-1", u64::MAX),
    ]
}

pub fn behind_a_valid_seal(cases: &mut Cases) {
    for fx in FIXTURES {
        let bytes = std::fs::read(fx.path()).unwrap();
        let modes = [fx.primary(), LoadMode::LoadModel];
        let mut damaged = |kind: &str, what: String, change: &dyn Fn(&mut Vec<u8>)| {
            let mut b = bytes.clone();
            change(&mut b);
            let path = cases.file(&slug(&what));
            std::fs::write(&path, &b).unwrap();
            nn::io::reseal(&path).unwrap();
            for m in modes {
                cases.push(kind, &what, fx, m, Expect::ErrorOrIdentical, &path, &[]);
            }
        };
        // The text items: found by their value, which a version-4 file stores as it is (in an
        // attribute, or in a Fletcher32 dataset when long).
        let file = nn::io::H5File::open(fx.path()).unwrap();
        for name in TEXT_ATTRIBUTES {
            let value = match (file.has_attr("", name), file.exists(&format!("text/{name}"))) {
                (true, _) => file.attr_string("", name).unwrap(),
                (false, true) => file.read_text(&format!("text/{name}")).unwrap(),
                (false, false) => continue,
            };
            let hits: Vec<usize> = bytes
                .windows(value.len())
                .enumerate()
                .filter(|(_, w)| *w == value.as_bytes())
                .map(|(i, _)| i)
                .collect();
            assert_eq!(hits.len(), 1, "the text of '{name}' in {} found {} times", fx.name(), hits.len());
            let (at, len) = (hits[0], value.len());
            for (i, pos) in [at, at + len / 2, at + len - 1].into_iter().enumerate() {
                let what = format!("{} '{name}' text byte {pos} ({})", fx.name(), ["first", "middle", "last"][i]);
                damaged("resealed: bit flip in a text value", what, &|b| b[pos] ^= 1 << (i + 1));
            }
            for pos in at - BYTES_BEFORE_TEXT..at {
                let what = format!("{} '{name}' byte {pos}, {} before its text", fx.name(), at - pos);
                damaged("resealed: bit flip before a text value", what, &|b| b[pos] ^= 0x04);
            }
            for (label, n) in lengths(len as u64) {
                let what = format!("{} '{name}' length overwritten: {label}", fx.name());
                damaged("resealed: text length overwritten", what, &|b| {
                    b[at - 8..at].copy_from_slice(&n.to_le_bytes())
                });
            }
        }
        // Everything else that is not data, after the seal's 40-byte header (which the renewal
        // rewrites; its chunk list is kept, damaged or not).
        let ranges = data_ranges(&fx.path());
        let meta: Vec<usize> = (40..bytes.len()).filter(|i| !ranges.iter().any(|(_, r)| r.contains(i))).collect();
        let mut mix = Mix(fx as u64 + 101);
        for k in 0..RESEALED_FLIPS {
            let at = meta[(k * meta.len() / RESEALED_FLIPS + mix.next() as usize % 97) % meta.len()];
            let bit = mix.next() % 8;
            let what = format!("{} bit {bit} of byte {at} (metadata, resealed)", fx.name());
            damaged("resealed: bit flip in metadata", what, &|b| b[at] ^= 1 << bit);
        }
    }
}
