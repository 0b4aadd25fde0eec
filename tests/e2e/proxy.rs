//! Corporate proxies: `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` for both sides,
//! and the kubeconfig cluster's `proxy-url`, through a real forward proxy
//! on loopback (tests/support/proxy.rs) that records every connection.

use crate::support::proxy::{ForwardProxy, Kind, port_of};
use crate::support::{AddArgs, ROLE, ROLE_ARN, ROLE_ARN_ANNOTATION, World};

/// The onboarding is really there: the role in IAM, the annotated SA.
fn assert_onboarded(world: &World) {
    assert!(
        world.block_on(world.klanker.role(ROLE)).is_some(),
        "role {ROLE} was not created"
    );
    let sa = world
        .kube
        .service_account("ai-pods", "km")
        .expect("ServiceAccount ai-pods/km");
    assert_eq!(
        sa["metadata"]["annotations"][ROLE_ARN_ANNOTATION].as_str(),
        Some(ROLE_ARN),
        "{sa}"
    );
}

#[test]
fn https_and_http_proxy_carry_the_kubernetes_and_the_aws_calls() {
    let world = World::new();
    let proxy = ForwardProxy::start();
    let out = world.run_cmd(
        world
            .kubectl()
            .env("HTTPS_PROXY", proxy.url())
            .env("HTTP_PROXY", proxy.url())
            .args(AddArgs::cluster().service_account("km").yes()),
    );
    out.assert_ok();
    assert_lacks!(out.all(), "http-proxy");
    assert_onboarded(&world);
    let tunnels = proxy.tunnels();
    assert!(
        proxy.count(Kind::Connect, &world.kube.url()) >= 1,
        "no CONNECT to the API server: {tunnels:?}"
    );
    assert!(
        proxy.count(Kind::Plain, &world.moto.url()) >= 1,
        "no AWS call through the proxy: {tunnels:?}"
    );
}

#[test]
fn no_proxy_naming_the_servers_bypasses_the_proxy() {
    let world = World::new();
    let proxy = ForwardProxy::start();
    // The proxy is named `localhost` and NO_PROXY names the servers'
    // 127.0.0.1: a bypass decided on the proxy's host would not bypass.
    let out = world.run_cmd(
        world
            .kubectl()
            .env("HTTPS_PROXY", proxy.url_as("localhost"))
            .env("HTTP_PROXY", proxy.url_as("localhost"))
            .env("NO_PROXY", "example.internal,127.0.0.1")
            .args(AddArgs::cluster().service_account("km").yes()),
    );
    out.assert_ok();
    assert_onboarded(&world);
    assert_eq!(proxy.tunnels(), [], "connections went through the proxy");
}

/// NO_PROXY as kubectl reads it, on both sides: `*` anywhere in the list
/// covers IP-address servers too, and an entry with a port covers that
/// port of that address.
#[test]
fn no_proxy_star_in_a_list_and_port_entries_bypass_the_proxy_on_both_sides() {
    let world = World::new();
    let proxy = ForwardProxy::start();
    let by_port = format!(
        "127.0.0.1:{},127.0.0.1:{}",
        port_of(&world.kube.url()),
        port_of(&world.moto.url())
    );
    for no_proxy in ["*,localhost", "example.internal, *", by_port.as_str()] {
        let out = world.run_cmd(
            world
                .kubectl()
                .env("HTTPS_PROXY", proxy.url())
                .env("HTTP_PROXY", proxy.url())
                .env("NO_PROXY", no_proxy)
                .args(AddArgs::cluster().service_account("km").dry_run()),
        );
        out.assert_ok();
        assert_eq!(
            proxy.tunnels(),
            [],
            "NO_PROXY={no_proxy}: connections went through the proxy"
        );
    }
    // Another port of the same address is not covered: proxied.
    let out = world.run_cmd(
        world
            .kubectl()
            .env("HTTPS_PROXY", proxy.url())
            .env("HTTP_PROXY", proxy.url())
            .env("NO_PROXY", "127.0.0.1:1")
            .args(AddArgs::cluster().service_account("km").dry_run()),
    );
    out.assert_ok();
    assert!(proxy.count(Kind::Connect, &world.kube.url()) >= 1);
    assert!(proxy.count(Kind::Plain, &world.moto.url()) >= 1);
}

/// Adds `proxy-url` to the world's kubeconfig cluster entry.
fn set_kubeconfig_proxy_url(world: &World, url: &str) {
    let path = world.kubeconfig();
    let text = std::fs::read_to_string(&path).expect("read kubeconfig");
    let marker = "\n    certificate-authority:";
    assert_contains!(text, marker);
    let text = text.replacen(marker, &format!("\n    proxy-url: {url}{marker}"), 1);
    std::fs::write(&path, text).expect("write kubeconfig");
}

#[test]
fn the_kubeconfig_proxy_url_alone_carries_the_kubernetes_calls() {
    let world = World::new();
    let proxy = ForwardProxy::start();
    set_kubeconfig_proxy_url(&world, &proxy.url());
    let out = world.run(&AddArgs::cluster().service_account("km").yes());
    out.assert_ok();
    assert_onboarded(&world);
    let tunnels = proxy.tunnels();
    assert!(
        proxy.count(Kind::Connect, &world.kube.url()) >= 1,
        "no CONNECT to the API server: {tunnels:?}"
    );
    // The kubeconfig is the Kubernetes side's; AWS calls stay direct.
    assert_eq!(
        proxy.count(Kind::Plain, &world.moto.url()),
        0,
        "{tunnels:?}"
    );
}

#[test]
fn an_invalid_proxy_url_names_its_setting_and_nothing_is_written() {
    let world = World::new();
    let out = world.run_cmd(
        world
            .kubectl()
            .env("HTTPS_PROXY", "http://user:hunter2@bad host:3128")
            .args(AddArgs::cluster().service_account("km").yes()),
    );
    assert_ne!(out.code, 0, "{}", out.all());
    assert_contains!(out.stderr, "HTTPS_PROXY is not a usable proxy URL");
    assert_lacks!(out.all(), "hunter2");
    assert_lacks!(out.all(), "feature");
    assert_eq!(world.writes(), Vec::<String>::new());

    set_kubeconfig_proxy_url(&world, "socks5://proxy.example:1080");
    let out = world.run(&AddArgs::cluster().service_account("km").yes());
    assert_ne!(out.code, 0, "{}", out.all());
    assert_contains!(out.stderr, "the kubeconfig's `proxy-url` of cluster");
    assert_contains!(out.stderr, "`socks5` is not supported");
    assert_lacks!(out.all(), "feature");
    assert_eq!(world.writes(), Vec::<String>::new());
}
