//! The seal and the checked datasets it leaves to HDF5: Fletcher32 float datasets
//! ([`write_checked`]) and an FNV-1a checksum of everything else in the user block ([`seal`]).

use super::error::{describe_io, FileError, FileResult};
use std::path::Path;

/// its data is an error on reading rather than a silently different number. The checksum needs
/// chunked storage; the chunk is the whole dataset up to about 4 MiB, then split along the first
/// axis. Empty datasets are stored plainly (HDF5 cannot chunk a zero-length axis).
pub fn write_checked<T: hdf5::H5Type>(
    group: &hdf5::Group,
    name: &str,
    shape: &[usize],
    data: &[T],
) -> Result<(), String> {
    let numel: usize = shape.iter().product();
    if numel != data.len() {
        return Err(format!("dataset {name}: {} values for shape {shape:?}", data.len()));
    }
    let builder = group.new_dataset::<T>().shape(shape);
    let result = match checked_chunk(shape, std::mem::size_of::<T>()) {
        Some(chunk) => builder.chunk(chunk).fletcher32().create(name).and_then(|d| d.write_raw(data)),
        // Empty and scalar datasets cannot be chunked: stored plainly (the seal covers them).
        None => builder.create(name).and_then(|d| d.write_raw(data)),
    };
    result.map_err(|e| format!("dataset {name}: {e}"))
}

/// The chunk [`write_checked`] gives a dataset: the whole dataset up to about 4 MiB, then split
/// along the first axis; None for empty and scalar datasets.
fn checked_chunk(shape: &[usize], elem: usize) -> Option<Vec<usize>> {
    if shape.is_empty() || shape.contains(&0) {
        return None;
    }
    let row: usize = shape.iter().skip(1).product::<usize>().max(1);
    let max_rows = ((1usize << 22) / (row * elem).max(1)).max(1);
    let mut chunk = shape.to_vec();
    chunk[0] = chunk[0].clamp(1, max_rows);
    Some(chunk)
}

/// How many chunks [`write_checked`] writes for a dataset of `shape` with `elem`-byte values:
/// what [`create_sealable_h5`] needs to size its seal.
pub fn checked_chunks(shape: &[usize], elem: usize) -> usize {
    checked_chunk(shape, elem).map_or(0, |c| shape[0].div_ceil(c[0]))
}

// ---------------------------------------------------------------------------------------------
// The seal: a checksum of a file's metadata, kept in the HDF5 user block.
//
// HDF5 checks the data of a Fletcher32 dataset, and (in the 1.10 format) most of its own
// structures, but not all: the global heap that holds variable-length strings has no checksum,
// so a flipped bit there silently changes an attribute's text or, in a length field, crashes
// the library (SIGSEGV) before any error can be returned. A sealed file carries, in the first
// bytes of its user block (which HDF5 reserves for the application and never reads), a 64-bit
// FNV-1a hash of every byte of the file except the Fletcher32-checked data chunks (those are
// checked by HDF5 as they are read, and named in the error), with the list of those chunks and
// the file's length. `H5File::open` verifies the seal before HDF5 sees the file.
//
// Layout (little-endian): magic `sigmagrad-seal\n\0` (16 bytes), seal version u32 (1), chunk
// count u32, file length u64, hash u64, then per chunk (offset u64, length u64), sorted. The
// hash covers the whole file in order with the hash field read as zeros, skipping the chunks.

const SEAL_MAGIC: &[u8; 16] = b"sigmagrad-seal\n\0";
const SEAL_VERSION: u32 = 1;
const SEAL_HEADER: usize = 40;
const HASH_FIELD: std::ops::Range<u64> = 32..40;

/// Creates an HDF5 file like [`create_h5`](super::create_h5), with a user block large enough
/// for the seal of `data_chunks` checked chunks (see [`checked_chunks`]); call [`seal`] once it
/// is closed.
pub fn create_sealable_h5(path: impl AsRef<Path>, data_chunks: usize) -> Result<hdf5::File, String> {
    let userblock = (SEAL_HEADER + 16 * data_chunks).next_power_of_two().max(512) as u64;
    hdf5::File::with_options()
        .with_fapl(|p| p.file_locking(false).libver_v110())
        .with_fcpl(|p| p.userblock(userblock))
        .create(path.as_ref())
        .map_err(|e| e.to_string())
}

/// Seals a closed HDF5 file made by [`create_sealable_h5`] (see the section above).
pub fn seal(path: &Path) -> Result<(), String> {
    let (userblock, chunks) = {
        let f = hdf5::File::with_options()
            .with_fapl(|p| p.file_locking(false))
            .open(path)
            .map_err(|e| format!("cannot reopen to seal: {e}"))?;
        let userblock = f.userblock();
        let mut chunks = Vec::new();
        // Chunk addresses count from HDF5's base address, the end of the user block.
        checked_chunk_ranges(&f, userblock, &mut chunks).map_err(|e| format!("cannot list the data chunks: {e}"))?;
        f.close().map_err(|e| e.to_string())?;
        (userblock, chunks)
    };
    write_seal(path, userblock, chunks)
}

/// Seals `path` again with the list of data chunks its present seal records, without HDF5
/// reading the file: for a program that rewrites metadata bytes of a sealed file in place and
/// leaves its data chunks where they were. The damage suite uses it to put damage behind a
/// valid seal, where only HDF5's own checksums and the loader's checks stand.
pub fn reseal(path: &Path) -> Result<(), String> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| describe_io(&e))?;
    let mut head = [0u8; SEAL_HEADER];
    if f.read_exact(&mut head).is_err() || &head[..16] != SEAL_MAGIC {
        return Err("has no seal to renew".into());
    }
    let count = u32::from_le_bytes(head[20..24].try_into().expect("4 bytes")) as usize;
    let mut table = vec![0u8; 16 * count];
    f.read_exact(&mut table).map_err(|e| format!("cannot read the seal's chunk list: {}", describe_io(&e)))?;
    let chunks = chunk_table(&table);
    // The present seal fits the user block, and the new one is as long.
    write_seal(path, (SEAL_HEADER + table.len()) as u64, chunks)
}

/// Writes the seal of `path` for its data chunks `chunks` into a user block of `userblock` bytes.
fn write_seal(path: &Path, userblock: u64, mut chunks: Vec<(u64, u64)>) -> Result<(), String> {
    chunks.sort_unstable();
    let header_len = SEAL_HEADER + 16 * chunks.len();
    if header_len as u64 > userblock {
        return Err(format!("the seal needs {header_len} bytes, the user block holds {userblock}"));
    }
    let len = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    let mut header = Vec::with_capacity(header_len);
    header.extend_from_slice(SEAL_MAGIC);
    header.extend_from_slice(&SEAL_VERSION.to_le_bytes());
    header.extend_from_slice(&(chunks.len() as u32).to_le_bytes());
    header.extend_from_slice(&len.to_le_bytes());
    header.extend_from_slice(&0u64.to_le_bytes());
    for (at, n) in &chunks {
        header.extend_from_slice(&at.to_le_bytes());
        header.extend_from_slice(&n.to_le_bytes());
    }
    use std::io::{Seek, SeekFrom, Write};
    let mut f = std::fs::OpenOptions::new().read(true).write(true).open(path).map_err(|e| e.to_string())?;
    f.write_all(&header).map_err(|e| format!("cannot write the seal: {e}"))?;
    let hash = seal_hash(&mut f, len, &chunks).map_err(|e| format!("cannot hash the file: {e}"))?;
    f.seek(SeekFrom::Start(HASH_FIELD.start)).and_then(|_| f.write_all(&hash.to_le_bytes())).map_err(|e| e.to_string())
}

/// The (offset, length) pairs of a seal's chunk list.
fn chunk_table(table: &[u8]) -> Vec<(u64, u64)> {
    table
        .chunks_exact(16)
        .map(|c| {
            let v = |i: usize| u64::from_le_bytes(c[i..i + 8].try_into().expect("8 bytes"));
            (v(0), v(8))
        })
        .collect()
}

/// Removes the seal of `path`, if it has one (a file deliberately changed with another tool,
/// h5py say, is then read without the check); returns whether there was one.
pub fn unseal(path: &Path) -> Result<bool, String> {
    use std::io::{Read, Write};
    let mut f = std::fs::OpenOptions::new().read(true).write(true).open(path).map_err(|e| describe_io(&e))?;
    let mut magic = [0u8; 16];
    if f.read_exact(&mut magic).is_err() || &magic != SEAL_MAGIC {
        return Ok(false);
    }
    use std::io::Seek;
    f.seek(std::io::SeekFrom::Start(0))
        .and_then(|_| f.write_all(&[0u8; 16]))
        .and_then(|_| f.sync_all())
        .map_err(|e| format!("cannot remove the seal: {e}"))?;
    Ok(true)
}

/// The (file offset, length) of every stored chunk of every Fletcher32 dataset under `group`
/// whose filters were all applied; `base` is the offset of HDF5's address 0.
fn checked_chunk_ranges(group: &hdf5::Group, base: u64, out: &mut Vec<(u64, u64)>) -> hdf5::Result<()> {
    for ds in group.datasets()? {
        if !ds.is_chunked() || !ds.filters().iter().any(|f| matches!(f, hdf5::filters::Filter::Fletcher32)) {
            continue;
        }
        for i in 0..ds.num_chunks().unwrap_or(0) {
            if let Some(c) = ds.chunk_info(i) {
                if c.filter_mask == 0 && c.size > 0 {
                    out.push((c.addr + base, c.size));
                }
            }
        }
    }
    for g in group.groups()? {
        checked_chunk_ranges(&g, base, out)?;
    }
    Ok(())
}

/// FNV-1a (64-bit) of `file`'s first `len` bytes, with the hash field as zeros, without the
/// `skip` ranges (sorted, disjoint). A one-byte change always changes the hash: each step is a
/// bijection of the state for a given byte, and different bytes give different states.
fn seal_hash(file: &mut std::fs::File, len: u64, skip: &[(u64, u64)]) -> std::io::Result<u64> {
    use std::io::{Read, Seek, SeekFrom};
    let mut h = stats::Fnv1a::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut at = 0u64;
    let mut next = skip.iter().peekable();
    while at < len {
        if let Some(&&(start, n)) = next.peek() {
            if at >= start {
                at = at.max(start + n);
                next.next();
                continue;
            }
        }
        let end = next.peek().map_or(len, |&&(start, _)| start.min(len));
        let want = ((end - at) as usize).min(buf.len());
        file.seek(SeekFrom::Start(at))?;
        file.read_exact(&mut buf[..want])?;
        // The hash field (inside the user block, never in a skipped chunk) counts as zeros.
        for (i, b) in buf[..want].iter_mut().enumerate() {
            if HASH_FIELD.contains(&(at + i as u64)) {
                *b = 0;
            }
        }
        h.update(&buf[..want]);
        at += want as u64;
    }
    Ok(h.finish())
}

/// Checks the seal of `path` (of `size` bytes) when it has one; a file without one is left to
/// HDF5 and the readers' own checks.
pub(super) fn verify_seal(path: &Path, size: u64) -> FileResult<()> {
    use std::io::Read;
    let damaged = |msg: String| FileError::new(path, msg);
    let mut f = std::fs::File::open(path).map_err(|e| FileError::new(path, describe_io(&e)))?;
    let mut head = [0u8; SEAL_HEADER];
    if size < SEAL_HEADER as u64 || f.read_exact(&mut head).is_err() || &head[..16] != SEAL_MAGIC {
        return Ok(());
    }
    let u32_at = |i: usize| u32::from_le_bytes(head[i..i + 4].try_into().expect("4 bytes"));
    let u64_at = |i: usize| u64::from_le_bytes(head[i..i + 8].try_into().expect("8 bytes"));
    let (version, count, len, hash) = (u32_at(16), u32_at(20) as u64, u64_at(24), u64_at(32));
    if version != SEAL_VERSION {
        return Err(damaged(format!(
            "has a seal of version {version}, this sigmagrad knows {SEAL_VERSION}: damaged, or from a newer release"
        )));
    }
    if len != size {
        return Err(damaged(format!(
            "is {size} bytes but was {len} when it was written: {}, so it is not read further",
            if size < len {
                "truncated (an interrupted copy or download?) or changed after it was saved"
            } else {
                "something was appended, or it was changed after it was saved"
            }
        )));
    }
    let table_end = SEAL_HEADER as u64 + 16 * count;
    if table_end > size {
        return Err(damaged("has a damaged seal (it lists more chunks than the file can hold)".into()));
    }
    let mut table = vec![0u8; 16 * count as usize];
    f.read_exact(&mut table).map_err(|e| FileError::new(path, describe_io(&e)))?;
    let chunks = chunk_table(&table);
    let mut end = table_end;
    for &(at, n) in &chunks {
        if at < end || at.checked_add(n).is_none_or(|e| e > size) {
            return Err(damaged("has a damaged seal (its list of data chunks is inconsistent)".into()));
        }
        end = at + n;
    }
    let actual = seal_hash(&mut f, size, &chunks).map_err(|e| FileError::new(path, describe_io(&e)))?;
    if actual != hash {
        return Err(damaged(
            "is damaged: its metadata (HDF5's structures and the attributes) does not match the checksum written \
             with it, so it is not read further. Restore it from a copy; if it was changed on purpose with \
             another tool, nn::io::unseal removes the seal."
                .into(),
        ));
    }
    Ok(())
}
