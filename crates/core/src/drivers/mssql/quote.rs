//! Quoting for SQL Server: identifiers as `QUOTENAME` does, string literals as `N'…'`, values in
//! ADO.NET and JDBC connection strings, and the sa password policy the image enforces.
//!
//! Nothing reaches the server or a connection string unquoted: project identifiers are plain
//! ASCII already (`crate::ident`), and these functions are what keeps a hostile name or password
//! from ending a literal early.

/// An identifier in brackets with `]` doubled, exactly what `QUOTENAME(name)` returns.
pub(crate) fn ident(s: &str) -> String {
    format!("[{}]", s.replace(']', "]]"))
}

/// A Unicode string literal with `'` doubled (`N'it''s'`).
pub(crate) fn literal(s: &str) -> String {
    format!("N'{}'", s.replace('\'', "''"))
}

/// Letters, digits, `_`, `-` and `.` (every identifier and password Dockhand makes): the same
/// in every connection-string format, no quoting needed.
fn plain(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// A value in an ADO.NET (SqlClient) connection string. Plain letters and digits stay as they
/// are; anything else is quoted per SqlClient's rules: in double quotes when the value holds
/// none, else in single quotes when it holds none of those, else in double quotes with `"`
/// doubled. Inside quotes `;`, `=`, `{`, `}` and spaces are literal.
pub(crate) fn ado_value(s: &str) -> String {
    if plain(s) {
        s.to_string()
    } else if !s.contains('"') {
        format!("\"{s}\"")
    } else if !s.contains('\'') {
        format!("'{s}'")
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

/// A property value in a Microsoft JDBC connection string: plain values as they are, anything else in braces with `}` doubled (the driver's escape for a closing brace).
pub(crate) fn jdbc_value(s: &str) -> String {
    if plain(s) {
        s.to_string()
    } else {
        format!("{{{}}}", s.replace('}', "}}"))
    }
}

/// A value in Prisma's `sqlserver://` URL, which Prisma reads as a JDBC string with the
/// `connection-string` crate: `:`, `=`, `\\`, `/`, `;`, `[`, `]` and `{` end or open a token, so
/// runs of them go inside braces; a `}` cannot be escaped inside braces in that grammar but is
/// an ordinary character outside them, so it stays bare.
pub(crate) fn prisma_value(s: &str) -> String {
    let special = |c: char| matches!(c, ':' | '=' | '\\' | '/' | ';' | '[' | ']' | '{');
    let mut out = String::with_capacity(s.len() + 2);
    let mut open = false;
    for c in s.chars() {
        if special(c) != open {
            out.push(if open { '}' } else { '{' });
            open = !open;
        }
        out.push(c);
    }
    if open {
        out.push('}');
    }
    out
}

/// SQL Server's password policy, which `MSSQL_SA_PASSWORD` must meet or the server does not
/// start: at least 8 characters from at least three of upper case, lower case, digits and
/// symbols.
pub(crate) fn meets_password_policy(pw: &str) -> bool {
    let classes = [
        pw.chars().any(|c| c.is_ascii_uppercase()),
        pw.chars().any(|c| c.is_ascii_lowercase()),
        pw.chars().any(|c| c.is_ascii_digit()),
        pw.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    pw.chars().count() >= 8 && classes.iter().filter(|c| **c).count() >= 3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_double_the_closing_bracket_like_quotename() {
        assert_eq!(ident("shop"), "[shop]");
        assert_eq!(ident("a]b"), "[a]]b]");
        assert_eq!(
            ident("x]; DROP DATABASE y; --"),
            "[x]]; DROP DATABASE y; --]"
        );
        // The only `]` left alone is the closing one: every other comes in pairs.
        let q = ident("]]]");
        assert_eq!(q[1..q.len() - 1].replace("]]", ""), "");
    }

    #[test]
    fn literals_double_the_quote_and_are_unicode() {
        assert_eq!(literal("pw"), "N'pw'");
        assert_eq!(literal("it's"), "N'it''s'");
        assert_eq!(literal("'; DROP LOGIN sa; --"), "N'''; DROP LOGIN sa; --'");
        let l = literal("a'b''c");
        assert!(!l[2..l.len() - 1].replace("''", "").contains('\''), "{l}");
    }

    #[test]
    fn prisma_values_brace_what_would_end_a_property() {
        assert_eq!(prisma_value("plain"), "plain");
        assert_eq!(prisma_value("a;b=c"), "a{;}b{=}c");
        assert_eq!(prisma_value("x}y"), "x}y");
        assert_eq!(prisma_value("{[;"), "{{[;}");
    }

    #[test]
    fn generated_passwords_meet_the_sa_password_policy() {
        assert!(!meets_password_policy("short1A"));
        assert!(!meets_password_policy("alllowercaseletters"));
        assert!(!meets_password_policy("lowerandUPPERonly"));
        assert!(meets_password_policy("lower1UPPER"));
        assert!(meets_password_policy("lower-upper-1"));
        // Every password Dockhand generates (the admin's and each project's) must pass, or
        // the server refuses to start: 20 000 draws, none may fail.
        for _ in 0..20_000 {
            let pw = crate::secrets::generate_password();
            assert!(meets_password_policy(pw.expose()), "{pw:?} fails");
        }
    }
}
