//! verify's session: the shortest IAM allows, for the onboarding's role.

use crate::support::{AddArgs, CLUSTER, ROLE_ARN, World, moto};

#[test]
fn verify_asks_for_the_shortest_session() {
    let world = World::new();
    world.run(&AddArgs::cluster().yes()).assert_ok();
    world.clear_calls();
    world.run(&["verify", CLUSTER]).assert_ok();
    let exchanges: Vec<moto::Call> = world
        .moto
        .calls()
        .into_iter()
        .filter(|c| c.action == "AssumeRoleWithWebIdentity")
        .collect();
    assert!(!exchanges.is_empty(), "verify never exchanged the token");
    for call in exchanges {
        assert_eq!(
            call.params.get("DurationSeconds").map(String::as_str),
            Some("900"),
            "{:?}",
            call.params
        );
        assert_eq!(
            call.params.get("RoleArn").map(String::as_str),
            Some(ROLE_ARN)
        );
        // The recorder never keeps the token.
        assert!(!call.params.contains_key("WebIdentityToken"));
    }
}
