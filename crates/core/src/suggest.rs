//! "Did you mean …?": the closest known name to a mistyped one (a service, a kind, a variable),
//! so an error names the likely fix instead of listing every name there is.

/// The candidate closest to `word` (case-insensitive), if it is close enough to be what the
/// user meant: at most two edits away (one for short words), and not the whole word changed.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_lowercase();
    let limit = if lower.chars().count() <= 4 { 1 } else { 2 };
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(&lower, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= limit && *d < c.chars().count())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_a_close_name_and_nothing_for_a_far_one() {
        let kinds = ["postgres", "redis", "mariadb", "mysql", "mongo"];
        assert_eq!(closest("postgress", kinds), Some("postgres"));
        assert_eq!(closest("Postgres", kinds), Some("postgres"));
        assert_eq!(closest("rdis", kinds), Some("redis"));
        assert_eq!(closest("mysq", kinds), Some("mysql"));
        assert_eq!(closest("oracle", kinds), None);
        assert_eq!(closest("pg", kinds), None);
        let vars = ["DATABASE_URL", "REDIS_URL", "PGPASSWORD"];
        assert_eq!(closest("DATABSE_URL", vars), Some("DATABASE_URL"));
        assert_eq!(closest("database_url", vars), Some("DATABASE_URL"));
        assert_eq!(closest("MONGODB_URI", vars), None);
    }
}
