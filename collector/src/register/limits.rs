//! Bounds on a register file, checked before it is parsed.
//!
//! The register is written by people, but it is also a file a watch reloads on its own: a
//! register that is huge, nested without end or a zip bomb must be refused with a reason, not
//! take the collector's memory or minutes of CPU. A real register is kilobytes (one activity is
//! a dozen lines), so the bounds are far above any: [`MAX_FILE_BYTES`] on disk for every format,
//! [`MAX_YAML_DEPTH`] levels of YAML nesting (the YAML parser's time grows with the square of
//! the depth: 100,000 levels took 45 s), and [`MAX_XLSX_UNPACKED_BYTES`] unpacked for a
//! workbook, counted by decompressing it into nothing — a zip's own size fields can lie —
//! before the spreadsheet reader loads it.

use super::model::{Format, Problem};
use std::io::Read;
use std::path::Path;

/// Largest register file accepted, in any format.
pub const MAX_FILE_BYTES: u64 = 4 << 20;
/// Deepest nesting of a YAML register (a register needs about five levels).
pub const MAX_YAML_DEPTH: usize = 64;
/// Largest total size of an XLSX register's unpacked parts.
pub const MAX_XLSX_UNPACKED_BYTES: u64 = 32 << 20;
/// Most parts in an XLSX register.
const MAX_XLSX_PARTS: usize = 1_000;

fn whole(reason: String) -> Problem {
    Problem { at: String::new(), field: String::new(), reason }
}

/// Refuses a file over [`MAX_FILE_BYTES`], and an XLSX over its unpacked bounds.
pub fn check_file(path: &Path, format: Format) -> Result<(), Problem> {
    let len = std::fs::metadata(path).map_err(|e| whole(format!("cannot read: {e}")))?.len();
    if len > MAX_FILE_BYTES {
        return Err(whole(format!("the register is {len} bytes; at most {MAX_FILE_BYTES} are accepted (a register is usually a few kilobytes)")));
    }
    if format == Format::Xlsx {
        check_xlsx(path)?;
    }
    Ok(())
}

fn check_xlsx(path: &Path) -> Result<(), Problem> {
    let file = std::fs::File::open(path).map_err(|e| whole(format!("cannot read: {e}")))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| whole(format!("cannot read XLSX: {e}")))?;
    if zip.len() > MAX_XLSX_PARTS {
        return Err(whole(format!("the workbook has {} parts; at most {MAX_XLSX_PARTS} are accepted", zip.len())));
    }
    let mut left = MAX_XLSX_UNPACKED_BYTES;
    for i in 0..zip.len() {
        let part = zip.by_index(i).map_err(|e| whole(format!("cannot read XLSX: {e}")))?;
        let unpacked = std::io::copy(&mut part.take(left + 1), &mut std::io::sink()).map_err(|e| whole(format!("cannot read XLSX: {e}")))?;
        if unpacked > left {
            return Err(whole(format!("the workbook unpacks to more than {MAX_XLSX_UNPACKED_BYTES} bytes (a zip bomb?); a register is far smaller")));
        }
        left -= unpacked;
    }
    Ok(())
}

/// Refuses YAML text nested deeper than [`MAX_YAML_DEPTH`]: by indentation (a level every two
/// columns at most), by `- ` items opened on one line, and by `[`/`{` flow collections.
pub fn check_yaml_depth(text: &str) -> Result<(), Problem> {
    let mut flow = 0usize;
    for (n, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
        let rest = &line[indent..];
        let dashes = rest.split_inclusive("- ").take_while(|p| *p == "- ").count();
        let mut quote = None;
        for c in rest.chars() {
            match (quote, c) {
                (None, '#') => break,
                (None, '\'' | '"') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, '[' | '{') => flow += 1,
                (None, ']' | '}') => flow = flow.saturating_sub(1),
                _ => {}
            }
            if flow > MAX_YAML_DEPTH {
                break;
            }
        }
        if indent / 2 + dashes + flow > MAX_YAML_DEPTH {
            return Err(Problem {
                at: format!("line {}", n + 1),
                field: String::new(),
                reason: format!("nested more than {MAX_YAML_DEPTH} levels deep; a register needs about five"),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn deep_yaml_is_refused_in_every_style_and_a_normal_register_passes() {
        let flow = format!("activity: {}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(check_yaml_depth(&flow).unwrap_err().reason.contains("nested"));
        let block: String = (0..200).map(|i| format!("{}k{i}:\n", "  ".repeat(i))).collect();
        assert_eq!(check_yaml_depth(&block).unwrap_err().at, "line 66");
        assert!(check_yaml_depth(&format!("{}x", "- ".repeat(100))).is_err());
        let normal =
            "controller:\n  name: Acme\nactivity:\n  - id: hr\n    data_categories: [contact, \"[not a list\"]\n    system:\n      - hosts: ['hr-*']  # [\n";
        assert!(check_yaml_depth(normal).is_ok());
    }

    #[test]
    fn the_register_loader_refuses_what_is_over_the_limits_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("register.yaml");
        std::fs::write(&deep, format!("controller:\n  name: {}x{}\n", "[".repeat(100_000), "]".repeat(100_000))).unwrap();
        let e = super::super::Register::load(&deep).unwrap_err().to_string();
        assert!(e.contains("nested more than 64 levels"), "{e}");
        let big = dir.path().join("register.toml");
        std::fs::write(&big, format!("[controller]\nname = \"Acme\"\n{}", "# padding\n".repeat(500_000))).unwrap();
        let e = super::super::Register::load(&big).unwrap_err().to_string();
        assert!(e.contains("at most 4194304 are accepted"), "{e}");
    }

    #[test]
    fn an_oversized_file_and_an_xlsx_bomb_are_refused_before_parsing() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.toml");
        std::fs::write(&big, vec![b'#'; MAX_FILE_BYTES as usize + 1]).unwrap();
        assert!(check_file(&big, Format::Toml).unwrap_err().reason.contains("bytes"));
        // 40 MB of zeros deflate to about 40 kB.
        let bomb = dir.path().join("bomb.xlsx");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&bomb).unwrap());
        zip.start_file("xl/worksheets/sheet1.xml", zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated)).unwrap();
        let zeros = vec![b'0'; 1 << 20];
        for _ in 0..40 {
            zip.write_all(&zeros).unwrap();
        }
        zip.finish().unwrap();
        assert!(std::fs::metadata(&bomb).unwrap().len() < 1 << 20);
        assert!(check_file(&bomb, Format::Xlsx).unwrap_err().reason.contains("unpacks"));
        let e = super::super::Register::load(&bomb).unwrap_err().to_string();
        assert!(e.contains("unpacks to more than"), "through the loader too: {e}");
    }
}
