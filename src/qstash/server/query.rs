//! The query parameters (and JSON bodies) of QStash's list and bulk endpoints, as the SDKs send them:
//! repeated keys for lists (`?messageIds=a&messageIds=b`), dates in unix ms, an opaque `cursor`, and
//! for the Python SDK's bulk calls a JSON body (`{"messageIds": [...]}`, `{"dlqIds": [...]}`).

use super::percent_decode;
use crate::db::qstash::filter::Filter;
use serde::Deserialize;

/// The decoded `name=value` pairs of a query string.
pub fn pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name), percent_decode(value))
        })
        .collect()
}

/// A page request: where to start (`cursor`, an offset this server issued) and how many.
#[derive(Debug, PartialEq)]
pub struct Page {
    pub offset: i64,
    pub count: i64,
}

/// The first value of `name`.
pub fn first<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
}

/// `count` (default `default`, at most `max`) and `cursor`.
pub fn page(pairs: &[(String, String)], default: i64, max: i64) -> Result<Page, String> {
    let count = match first(pairs, "count") {
        None => default,
        Some(raw) => raw.parse::<i64>().ok().filter(|n| *n > 0).ok_or("count must be a positive whole number")?.min(max),
    };
    let offset = match first(pairs, "cursor") {
        None => 0,
        Some(raw) => raw.parse::<i64>().ok().filter(|n| *n >= 0).ok_or("invalid cursor")?,
    };
    Ok(Page { offset, count })
}

/// The parameters `GET /v2/events` takes.
pub const EVENT_PARAMS: &[&str] = &[
    "messageId",
    "messageIds",
    "state",
    "url",
    "label",
    "callerIp",
    "callerIP",
    "fromDate",
    "toDate",
    "topicName",
    "urlGroup",
    "scheduleId",
    "queueName",
    "flowControlKey",
    "endpointName",
    "host",
    "path",
    "count",
    "cursor",
];
/// The parameters of the DLQ's list and bulk calls.
pub const DLQ_PARAMS: &[&str] = &[
    "messageId",
    "messageIds",
    "dlqId",
    "dlqIds",
    "url",
    "label",
    "callerIp",
    "callerIP",
    "fromDate",
    "toDate",
    "responseStatus",
    "topicName",
    "urlGroup",
    "scheduleId",
    "queueName",
    "flowControlKey",
    "count",
    "cursor",
    "order",
];
/// The parameters of the bulk cancel.
pub const CANCEL_PARAMS: &[&str] = &[
    "messageId",
    "messageIds",
    "url",
    "label",
    "callerIp",
    "callerIP",
    "fromDate",
    "toDate",
    "topicName",
    "urlGroup",
    "scheduleId",
    "queueName",
    "flowControlKey",
    "host",
    "path",
    "count",
];

/// The filter of a list or bulk call, from the parameters `allowed` for it: any other is refused
/// (a bulk call must never widen to "everything" because a filter was misspelt or does not apply).
/// `IN_PROGRESS` stands for the states of a message still being tried; `CANCELLED` (the docs'
/// spelling) is QStash's `CANCELED`.
pub fn filter(pairs: &[(String, String)], allowed: &[&str]) -> Result<Filter, String> {
    let mut filter = Filter::default();
    let number = |name: &str, raw: &str| raw.parse::<i64>().map_err(|_| format!("{name} must be a number"));
    for (name, value) in pairs {
        if !allowed.contains(&name.as_str()) {
            return Err(format!("unknown parameter {name}"));
        }
        if value.is_empty() {
            continue;
        }
        match name.as_str() {
            "messageId" | "messageIds" => filter.message_ids.push(value.clone()),
            "dlqId" | "dlqIds" => filter.dlq_ids.push(value.clone()),
            "url" => filter.url = Some(value.clone()),
            "label" => filter.label = Some(value.clone()),
            "callerIp" | "callerIP" => filter.caller_ip = Some(value.clone()),
            "queueName" => filter.queue_name = Some(value.clone()),
            "topicName" | "urlGroup" => filter.topic_name = Some(value.clone()),
            "endpointName" => filter.endpoint_name = Some(value.clone()),
            "scheduleId" => filter.schedule_id = Some(value.clone()),
            "flowControlKey" => filter.flow_key = Some(value.clone()),
            "fromDate" => filter.from_ms = Some(number(name, value)?),
            "toDate" => filter.to_ms = Some(number(name, value)?),
            "responseStatus" => filter.response_status = Some(number(name, value)?),
            "state" => match value.as_str() {
                "IN_PROGRESS" => filter.states.extend(["ACTIVE", "RETRY", "ERROR"].map(String::from)),
                "CANCELLED" => filter.states.push("CANCELED".into()),
                "CREATED" | "ACTIVE" | "RETRY" | "ERROR" | "DELIVERED" | "FAILED" | "CANCEL_REQUESTED" | "CANCELED" => {
                    filter.states.push(value.clone())
                }
                _ => return Err(format!("unknown state {value}")),
            },
            // Kept by QStash, not (yet) by this server: nothing of its own matches them.
            "host" | "path" => filter.matches_nothing = true,
            _ => {}
        }
    }
    Ok(filter)
}

/// The Python SDK's bulk body. An empty list given is an empty selection, never "everything".
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BulkBody {
    pub message_ids: Option<Vec<String>>,
    pub dlq_ids: Option<Vec<String>>,
}

impl BulkBody {
    /// Adds the body's ids to `filter` (`dlq` for the DLQ's, else messages').
    pub fn apply(self, filter: &mut Filter, dlq: bool) {
        let ids = if dlq { self.dlq_ids } else { self.message_ids };
        match ids {
            Some(ids) if ids.is_empty() => filter.matches_nothing = true,
            Some(ids) if dlq => filter.dlq_ids.extend(ids),
            Some(ids) => filter.message_ids.extend(ids),
            None => {}
        }
    }
}

/// A bulk call's body, when it has one; an unreadable one is an error, an empty one is none.
pub fn bulk_body(body: &[u8]) -> Result<BulkBody, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(BulkBody::default());
    }
    serde_json::from_slice(body).map_err(|e| format!("invalid JSON body: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_sdks_query_forms() {
        let q = pairs(Some("messageIds=a&messageIds=b&url=https%3A%2F%2Fx.example%2Fy&fromDate=5&state=IN_PROGRESS&count=20&cursor=40"));
        let f = filter(&q, EVENT_PARAMS).unwrap();
        assert_eq!(f.message_ids, vec!["a", "b"]);
        assert_eq!(f.url.as_deref(), Some("https://x.example/y"));
        assert_eq!(f.from_ms, Some(5));
        assert_eq!(f.states, vec!["ACTIVE", "RETRY", "ERROR"]);
        assert_eq!(page(&q, 100, 100).unwrap(), Page { offset: 40, count: 20 });
        assert_eq!(page(&pairs(Some("count=5000")), 100, 1000).unwrap().count, 1000);
        assert!(page(&pairs(Some("count=-1")), 100, 100).is_err());
        assert!(filter(&pairs(Some("state=CANCELLED")), EVENT_PARAMS).unwrap().states == vec!["CANCELED"]);
        assert!(filter(&pairs(Some("state=LOST")), EVENT_PARAMS).is_err());
        assert!(filter(&pairs(Some("fromDate=yesterday")), EVENT_PARAMS).is_err());
        assert_eq!(filter(&pairs(Some("queueName=q")), EVENT_PARAMS).unwrap().queue_name.as_deref(), Some("q"));
        assert!(filter(&pairs(Some("host=h")), EVENT_PARAMS).unwrap().matches_nothing);
        // A misspelt or foreign filter never widens a bulk call to everything.
        assert!(filter(&pairs(Some("messageid=x")), CANCEL_PARAMS).is_err());
        assert!(filter(&pairs(Some("responseStatus=500")), CANCEL_PARAMS).is_err());
        assert!(filter(&pairs(Some("state=CREATED")), DLQ_PARAMS).is_err());
        let mut f = Filter::default();
        bulk_body(br#"{"dlqIds":["1-a"]}"#).unwrap().apply(&mut f, true);
        assert_eq!(f.dlq_ids, vec!["1-a"]);
        let mut f = Filter::default();
        bulk_body(br#"{"messageIds":[]}"#).unwrap().apply(&mut f, false);
        assert!(f.matches_nothing, "an empty list selects nothing");
        assert!(bulk_body(b"  ").unwrap().message_ids.is_none());
        assert!(bulk_body(b"nope").is_err());
        assert!(bulk_body(br#"{"ids":["x"]}"#).is_err());
    }
}
