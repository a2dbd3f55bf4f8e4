//! Text output of the admin-API commands: `name: value` lines for one record, an aligned
//! table for a list. (`--output json` prints the commands' shapes instead.)

/// `name: value` lines, the values aligned.
pub fn fields(lines: &[(&str, String)]) -> String {
    let width = lines.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (name, value) in lines {
        out.push_str(&format!(
            "{:<width$} {value}\n",
            format!("{name}:"),
            width = width + 1
        ));
    }
    out
}

/// A table: the headers, then one row per item, columns padded to their widest cell.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(headers.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// The value, or `-` when there is none.
pub fn or_dash(value: Option<String>) -> String {
    value.unwrap_or_else(|| "-".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_their_columns() {
        let t = table(
            &["A", "LONG"],
            &[
                vec!["wide-cell".into(), "x".into()],
                vec!["b".into(), "y".into()],
            ],
        );
        assert_eq!(t, "A          LONG\nwide-cell  x\nb          y\n");
    }

    #[test]
    fn fields_align_their_values() {
        assert_eq!(
            fields(&[("a", "1".into()), ("long", "2".into())]),
            "a:    1\nlong: 2\n"
        );
    }
}
