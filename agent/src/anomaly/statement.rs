//! What an SQL statement found in a log exports: its kind, its table, its destination, and
//! whether it is a harmless aggregate.
//!
//! `COPY shop.customers TO '/tmp/customers.csv' CSV` takes a table to a file;
//! `COPY (SELECT * FROM customers WHERE …) TO STDOUT` takes the rows of a query (its first
//! `FROM` names the table); `COPY (SELECT count(*) FROM customers) TO STDOUT` takes one row of
//! figures and is no export of personal data; `SELECT … INTO OUTFILE '/var/lib/mysql-files/c.csv'`
//! is MySQL's. The text is read, never executed; anything unexpected is "not an export".

use regex::bytes::Regex;
use std::sync::LazyLock;

static COPY_TAG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i-u)(?:^|[\s:])COPY (\d{1,15})\s*;?\s*$").expect("static regex"));
static OUTFILE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i-u)\binto\s+(outfile|dumpfile)\s+").expect("static regex"));

/// Longest statement text looked at (bytes).
const MAX_STATEMENT: usize = 64 << 10;

/// An export statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// `copy` or `outfile`.
    pub kind: &'static str,
    /// `COPY … TO`, `SELECT … INTO OUTFILE`, `SELECT … INTO DUMPFILE`.
    pub statement: &'static str,
    /// The table taken, when the statement names one (as written, without quotes).
    pub table: Option<String>,
    /// A file path, `STDOUT`, or `PROGRAM command`.
    pub destination: String,
    /// True for a query of aggregates only (`count(*)`, `sum(…)` without `GROUP BY`): one row
    /// of figures, no personal data.
    pub aggregate: bool,
}

/// The row count of a `COPY n` command tag ending a line.
pub fn copy_tag(line: &[u8]) -> Option<u64> {
    let c = COPY_TAG.captures(line)?;
    std::str::from_utf8(&c[1]).ok()?.parse().ok()
}

/// A `COPY … TO` statement in `line`, if there is one (`COPY … FROM` is an import, not one).
pub fn copy_to(line: &[u8]) -> Option<Export> {
    let text = String::from_utf8_lossy(&line[..line.len().min(MAX_STATEMENT)]);
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("copy") {
        let at = from + i;
        from = at + 4;
        let before_ok = at == 0 || !lower.as_bytes()[at - 1].is_ascii_alphanumeric() && lower.as_bytes()[at - 1] != b'_';
        let after = &text[at + 4..];
        if !before_ok || !after.starts_with(|c: char| c.is_ascii_whitespace() || c == '(') {
            continue;
        }
        if let Some(e) = parse_copy(after.trim_start()) {
            return Some(e);
        }
    }
    None
}

fn parse_copy(rest: &str) -> Option<Export> {
    let (table, query, rest) = if let Some(inner) = rest.strip_prefix('(') {
        let end = closing(inner)?;
        let query = &inner[..end];
        (from_table(query), Some(query), &inner[end + 1..])
    } else {
        let rest = strip_keyword(rest, "only").unwrap_or(rest);
        let (name, rest) = identifier(rest)?;
        let rest = rest.trim_start();
        let rest = match rest.strip_prefix('(') {
            Some(cols) => &cols[closing(cols)? + 1..],
            None => rest,
        };
        (Some(name), None, rest)
    };
    let rest = strip_keyword(rest.trim_start(), "to")?;
    let destination = if strip_keyword(rest, "stdout").is_some() {
        "STDOUT".to_string()
    } else if let Some(r) = strip_keyword(rest, "program") {
        format!("PROGRAM {}", quoted(r.trim_start())?)
    } else {
        let r = rest.strip_prefix(['E', 'e']).filter(|r| r.starts_with('\'')).unwrap_or(rest);
        quoted(r)?
    };
    Some(Export { kind: "copy", statement: "COPY … TO", table, destination, aggregate: query.is_some_and(is_aggregate) })
}

/// A `SELECT … INTO OUTFILE|DUMPFILE 'path'` statement in `line`, if there is one.
pub fn into_outfile(line: &[u8]) -> Option<Export> {
    let line = &line[..line.len().min(MAX_STATEMENT)];
    let m = OUTFILE.captures(line)?;
    let whole = m.get(0)?;
    let dumpfile = m[1].eq_ignore_ascii_case(b"dumpfile");
    let after = String::from_utf8_lossy(&line[whole.end()..]);
    let destination = quoted(after.trim_start())?;
    // The query without its INTO clause, from its SELECT on.
    let before = String::from_utf8_lossy(&line[..whole.start()]).into_owned();
    let lower_before = before.to_ascii_lowercase();
    let select = lower_before.rfind("select").map_or(before.as_str(), |i| &before[i..]);
    let tail = {
        let skip = destination.len() + 2;
        after.trim_start().get(skip..).unwrap_or("").to_string()
    };
    let query = format!("{select} {tail}");
    Some(Export {
        kind: "outfile",
        statement: if dumpfile { "SELECT … INTO DUMPFILE" } else { "SELECT … INTO OUTFILE" },
        table: from_table(&query),
        destination,
        aggregate: is_aggregate(&query),
    })
}

/// The first table a query reads (`FROM name`, a subquery's when the first `FROM` is one).
pub fn from_table(query: &str) -> Option<String> {
    let lower = query.to_ascii_lowercase();
    let at = top_level_keyword(&lower, "from")?;
    let rest = query[at + 4..].trim_start();
    match rest.strip_prefix('(') {
        Some(inner) => from_table(&inner[..closing(inner).unwrap_or(inner.len())]),
        None => identifier(rest).map(|(name, _)| name),
    }
}

/// True for a query of aggregates only: every item of its select list an aggregate function
/// (not one that concatenates values, like `string_agg`) or a constant, and no `GROUP BY`,
/// `DISTINCT` or `UNION`.
pub fn is_aggregate(query: &str) -> bool {
    const AGGREGATES: &[&str] =
        &["count", "sum", "avg", "min", "max", "stddev", "stddev_pop", "stddev_samp", "variance", "var_pop", "var_samp", "bool_and", "bool_or", "every"];
    let lower = query.trim().to_ascii_lowercase();
    let Some(list) = lower.strip_prefix("select") else { return false };
    if !list.starts_with(|c: char| c.is_ascii_whitespace()) {
        return false;
    }
    for keyword in ["group", "union", "intersect", "except"] {
        if top_level_keyword(&lower, keyword).is_some() {
            return false;
        }
    }
    let end = top_level_keyword(list, "from").unwrap_or(list.len());
    let list = list[..end].trim();
    if list.is_empty() || list.starts_with("distinct") || list.starts_with("all ") {
        return false;
    }
    split_top_level(list).iter().all(|item| {
        let item = item.trim();
        let name_end = item.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(item.len());
        let (name, rest) = item.split_at(name_end);
        let call = rest.trim_start().starts_with('(');
        (call && AGGREGATES.contains(&name)) || item.chars().next().is_some_and(|c| c.is_ascii_digit() || c == '\'')
    })
}

/// The offset of `keyword` as a word outside parentheses and quotes.
fn top_level_keyword(lower: &str, keyword: &str) -> Option<usize> {
    let b = lower.as_bytes();
    let (mut depth, mut quote) = (0i32, None::<u8>);
    for i in 0..b.len() {
        let c = b[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                b'\'' | b'"' | b'`' => quote = Some(c),
                b'(' => depth += 1,
                b')' => depth -= 1,
                _ if depth == 0 && b[i..].starts_with(keyword.as_bytes()) => {
                    let before = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
                    let after = b.get(i + keyword.len()).is_none_or(|&a| !(a.is_ascii_alphanumeric() || a == b'_'));
                    if before && after {
                        return Some(i);
                    }
                }
                _ => {}
            },
        }
    }
    None
}

fn split_top_level(list: &str) -> Vec<&str> {
    let (mut depth, mut quote, mut start, mut out) = (0i32, None::<char>, 0, Vec::new());
    for (i, c) in list.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' => quote = Some(c),
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    out.push(&list[start..i]);
                    start = i + 1;
                }
                _ => {}
            },
        }
    }
    out.push(&list[start..]);
    out
}

/// The offset of the `)` closing a group whose `(` was just before `text`.
fn closing(text: &str) -> Option<usize> {
    let (mut depth, mut quote) = (0i32, None::<char>);
    for (i, c) in text.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' => quote = Some(c),
                '(' => depth += 1,
                ')' if depth == 0 => return Some(i),
                ')' => depth -= 1,
                _ => {}
            },
        }
    }
    None
}

/// `text` after `keyword` and the white space that must follow it (or its end).
fn strip_keyword<'a>(text: &'a str, keyword: &str) -> Option<&'a str> {
    let head = text.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = &text[keyword.len()..];
    (rest.is_empty() || rest.starts_with(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))).then(|| rest.trim_start())
}

/// A table name (`customers`, `shop.customers`, `"Shop"."Customers"`, `` `shop`.`customers` ``)
/// at the start of `text`, unquoted, and what follows it.
fn identifier(text: &str) -> Option<(String, &str)> {
    let mut name = String::new();
    let mut rest = text;
    loop {
        if let Some(q) = rest.chars().next().filter(|c| *c == '"' || *c == '`') {
            let inner = &rest[1..];
            let end = inner.find(q)?;
            name.push_str(&inner[..end]);
            rest = &inner[end + 1..];
        } else {
            let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$')).unwrap_or(rest.len());
            if end == 0 {
                return None;
            }
            name.push_str(&rest[..end]);
            rest = &rest[end..];
        }
        match rest.strip_prefix('.') {
            Some(r) => {
                name.push('.');
                rest = r;
            }
            None => break,
        }
    }
    (name.len() <= 200).then_some((name, rest))
}

/// The content of a quoted string at the start of `text` (`'…'` with `''` escapes, or `"…"`).
fn quoted(text: &str) -> Option<String> {
    let q = text.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let mut out = String::new();
    let mut chars = text[1..].chars().peekable();
    while let Some(c) = chars.next() {
        if c == q {
            if chars.peek() == Some(&q) {
                chars.next();
                out.push(q);
                continue;
            }
            return Some(out.chars().take(512).collect());
        }
        out.push(c);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy(s: &str) -> Option<Export> {
        copy_to(s.as_bytes())
    }

    #[test]
    fn a_copy_names_its_table_and_destination() {
        let e = copy("LOG:  statement: COPY shop.customers TO '/tmp/customers.csv' CSV").unwrap();
        assert_eq!((e.table.as_deref(), e.destination.as_str(), e.statement, e.aggregate), (Some("shop.customers"), "/tmp/customers.csv", "COPY … TO", false));
        let e = copy("statement: copy public.customers (id, email) to stdout;").unwrap();
        assert_eq!((e.table.as_deref(), e.destination.as_str()), (Some("public.customers"), "STDOUT"));
        let e = copy("COPY (SELECT c.* FROM \"Shop\".\"Customers\" c WHERE c.id > 3) TO PROGRAM 'gzip > /tmp/c.gz'").unwrap();
        assert_eq!((e.table.as_deref(), e.destination.as_str()), (Some("Shop.Customers"), "PROGRAM gzip > /tmp/c.gz"));
        let e = copy("COPY (SELECT * FROM (SELECT email FROM customers) s) TO E'/tmp/it''s.csv'").unwrap();
        assert_eq!((e.table.as_deref(), e.destination.as_str()), (Some("customers"), "/tmp/it's.csv"));
        assert_eq!(copy("COPY staging_orders FROM STDIN WITH (FORMAT csv)"), None);
        assert_eq!(copy("SELECT 'copy to clipboard' AS label"), None);
        assert_eq!(copy("statement: SELECT * FROM copy_jobs"), None);
    }

    #[test]
    fn an_aggregate_is_told_apart_from_a_table_export() {
        assert!(copy("COPY (SELECT count(*) FROM customers) TO STDOUT").unwrap().aggregate);
        assert!(copy("COPY (select count(*) as n, max(created_at), 42 from shop.customers where x = 'a,b') to stdout").unwrap().aggregate);
        for not in [
            "COPY (SELECT country, count(*) FROM customers GROUP BY country) TO STDOUT",
            "COPY (SELECT string_agg(email, ',') FROM customers) TO STDOUT",
            "COPY (SELECT email, count(*) FROM customers) TO STDOUT",
            "COPY (SELECT * FROM customers) TO STDOUT",
            "COPY (SELECT count(*) FROM a UNION SELECT email FROM b) TO STDOUT",
            "COPY customers TO STDOUT",
        ] {
            assert!(!copy(not).unwrap().aggregate, "{not}");
        }
    }

    #[test]
    fn mysql_outfiles_and_copy_tags() {
        let e = into_outfile(b"42 Query\tSELECT * FROM shop.customers INTO OUTFILE '/var/lib/mysql-files/c.csv' FIELDS TERMINATED BY ','").unwrap();
        assert_eq!((e.kind, e.table.as_deref(), e.destination.as_str()), ("outfile", Some("shop.customers"), "/var/lib/mysql-files/c.csv"));
        let e = into_outfile(b"SELECT email INTO DUMPFILE '/tmp/x' FROM `customers` LIMIT 1").unwrap();
        assert_eq!((e.statement, e.table.as_deref()), ("SELECT … INTO DUMPFILE", Some("customers")));
        assert!(into_outfile(b"SELECT count(*) FROM customers INTO OUTFILE '/tmp/n'").unwrap().aggregate);
        assert_eq!(copy_tag(b"2026-11-20 23:41:08 UTC [902] user=jdoe@shop LOG:  COPY 20000"), Some(20000));
        assert_eq!(copy_tag(b"COPY 42;"), Some(42));
        assert_eq!(copy_tag(b"COPY 42 rows were not copied"), None);
        for junk in [
            &b"COPY ("[..],
            b"copy \"unterminated",
            b"COPY x TO '",
            b"\xff\xfeCOPY (SELECT (((( TO STDOUT",
            b"INTO OUTFILE 'x",
            "COPY (SELECT \u{e9}t\u{e9} FROM cli\u{eb}nts WHERE x = '\u{fc}') TO STDOUT".as_bytes(),
            "SELECT \u{1f600} FROM t INTO OUTFILE '/tmp/\u{e9}'".as_bytes(),
        ] {
            let _ = (copy_to(junk), into_outfile(junk));
        }
    }
}
