//! The selection QStash's list and bulk endpoints take (`messageIds`, `url`, `label`, `fromDate`, …),
//! turned into a SQL `WHERE` with numbered parameters (the same text runs on SQLite and PostgreSQL).

/// What a list or bulk call selects. Empty means everything.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    pub message_ids: Vec<String>,
    pub dlq_ids: Vec<String>,
    pub url: Option<String>,
    pub label: Option<String>,
    pub caller_ip: Option<String>,
    pub queue_name: Option<String>,
    pub topic_name: Option<String>,
    pub endpoint_name: Option<String>,
    pub schedule_id: Option<String>,
    pub flow_key: Option<String>,
    /// Event states (`IN_PROGRESS` already expanded to the states it stands for).
    pub states: Vec<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub response_status: Option<i64>,
    /// A filter on what this server does not keep (hosts and paths):
    /// it matches nothing, as it would match nothing of this server's at QStash.
    pub matches_nothing: bool,
}

/// A value bound to a numbered parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum Bind {
    Text(String),
    Int(i64),
}

/// SQL text with its parameters, numbered in the order they were added.
#[derive(Debug, Default)]
pub struct Sql {
    pub text: String,
    pub binds: Vec<Bind>,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Self { text: text.to_string(), binds: Vec::new() }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a parameter placeholder for `value`.
    pub fn bind(&mut self, value: Bind) -> &mut Self {
        self.binds.push(value);
        self.text.push_str(&format!("${}", self.binds.len()));
        self
    }

    fn bind_list(&mut self, values: &[String]) {
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(Bind::Text(value.clone()));
        }
    }

    /// ` AND …` for every part of `filter`, on the query's `columns` (e.g. `m.id`, `d.created_at`).
    pub fn filter(&mut self, filter: &Filter, columns: &Columns) -> &mut Self {
        if filter.matches_nothing {
            self.push(" AND 1 = 0");
        }
        if !filter.message_ids.is_empty() {
            self.push(&format!(" AND {} IN (", columns.message_id));
            self.bind_list(&filter.message_ids);
            self.push(")");
        }
        if let (false, Some(column)) = (filter.dlq_ids.is_empty(), columns.dlq_id) {
            self.push(&format!(" AND {column} IN ("));
            self.bind_list(&filter.dlq_ids);
            self.push(")");
        }
        if let (false, Some(column)) = (filter.states.is_empty(), columns.state) {
            self.push(&format!(" AND {column} IN ("));
            self.bind_list(&filter.states);
            self.push(")");
        }
        let text = [
            (columns.url, &filter.url),
            (columns.label, &filter.label),
            (columns.caller_ip, &filter.caller_ip),
            (columns.queue_name, &filter.queue_name),
            (columns.topic_name, &filter.topic_name),
            (columns.endpoint_name, &filter.endpoint_name),
            (columns.schedule_id, &filter.schedule_id),
            (columns.flow_key, &filter.flow_key),
        ];
        for (column, value) in text {
            if let Some(value) = value {
                self.push(&format!(" AND {column} = ")).bind(Bind::Text(value.clone()));
            }
        }
        if let Some(from) = filter.from_ms {
            self.push(&format!(" AND {} >= ", columns.time)).bind(Bind::Int(from));
        }
        if let Some(to) = filter.to_ms {
            self.push(&format!(" AND {} <= ", columns.time)).bind(Bind::Int(to));
        }
        if let (Some(status), Some(column)) = (filter.response_status, columns.response_status) {
            self.push(&format!(" AND {column} = ")).bind(Bind::Int(status));
        }
        self
    }
}

/// The columns a filter applies to, in one query.
pub struct Columns {
    pub message_id: &'static str,
    pub url: &'static str,
    pub label: &'static str,
    pub caller_ip: &'static str,
    pub queue_name: &'static str,
    pub topic_name: &'static str,
    pub endpoint_name: &'static str,
    pub schedule_id: &'static str,
    pub flow_key: &'static str,
    pub time: &'static str,
    pub dlq_id: Option<&'static str>,
    pub state: Option<&'static str>,
    pub response_status: Option<&'static str>,
}

/// Binds `sql`'s parameters to a query built from its text.
macro_rules! bound {
    ($query:expr, $binds:expr) => {{
        let mut query = $query;
        for bind in $binds {
            query = match bind {
                $crate::db::qstash::filter::Bind::Text(text) => query.bind(text.clone()),
                $crate::db::qstash::filter::Bind::Int(n) => query.bind(*n),
            };
        }
        query
    }};
}
pub(crate) use bound;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_become_numbered_parameters() {
        let columns = Columns {
            message_id: "m.id",
            url: "m.destination",
            label: "m.label",
            caller_ip: "m.caller_ip",
            queue_name: "m.queue_name",
            topic_name: "m.topic_name",
            endpoint_name: "m.endpoint_name",
            schedule_id: "m.schedule_id",
            flow_key: "m.flow_key",
            time: "d.created_at",
            dlq_id: Some("d.dlq_id"),
            state: None,
            response_status: Some("d.response_status"),
        };
        let filter = Filter {
            message_ids: vec!["a".into(), "b".into()],
            url: Some("https://x".into()),
            from_ms: Some(5),
            response_status: Some(500),
            states: vec!["FAILED".into()],
            ..Default::default()
        };
        let mut sql = Sql::new("SELECT 1 FROM t WHERE 1 = 1");
        sql.filter(&filter, &columns);
        assert_eq!(
            sql.text,
            "SELECT 1 FROM t WHERE 1 = 1 AND m.id IN ($1, $2) AND m.destination = $3 AND d.created_at >= $4 AND d.response_status = $5"
        );
        assert_eq!(sql.binds.len(), 5);
        let mut none = Sql::new("x WHERE 1 = 1");
        none.filter(&Filter { matches_nothing: true, ..Default::default() }, &columns);
        assert_eq!(none.text, "x WHERE 1 = 1 AND 1 = 0");
    }
}
