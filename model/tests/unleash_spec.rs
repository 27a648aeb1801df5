//! Unleash's client specification against `model::rollout::bucket`.
//!
//! The vendored files in `tests/unleash/` (see its README) are the specification's
//! tests of the gradual-rollout strategies. A minimal evaluator, implementing exactly
//! the strategies those files use, runs every test entry with our bucketing: if our
//! bucket ever differed from Unleash's, an entry would fail.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

use model::rollout::bucket::{bucket, in_share};
use serde::Deserialize;
use serde_json::Value;

const FILES: [&str; 2] = [
    "03-gradual-rollout-user-id-strategy.json",
    "10-flexible-rollout-strategy.json",
];

#[derive(Deserialize)]
struct Spec {
    state: State,
    tests: Vec<Case>,
}

#[derive(Deserialize)]
struct State {
    features: Vec<Feature>,
}

#[derive(Deserialize)]
struct Feature {
    name: String,
    enabled: bool,
    strategies: Vec<Strategy>,
}

#[derive(Deserialize)]
struct Strategy {
    name: String,
    #[serde(default)]
    parameters: HashMap<String, String>,
    #[serde(default)]
    constraints: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Case {
    description: String,
    context: Value,
    toggle_name: String,
    expected_result: bool,
}

/// A context field as Unleash reads it: a top-level field (`userId`, `sessionId`, …)
/// or, for custom fields, one of `properties`. Empty counts as absent.
fn field<'a>(context: &'a Value, name: &str) -> Option<&'a str> {
    context
        .get(name)
        .or_else(|| context.get("properties").and_then(|p| p.get(name)))
        .and_then(Value::as_str)
        .filter(|value| !value.is_empty())
}

/// A percentage parameter (Unleash sends them as strings).
fn percent(strategy: &Strategy, name: &str) -> u8 {
    let value = &strategy.parameters[name];
    value
        .parse()
        .unwrap_or_else(|_| panic!("{}: bad {name} {value:?}", strategy.name))
}

fn strategy_matches(feature: &Feature, strategy: &Strategy, context: &Value) -> bool {
    // The vendored files have no constraints; refuse rather than ignore any.
    assert!(
        strategy.constraints.is_empty(),
        "{}: constraints are not implemented by this evaluator",
        feature.name
    );
    match strategy.name.as_str() {
        "default" => true,
        "gradualRolloutUserId" => {
            let group_id = &strategy.parameters["groupId"];
            let percentage = percent(strategy, "percentage");
            match field(context, "userId") {
                Some(user_id) => percentage > 0 && in_share(bucket(group_id, user_id), percentage),
                None => false,
            }
        }
        "flexibleRollout" => {
            let rollout = percent(strategy, "rollout");
            // Unleash falls back to the toggle's name when no group id is given.
            let group_id = strategy
                .parameters
                .get("groupId")
                .map_or(feature.name.as_str(), String::as_str);
            let stickiness = strategy
                .parameters
                .get("stickiness")
                .map_or("default", String::as_str);
            let random;
            let key = match stickiness {
                // userId, else sessionId, else a random value: whether a random member
                // is in is itself random, which the specification only tests at 0 %
                // and 100 %, where the answer does not depend on the value.
                "default" => match field(context, "userId").or_else(|| field(context, "sessionId"))
                {
                    Some(key) => key,
                    None => {
                        assert!(
                            rollout == 0 || rollout == 100,
                            "{}: a random stickiness at {rollout} % is not deterministic",
                            feature.name
                        );
                        random = RandomState::new()
                            .hash_one(feature.name.as_str())
                            .to_string();
                        random.as_str()
                    }
                },
                // `userId`, `sessionId` or a custom context field: absent → not in.
                other => match field(context, other) {
                    Some(key) => key,
                    None => return false,
                },
            };
            rollout > 0 && in_share(bucket(group_id, key), rollout)
        }
        other => panic!("{}: strategy {other} is not implemented", feature.name),
    }
}

fn is_enabled(features: &[Feature], toggle: &str, context: &Value) -> bool {
    let Some(feature) = features.iter().find(|f| f.name == toggle) else {
        // Unleash answers false for an unknown toggle.
        return false;
    };
    feature.enabled
        && feature
            .strategies
            .iter()
            .any(|strategy| strategy_matches(feature, strategy, context))
}

#[test]
fn client_specification_rollout_tests_pass() {
    let mut entries = 0;
    let mut ran = 0;
    let mut failures = Vec::new();
    for file in FILES {
        let path = format!("{}/tests/unleash/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let spec: Spec = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
        entries += spec.tests.len();
        for case in &spec.tests {
            let answer = is_enabled(&spec.state.features, &case.toggle_name, &case.context);
            ran += 1;
            if answer != case.expected_result {
                failures.push(format!("{file}: {} (answered {answer})", case.description));
            }
        }
    }
    assert!(ran > 0, "no specification test ran");
    assert_eq!(ran, entries);
    assert!(failures.is_empty(), "{failures:#?}");
}
