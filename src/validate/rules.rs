//! Rules a JSON schema cannot express. Each component's own rules live in its module
//! (`Component::check`); the rules here are between components and sections.

use super::{Problem, path};
use crate::component::{self, Component};
use crate::formats::{Cidr, CronSchedule, PromDuration};
use crate::profile::Profile;

/// Rules between values that a JSON schema cannot express.
pub fn semantic(p: &Profile) -> Vec<Problem> {
    let mut found = Found(Vec::new());
    let components = component::of(p);
    sections(p, &components, &mut found);
    for c in &components {
        (c.check)(p, &mut found);
        for (at, r) in (c.resources)(p) {
            requests_within_limits(at, r, &mut found);
        }
    }
    metrics_and_network(p, &mut found);
    found.0
}

/// Problems collected by the semantic checks.
pub struct Found(Vec<Problem>);

impl Found {
    /// A problem with the value at dotted path `at`.
    pub fn fail(&mut self, at: &str, message: String) {
        self.0.push(Problem::new(path(at), message));
    }

    pub fn check_schedule(&mut self, at: &str, schedule: &CronSchedule) {
        if let Err(e) = schedule.check() {
            self.fail(
                at,
                format!("`{}` is not a valid cron schedule: {e}", schedule.as_str()),
            );
        }
    }

    pub fn check_cidr(&mut self, at: &str, cidr: &Cidr) {
        if let Err(e) = cidr.check() {
            self.fail(at, format!("`{}` is not a valid CIDR: {e}", cidr.as_str()));
        }
    }
}

fn requests_within_limits(at: &str, r: &crate::profile::Resources, found: &mut Found) {
    let (req, lim) = (&r.requests, &r.limits);
    let pairs = [
        (
            "memory",
            req.memory.bytes() > lim.memory.bytes(),
            req.memory.as_str(),
            lim.memory.as_str(),
        ),
        (
            "cpu",
            req.cpu.millis() > lim.cpu.millis(),
            req.cpu.as_str(),
            lim.cpu.as_str(),
        ),
    ];
    for (resource, exceeds, request, limit) in pairs {
        if exceeds {
            found.fail(
                &format!("{at}.requests.{resource}"),
                format!(
                    "request `{request}` exceeds the limit `{limit}` (expected request <= limit)"
                ),
            );
        }
    }
}

/// Sections that only make sense together with a component: the chosen database's section,
/// and the sections of the parts that monitor, protect or scale components.
fn sections(p: &Profile, components: &[&Component], found: &mut Found) {
    let chosen = p.profile.database;
    for database in component::databases() {
        let (name, section) = (database.choice.as_str(), database.section);
        let present = (database.configured)(p);
        if database.choice == chosen && !present {
            found.fail(
                "profile.database",
                format!("`{name}` needs a `{section}` section, which configures it"),
            );
        } else if database.choice != chosen && present {
            found.fail(
                section,
                format!(
                    "is only valid with profile.database `{name}` (this profile's database is `{}`)",
                    chosen.as_str()
                ),
            );
        }
    }
    let stateful = components.iter().any(|c| c.stateful_service);
    let alert_rules = components.iter().any(|c| c.alert_rules);
    let autoscaling = p.autoscaling.is_some();
    let requires = [
        (
            "metrics",
            p.metrics.is_some(),
            stateful,
            "`postgresql` or `valkey`",
        ),
        (
            "metrics.prometheusRule",
            p.metrics
                .as_ref()
                .is_some_and(|m| m.prometheus_rule.is_some()),
            alert_rules,
            "`postgresql` or `valkey`",
        ),
        (
            "networkPolicy",
            p.network_policy.is_some(),
            stateful,
            "`postgresql` or `valkey`",
        ),
        (
            "podDisruptionBudget",
            p.pod_disruption_budget.is_some(),
            autoscaling,
            "`autoscaling`",
        ),
    ];
    for (at, present, wanted, with) in requires {
        if present != wanted {
            let verb = if present {
                "is only valid"
            } else {
                "is required"
            };
            found.fail(at, format!("{verb} together with a {with} section"));
        }
    }
}

/// The shared `metrics` and `networkPolicy` sections' own rules.
fn metrics_and_network(p: &Profile, found: &mut Found) {
    if let Some(sm) = p.metrics.as_ref().map(|m| &m.service_monitor)
        && duration_ms(&sm.scrape_timeout) > duration_ms(&sm.interval)
    {
        found.fail(
            "metrics.serviceMonitor.scrapeTimeout",
            format!(
                "`{}` is longer than the scrape interval `{}`",
                sm.scrape_timeout.as_str(),
                sm.interval.as_str()
            ),
        );
    }
    if let Some(np) = &p.network_policy {
        for (i, c) in np.extra_database_client_cidrs.iter().enumerate() {
            found.check_cidr(&format!("networkPolicy.extraDatabaseClientCidrs.{i}"), c);
        }
    }
}

/// Milliseconds of a Prometheus duration such as `1m30s` (the pattern guarantees the shape).
fn duration_ms(d: &PromDuration) -> u64 {
    let mut total = 0u64;
    let mut number = 0u64;
    let mut chars = d.as_str().chars().peekable();
    while let Some(c) = chars.next() {
        if let Some(digit) = c.to_digit(10) {
            number = number.saturating_mul(10).saturating_add(u64::from(digit));
            continue;
        }
        let unit = if c == 'm' && chars.peek() == Some(&'s') {
            chars.next();
            1
        } else {
            match c {
                's' => 1_000,
                'm' => 60_000,
                'h' => 3_600_000,
                'd' => 86_400_000,
                'w' => 604_800_000,
                _ => 31_536_000_000,
            }
        };
        total = total.saturating_add(number.saturating_mul(unit));
        number = 0;
    }
    total
}

/// Checks of the rendered chart before it is written; any failure is a bug of alertchart.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_durations_convert_to_milliseconds() {
        assert_eq!(duration_ms(&PromDuration::from("30s".to_string())), 30_000);
        assert_eq!(
            duration_ms(&PromDuration::from("1m30s".to_string())),
            90_000
        );
        assert_eq!(duration_ms(&PromDuration::from("500ms".to_string())), 500);
    }
}
