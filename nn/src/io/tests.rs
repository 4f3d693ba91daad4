use super::*;
use hdf5::types::{FixedAscii, VarLenUnicode};
use std::path::PathBuf;

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("sigmagrad-io-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn refuses_what_is_not_a_regular_file() {
    let d = dir();
    let err = check_regular_file(&d).unwrap_err();
    assert!(err.msg.contains("directory"), "{err}");
    let err = check_regular_file(&d.join("absent.h5")).unwrap_err();
    assert!(err.msg.contains("no such file"), "{err}");
    #[cfg(unix)]
    {
        let fifo = d.join("pipe.h5");
        let _ = std::fs::remove_file(&fifo);
        let status = std::process::Command::new("mkfifo").arg(&fifo).status();
        if status.is_ok_and(|s| s.success()) {
            let err = H5File::open(&fifo).err().unwrap();
            assert!(err.msg.contains("named pipe"), "{err}");
        }
    }
}

#[test]
fn an_atomic_write_that_fails_leaves_the_old_file_and_no_temporary() {
    let d = dir();
    let path = d.join("atomic.txt");
    write_atomically(&path, |tmp| std::fs::write(tmp, "old").map_err(|e| e.to_string())).unwrap();
    let err = write_atomically(&path, |tmp| {
        std::fs::write(tmp, "half").map_err(|e| e.to_string())?;
        Err("disk full".into())
    })
    .unwrap_err();
    assert!(err.msg.contains("disk full"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
    let leftovers = std::fs::read_dir(&d)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".atomic.txt."))
        .count();
    assert_eq!(leftovers, 0);
}

#[test]
fn stale_temporaries_of_dead_writers_are_removed_and_live_ones_kept() {
    let d = dir();
    let path = d.join("stale.h5");
    // pid 4194304 is above Linux's pid_max limit, so no process can have it.
    let dead = d.join(".stale.h5.4194304.0.tmp");
    let mine = d.join(format!(".stale.h5.{}.7.tmp", std::process::id()));
    std::fs::write(&dead, "x").unwrap();
    std::fs::write(&mine, "x").unwrap();
    assert_eq!(remove_stale_temporaries(&path), 1);
    assert!(!dead.exists() && mine.exists());
    std::fs::remove_file(mine).unwrap();
}

#[test]
fn checked_datasets_round_trip_and_typed_reads_refuse_other_types() {
    let d = dir();
    let path = d.join("typed.h5");
    let file = create_h5(&path).unwrap();
    write_checked(&file, "w", &[3, 2], &[1.0f64, 2.0, 3.0, 4.0, 5.0, f64::NAN]).unwrap();
    write_checked(&file, "v", &[4], &[1.0f32, 2.0, 3.0, 4.0]).unwrap();
    file.new_dataset::<i32>().shape([2]).create("ints").unwrap().write_raw(&[1, 2]).unwrap();
    file.new_dataset::<f64>().shape([5]).create("unwritten").unwrap();
    file.new_attr::<FixedAscii<8>>()
        .create("fixed")
        .unwrap()
        .write_scalar(&FixedAscii::<8>::from_ascii("abc").unwrap())
        .unwrap();
    file.new_attr::<f64>().create("epoch").unwrap().write_scalar(&2.7).unwrap();
    file.new_attr::<i64>().create("neg").unwrap().write_scalar(&-1).unwrap();
    // close(), not drop: HDF5 keeps a file open (and locked) while any handle into it lives.
    file.close().unwrap();
    let f = H5File::open(&path).unwrap();
    assert_eq!(f.read_f64("v", Some(&[4])).unwrap().0, vec![1.0, 2.0, 3.0, 4.0]);
    assert!(f.dataset("w").unwrap().filters().iter().any(|f| matches!(f, hdf5::filters::Filter::Fletcher32)));
    let e = f.read_finite_f64("w", None).unwrap_err();
    assert!(e.to_string().contains("dataset 'w'") && e.msg.contains("1 of 6"), "{e}");
    let e = f.read_f64("w", Some(&[2, 3])).unwrap_err();
    assert!(e.msg.contains("[3, 2]"), "{e}");
    assert!(f.read_f64("ints", None).unwrap_err().msg.contains("32-bit integers"));
    assert_eq!(f.read_numeric_f64("ints", Some(&[2])).unwrap().0, vec![1.0, 2.0]);
    assert!(f.read_f64("unwritten", None).unwrap_err().msg.contains("never written"));
    assert!(f.read_f64("nothing", None).unwrap_err().msg.contains("missing"));
    assert_eq!(f.attr_string("", "fixed").unwrap(), "abc");
    let e = f.attr_u64("", "epoch").unwrap_err();
    assert!(e.to_string().contains("attribute 'epoch'") && e.msg.contains("float64"), "{e}");
    assert!(f.attr_u64("", "neg").unwrap_err().msg.contains("-1"));
    assert!(f.attr_string("", "absent").unwrap_err().msg.contains("missing"));
}

#[test]
fn a_sealed_file_is_verified_before_hdf5_reads_it() {
    let d = dir();
    let path = d.join("sealed.h5");
    let file = create_sealable_h5(&path, checked_chunks(&[4], 8)).unwrap();
    write_checked(&file, "checked", &[4], &[1.0f64, 2.0, 3.0, 4.0]).unwrap();
    // Contiguous data has no checksum of its own: the seal covers it.
    file.new_dataset::<f64>().shape([2]).create("plain").unwrap().write_raw(&[5.0, 6.0]).unwrap();
    file.close().unwrap();
    seal(&path).unwrap();
    assert_eq!(H5File::open(&path).unwrap().read_f64("plain", None).unwrap().0, vec![5.0, 6.0]);
    let good = std::fs::read(&path).unwrap();
    let plain = good.windows(16).position(|w| w == [5.0f64.to_le_bytes(), 6.0f64.to_le_bytes()].concat()).unwrap();
    let checked = good.windows(8).position(|w| w == 3.0f64.to_le_bytes()).unwrap();
    let flip = |at: usize| {
        let mut b = good.clone();
        b[at] ^= 0x10;
        std::fs::write(&path, b).unwrap();
    };
    flip(plain);
    let e = H5File::open(&path).err().unwrap();
    assert!(e.msg.contains("does not match the checksum"), "{e}");
    // A checked chunk passes the seal; its own checksum names the dataset.
    flip(checked);
    let e = H5File::open(&path).unwrap().read_f64("checked", None).unwrap_err();
    assert!(e.to_string().contains("dataset 'checked'"), "{e}");
    std::fs::write(&path, &good[..good.len() - 1]).unwrap();
    assert!(H5File::open(&path).err().unwrap().msg.contains("truncated"));
    // Unsealed, a changed file is judged by its contents.
    flip(plain);
    assert!(unseal(&path).unwrap());
    assert!(H5File::open(&path).is_ok());
    assert!(!unseal(&path).unwrap());
}

#[test]
fn string_datasets_of_every_width_and_encoding_read_as_strings() {
    let d = dir();
    let path = d.join("strings.h5");
    let file = create_h5(&path).unwrap();
    let fixed: Vec<FixedAscii<6>> = ["E_mu1", "px", ""].iter().map(|s| FixedAscii::from_ascii(s).unwrap()).collect();
    file.new_dataset::<FixedAscii<6>>().shape([3]).create("fixed").unwrap().write_raw(&fixed).unwrap();
    let wide: Vec<FixedAscii<100>> = vec![FixedAscii::from_ascii(&"x".repeat(100)).unwrap()];
    file.new_dataset::<FixedAscii<100>>().shape([1]).create("wide").unwrap().write_raw(&wide).unwrap();
    let var: Vec<VarLenUnicode> = ["η_rel", "φ"].iter().map(|s| s.parse().unwrap()).collect();
    file.new_dataset::<VarLenUnicode>().shape([2]).create("var").unwrap().write_raw(&var).unwrap();
    file.new_dataset::<f64>().shape([2]).create("numbers").unwrap().write_raw(&[1.0, 2.0]).unwrap();
    drop(file);
    let f = H5File::open(&path).unwrap();
    assert_eq!(f.read_strings("fixed").unwrap(), vec!["E_mu1", "px", ""]);
    assert_eq!(f.read_strings("wide").unwrap(), vec!["x".repeat(100)]);
    assert_eq!(f.read_strings("var").unwrap(), vec!["η_rel", "φ"]);
    let e = f.read_strings("numbers").unwrap_err();
    assert!(e.to_string().contains("dataset 'numbers'") && e.msg.contains("expected strings"), "{e}");
    assert!(f.read_strings("absent").unwrap_err().msg.contains("missing"));
}

#[test]
fn text_attributes_are_u8_arrays_that_read_back_exactly() {
    let d = dir();
    let path = d.join("text.h5");
    let file = create_h5(&path).unwrap();
    let values = [("empty", ""), ("plain", "abc"), ("unicode", "η_rel φ ✓"), ("nul", "a\0b\0")];
    for (name, value) in values {
        write_text_attr(&file, name, value).unwrap();
    }
    file.new_attr::<u8>().shape([2]).create("bad").unwrap().write_raw(&[0xffu8, 0x41]).unwrap();
    file.new_attr::<u8>().shape([2, 2]).create("square").unwrap().write_raw(&[0x41u8; 4]).unwrap();
    let v: VarLenUnicode = "heap".parse().unwrap();
    file.new_attr::<VarLenUnicode>().create("vlen").unwrap().write_scalar(&v).unwrap();
    file.close().unwrap();
    let f = H5File::open(&path).unwrap();
    for (name, value) in values {
        assert_eq!(f.attr_string("", name).unwrap(), value, "{name}");
        assert_eq!(f.attr_string_outside_heap("", name).unwrap(), value, "{name}");
    }
    let e = f.attr_string("", "bad").unwrap_err();
    assert!(e.to_string().contains("attribute 'bad'") && e.msg.contains("UTF-8"), "{e}");
    assert!(f.attr_string("", "square").unwrap_err().msg.contains("one axis"));
    assert_eq!(f.attr_string("", "vlen").unwrap(), "heap");
    let e = f.attr_string_outside_heap("", "vlen").unwrap_err();
    assert!(e.to_string().contains("attribute 'vlen'") && e.msg.contains("variable-length"), "{e}");
}
