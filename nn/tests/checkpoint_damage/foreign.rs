//! Files that are not checkpoints at all, and paths that are not regular files.

use super::*;

/// A valid PNG image (1 x 1, grey), made here: signature, IHDR, IDAT (a stored zlib block), IEND.
pub fn png() -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut c = 0xffff_ffffu32;
        for &b in data {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 { 0xedb8_8320 ^ (c >> 1) } else { c >> 1 };
            }
        }
        !c
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend((data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend(crc32(&body).to_be_bytes());
    }
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    chunk(&mut out, b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
    // Scanline: filter 0, pixel 0x80. zlib header, one stored block, Adler-32 of the scanline.
    let line = [0u8, 0x80];
    let (a, b) = line.iter().fold((1u32, 0u32), |(a, b), &x| ((a + x as u32) % 65521, (b + a + x as u32) % 65521));
    let mut z = vec![0x78, 0x01, 0x01, 0x02, 0x00, 0xfd, 0xff];
    z.extend_from_slice(&line);
    z.extend(((b << 16) | a).to_be_bytes());
    chunk(&mut out, b"IDAT", &z);
    chunk(&mut out, b"IEND", &[]);
    out
}

/// Files that are not checkpoints at all, and paths that are not regular files.
pub fn foreign(cases: &mut Cases, notes: &mut Vec<String>) {
    use LoadMode::*;
    let modes = [NoOpt, LoadModel, Header];
    let k = "foreign file";
    cases.bytes(k, "an empty file", Fx::MlpBest, &modes, Expect::Error, &[], b"");
    cases.bytes(k, "a text file", Fx::MlpBest, &modes, Expect::Error, &[], b"epoch,loss\n1,0.5\n");
    cases.bytes(k, "a PNG image", Fx::MlpBest, &modes, Expect::Error, &[], &png());
    cases.bytes(
        k,
        "the HDF5 signature and nothing else",
        Fx::MlpBest,
        &modes,
        Expect::Error,
        &[],
        b"\x89HDF\r\n\x1a\n",
    );
    // A valid HDF5 file of another program, written by the hdf5 crate.
    let path = cases.file("hdf5-crate-table");
    {
        let f = nn::io::create_h5(&path).unwrap();
        f.new_dataset::<f64>().shape([3]).create("clusterE").unwrap().write_raw(&[1.0, 2.0, 3.0]).unwrap();
        set_str(&f, "creator", "another program").unwrap();
        f.close().unwrap();
    }
    for m in modes {
        cases.push(k, "an HDF5 table written by the hdf5 crate", Fx::MlpBest, m, Expect::Error, &path, &["format"]);
    }
    // A valid HDF5 file written by h5py, where Python has it.
    let path = cases.file("h5py-file");
    let script = format!(
        "import h5py, numpy as np\nwith h5py.File({:?}, 'w') as f:\n    f['weights'] = np.arange(6.0).reshape(2, 3)\n    f.attrs['format'] = 'keras'\n",
        path.display().to_string()
    );
    let h5py = Command::new("python3").args(["-c", &script]).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    if h5py {
        for m in modes {
            cases.push(
                k,
                "an HDF5 file written by h5py (format 'keras')",
                Fx::MlpBest,
                m,
                Expect::Error,
                &path,
                &["format"],
            );
        }
    } else {
        notes.push("h5py is not installed: the h5py-written foreign file was not tried".into());
    }
    // A checkpoint behind a 512-byte user block of junk: HDF5 finds the superblock there and
    // reads the checkpoint as it is, or refuses; never a changed value.
    let mut b = vec![0x5a; 512];
    b.extend(std::fs::read(Fx::MlpLast.path()).unwrap());
    cases.bytes(
        k,
        "a checkpoint behind 512 junk bytes",
        Fx::MlpLast,
        &[SteppedOpt, LoadModel],
        Expect::ErrorOrIdentical,
        &[],
        &b,
    );

    let k = "not a regular file";
    let fifo = cases.file("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().is_ok_and(|s| s.success());
    assert!(made, "mkfifo failed: the FIFO case cannot be made");
    for m in modes {
        cases.push(k, "a named pipe (FIFO)", Fx::MlpBest, m, Expect::Error, &fifo, &[]);
    }
    let dir = cases.file("directory");
    std::fs::create_dir_all(&dir).unwrap();
    for m in modes {
        cases.push(k, "a directory", Fx::MlpBest, m, Expect::Error, &dir, &[]);
    }
    if Path::new("/dev/zero").exists() {
        cases.push(k, "a character device (/dev/zero)", Fx::MlpBest, NoOpt, Expect::Error, Path::new("/dev/zero"), &[]);
    }
    let link = cases.file("link-to-fifo");
    std::os::unix::fs::symlink(&fifo, &link).unwrap();
    cases.push(k, "a symbolic link to the FIFO", Fx::MlpBest, NoOpt, Expect::Error, &link, &[]);
    let missing = cases.file("missing");
    cases.push(k, "a path that does not exist", Fx::MlpBest, NoOpt, Expect::Error, &missing, &[]);
}
