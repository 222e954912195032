//! Hand-derived cases for each patch type and directive, shaped like what kubectl sends
//! (research note §4.2), plus properties that no patch panics.

use serde_json::{Value, json};

use super::*;

fn live_deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "default",
            "labels": {"app": "web"},
            "annotations": {"team": "a"},
            "finalizers": ["a", "b", "c"]
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
            "template": {
                "metadata": {"labels": {"app": "web"}, "annotations": {"x": "1"}},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "nginx:1.28",
                            "ports": [{"containerPort": 80, "protocol": "TCP"}],
                            "env": [{"name": "OLD", "value": "1"}, {"name": "KEEP", "value": "2"}],
                            "volumeMounts": [{"name": "data", "mountPath": "/data"}]
                        },
                        {"name": "log", "image": "busybox"}
                    ],
                    "tolerations": [{"key": "k1", "operator": "Exists"}],
                    "volumes": [{"name": "data", "emptyDir": {}}]
                }
            }
        },
        "status": {"replicas": 1, "conditions": [{"type": "Available", "status": "True"}]}
    })
}

fn smp(original: &Value, patch: Value) -> Result<Value, PatchError> {
    apply_patch("Deployment", original, PatchType::Strategic, &patch)
}

fn containers(v: &Value) -> &Value {
    &v["spec"]["template"]["spec"]["containers"]
}

#[test]
fn content_types_map_to_patch_types() {
    use PatchType::*;
    for (ct, want) in [
        ("application/json-patch+json", Some(Json)),
        ("application/merge-patch+json", Some(Merge)),
        (
            "application/strategic-merge-patch+json; charset=utf-8",
            Some(Strategic),
        ),
        ("Application/Apply-Patch+YAML", Some(Apply)),
        ("application/json", None),
        ("", None),
    ] {
        assert_eq!(PatchType::from_content_type(ct), want, "{ct}");
    }
    assert_eq!(
        PatchType::from_content_type(Strategic.content_type()),
        Some(Strategic)
    );
}

// ---- JSON patch (RFC 6902) ----

#[test]
fn json_patch_like_rollout_undo_replaces_template_and_annotations() {
    let patch = json!([
        {"op": "replace", "path": "/spec/template", "value": {"spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}},
        {"op": "replace", "path": "/metadata/annotations", "value": {"deployment.kubernetes.io/revision": "3"}}
    ]);
    let got = apply_patch("Deployment", &live_deployment(), PatchType::Json, &patch).unwrap();
    assert_eq!(
        containers(&got),
        &json!([{"name": "web", "image": "nginx:1.27"}])
    );
    assert_eq!(
        got["metadata"]["annotations"],
        json!({"deployment.kubernetes.io/revision": "3"})
    );
    assert_eq!(got["spec"]["replicas"], json!(1));
}

#[test]
fn json_patch_errors_name_the_operation_and_path() {
    let patch = json!([
        {"op": "add", "path": "/metadata/labels/tier", "value": "fe"},
        {"op": "remove", "path": "/spec/nothing"}
    ]);
    let err = apply_patch("Deployment", &live_deployment(), PatchType::Json, &patch).unwrap_err();
    assert_eq!(
        err.to_string(),
        "json patch operation 1 failed at path \"/spec/nothing\": path is invalid"
    );

    let patch = json!([{"op": "replace", "path": "/spec/replicas", "value": 2}, {"op": "frobnicate", "path": "/x"}]);
    let err = apply_patch("Deployment", &live_deployment(), PatchType::Json, &patch).unwrap_err();
    assert!(
        matches!(err, PatchError::InvalidJsonPatchOp { index: 1, .. }),
        "{err}"
    );

    let err = apply_patch(
        "Deployment",
        &live_deployment(),
        PatchType::Json,
        &json!({}),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "json patch must be a list of operations, not an object"
    );
}

#[test]
fn json_patch_test_op_failure_is_reported() {
    let patch = json!([{"op": "test", "path": "/spec/replicas", "value": 9}]);
    let err = apply_patch("Deployment", &live_deployment(), PatchType::Json, &patch).unwrap_err();
    assert_eq!(
        err,
        PatchError::JsonPatchFailed {
            index: 0,
            path: "/spec/replicas".into(),
            reason: "value did not match".into()
        }
    );
}

// ---- JSON merge patch (RFC 7386) ----

#[test]
fn merge_patch_like_kubectl_scale_and_label() {
    let live = live_deployment();
    // kubectl scale --replicas=5 sends {"spec":{"replicas":5}} to /scale; same shape here.
    let got = apply_patch(
        "Deployment",
        &live,
        PatchType::Merge,
        &json!({"spec": {"replicas": 5}}),
    )
    .unwrap();
    assert_eq!(got["spec"]["replicas"], json!(5));
    assert_eq!(got["spec"]["template"], live["spec"]["template"]);

    // kubectl label deploy web tier=fe app- : set one label, null removes another.
    let patch = json!({"metadata": {"labels": {"tier": "fe", "app": null}}});
    let got = apply_patch("Deployment", &live, PatchType::Merge, &patch).unwrap();
    assert_eq!(got["metadata"]["labels"], json!({"tier": "fe"}));
    assert_eq!(got["metadata"]["annotations"], json!({"team": "a"}));
}

#[test]
fn merge_patch_replaces_lists_whole() {
    // RFC 7386 has no list merging: the one-container list replaces both containers.
    let patch =
        json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "x"}]}}}});
    let got = apply_patch("Deployment", &live_deployment(), PatchType::Merge, &patch).unwrap();
    assert_eq!(containers(&got), &json!([{"name": "web", "image": "x"}]));
}

#[test]
fn merge_patch_must_be_an_object() {
    let err = apply_patch(
        "Deployment",
        &live_deployment(),
        PatchType::Merge,
        &json!([1]),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "merge patch must be a JSON object, not a list"
    );
}

// ---- Strategic merge patch ----

#[test]
fn kubectl_set_image_merges_the_container_by_name() {
    // Exactly what `kubectl set image deploy/web web=nginx:1.29` sends. Only web's image
    // changes; its ports, env and mounts and the log container stay.
    let patch = json!({"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "web"}, {"name": "log"}],
        "containers": [{"image": "nginx:1.29", "name": "web"}]
    }}}});
    let live = live_deployment();
    let got = smp(&live, patch).unwrap();
    let mut want = live.clone();
    want["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.29");
    assert_eq!(got, want);
}

#[test]
fn set_element_order_naming_one_container_keeps_server_only_items() {
    // research §4.2 form: only "web" listed. "log" is server-only and keeps its live slot.
    let patch = json!({"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "web"}],
        "containers": [{"image": "nginx:1.29", "name": "web"}]
    }}}});
    let got = smp(&live_deployment(), patch).unwrap();
    let names: Vec<&str> = containers(&got)
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["web", "log"]);
    assert_eq!(
        containers(&got)[0]["ports"],
        json!([{"containerPort": 80, "protocol": "TCP"}])
    );
}

#[test]
fn set_element_order_reorders_and_is_stripped() {
    // Order [log, web]: both are patch items, so they are sorted by the directive.
    let patch = json!({"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "log"}, {"name": "web"}]
    }}}});
    let got = smp(&live_deployment(), patch).unwrap();
    assert_eq!(containers(&got)[0]["name"], json!("log"));
    assert_eq!(containers(&got)[1]["name"], json!("web"));
    let spec = got["spec"]["template"]["spec"].as_object().unwrap();
    assert!(spec.keys().all(|k| !k.starts_with('$')), "{spec:?}");
}

#[test]
fn kubectl_apply_three_way_adds_updates_and_deletes() {
    // Client-side apply after editing the manifest: bump replicas and web's image, drop the
    // "log" container, add "metrics", delete env OLD. kubectl computes this three-way patch
    // and sends it with $setElementOrder for every merging list it touches.
    let patch = json!({
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{...}"}},
        "spec": {
            "replicas": 3,
            "template": {"spec": {
                "$setElementOrder/containers": [{"name": "web"}, {"name": "metrics"}],
                "containers": [
                    {
                        "$setElementOrder/env": [{"name": "KEEP"}],
                        "env": [{"$patch": "delete", "name": "OLD"}],
                        "image": "nginx:1.29",
                        "name": "web"
                    },
                    {"image": "prom/exporter", "name": "metrics"},
                    {"$patch": "delete", "name": "log"}
                ]
            }}
        }
    });
    let got = smp(&live_deployment(), patch).unwrap();
    assert_eq!(got["spec"]["replicas"], json!(3));
    assert_eq!(
        got["metadata"]["annotations"],
        json!({"team": "a", "kubectl.kubernetes.io/last-applied-configuration": "{...}"})
    );
    assert_eq!(
        containers(&got),
        &json!([
            {
                "name": "web",
                "image": "nginx:1.29",
                "ports": [{"containerPort": 80, "protocol": "TCP"}],
                "env": [{"name": "KEEP", "value": "2"}],
                "volumeMounts": [{"name": "data", "mountPath": "/data"}]
            },
            {"name": "metrics", "image": "prom/exporter"}
        ])
    );
}

#[test]
fn kubectl_rollout_restart_adds_a_template_annotation() {
    let patch = json!({"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": "2026-01-02T15:04:05Z"
    }}}}});
    let got = smp(&live_deployment(), patch).unwrap();
    assert_eq!(
        got["spec"]["template"]["metadata"]["annotations"],
        json!({"x": "1", "kubectl.kubernetes.io/restartedAt": "2026-01-02T15:04:05Z"})
    );
    assert_eq!(containers(&got), containers(&live_deployment()));
}

#[test]
fn kubectl_rollout_pause_sets_a_scalar() {
    let got = smp(&live_deployment(), json!({"spec": {"paused": true}})).unwrap();
    assert_eq!(got["spec"]["paused"], json!(true));
}

#[test]
fn kubectl_patch_strategic_merges_env_ports_and_mounts_by_their_keys() {
    // env by name (KEEP updated, NEW added), ports by containerPort (443 added), volumeMounts
    // by mountPath (readOnly added to /data).
    let patch = json!({"spec": {"template": {"spec": {"containers": [{
        "name": "web",
        "env": [{"name": "KEEP", "value": "3"}, {"name": "NEW", "value": "n"}],
        "ports": [{"containerPort": 443, "name": "https"}],
        "volumeMounts": [{"mountPath": "/data", "readOnly": true}]
    }]}}}});
    let got = smp(&live_deployment(), patch).unwrap();
    let web = &containers(&got)[0];
    assert_eq!(
        web["env"],
        json!([{"name": "OLD", "value": "1"}, {"name": "KEEP", "value": "3"}, {"name": "NEW", "value": "n"}])
    );
    // Upstream ordering quirk: a new item (443, not live) is compared with the server-only 80
    // and, having no live position, goes first. kubectl patch users see new items prepended.
    assert_eq!(
        web["ports"],
        json!([{"containerPort": 443, "name": "https"}, {"containerPort": 80, "protocol": "TCP"}])
    );
    assert_eq!(
        web["volumeMounts"],
        json!([{"name": "data", "mountPath": "/data", "readOnly": true}])
    );
    assert_eq!(containers(&got)[1]["name"], json!("log"));
}

#[test]
fn lists_without_a_merge_key_are_replaced() {
    let patch = json!({"spec": {"template": {"spec": {"tolerations": [{"key": "k2", "operator": "Exists"}]}}}});
    let got = smp(&live_deployment(), patch).unwrap();
    assert_eq!(
        got["spec"]["template"]["spec"]["tolerations"],
        json!([{"key": "k2", "operator": "Exists"}])
    );
}

#[test]
fn null_deletes_keys_and_list_items_stay_merged() {
    let patch =
        json!({"spec": {"template": {"metadata": {"annotations": {"x": null}}}}, "status": null});
    let got = smp(&live_deployment(), patch).unwrap();
    assert_eq!(
        got["spec"]["template"]["metadata"]["annotations"],
        json!({})
    );
    assert!(got.get("status").is_none());
}

#[test]
fn patch_replace_on_a_map_replaces_it() {
    let patch =
        json!({"spec": {"template": {"metadata": {"labels": {"$patch": "replace", "app": "v2"}}}}});
    let got = smp(&live_deployment(), patch).unwrap();
    assert_eq!(
        got["spec"]["template"]["metadata"]["labels"],
        json!({"app": "v2"})
    );
}

#[test]
fn patch_delete_on_a_map_empties_it() {
    // Upstream mergeMap returns an empty map for $patch: delete.
    let got = smp(
        &live_deployment(),
        json!({"spec": {"strategy": {"$patch": "delete"}}}),
    )
    .unwrap();
    assert_eq!(got["spec"]["strategy"], json!({}));
}

#[test]
fn patch_replace_in_a_list_makes_the_rest_the_whole_list() {
    let patch = json!({"spec": {"template": {"spec": {"containers": [
        {"$patch": "replace"},
        {"name": "only", "image": "x"}
    ]}}}});
    let got = smp(&live_deployment(), patch).unwrap();
    assert_eq!(containers(&got), &json!([{"name": "only", "image": "x"}]));
}

#[test]
fn retain_keys_drops_unlisted_fields() {
    // Switching to Recreate: kubectl sends $retainKeys so rollingUpdate is cleared.
    let patch = json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}});
    let got = smp(&live_deployment(), patch).unwrap();
    assert_eq!(got["spec"]["strategy"], json!({"type": "Recreate"}));

    let patch = json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": {}}}});
    let err = smp(&live_deployment(), patch).unwrap_err();
    assert_eq!(
        err.to_string(),
        "strategic merge patch at .spec.strategy: \"rollingUpdate\" is set but not listed in $retainKeys"
    );
}

#[test]
fn finalizers_merge_as_a_primitive_list() {
    // Live [a, b, c], patch [d, a]. Merged values: a, b, c, d. Patch items (d, a) follow the
    // patch order; server-only items (b, c) are interleaved by live position: d is not live, so
    // it goes first; a (live 0) precedes b (live 1); then b, c.
    let got = smp(
        &live_deployment(),
        json!({"metadata": {"finalizers": ["d", "a"]}}),
    )
    .unwrap();
    assert_eq!(got["metadata"]["finalizers"], json!(["d", "a", "b", "c"]));

    let patch = json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}});
    let got = smp(&live_deployment(), patch).unwrap();
    assert_eq!(got["metadata"]["finalizers"], json!(["a", "c"]));

    let patch = json!({"metadata": {"$setElementOrder/finalizers": ["c", "a", "b"]}});
    let got = smp(&live_deployment(), patch).unwrap();
    assert_eq!(got["metadata"]["finalizers"], json!(["c", "a", "b"]));
}

#[test]
fn owner_references_merge_by_uid_and_conditions_by_type() {
    let live = json!({
        "metadata": {"name": "p", "ownerReferences": [{"uid": "u1", "kind": "ReplicaSet", "name": "rs"}]},
        "status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "PodScheduled", "status": "True"}]}
    });
    let patch = json!({
        "metadata": {"ownerReferences": [{"uid": "u1", "controller": true}]},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]}
    });
    let got = apply_patch("Pod", &live, PatchType::Strategic, &patch).unwrap();
    assert_eq!(
        got["metadata"]["ownerReferences"],
        json!([{"uid": "u1", "kind": "ReplicaSet", "name": "rs", "controller": true}])
    );
    assert_eq!(
        got["status"]["conditions"],
        json!([{"type": "Ready", "status": "True"}, {"type": "PodScheduled", "status": "True"}])
    );
}

#[test]
fn service_ports_merge_by_port() {
    let live = json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}], "selector": {"app": "a", "v": "1"}}});
    let patch = json!({"spec": {"ports": [{"port": 80, "name": "http"}, {"port": 443}], "selector": {"v": null}}});
    let got = apply_patch("Service", &live, PatchType::Strategic, &patch).unwrap();
    assert_eq!(
        got["spec"],
        json!({"ports": [{"port": 80, "targetPort": 8080, "name": "http"}, {"port": 443}], "selector": {"app": "a"}})
    );
}

#[test]
fn kubectl_taint_replaces_node_taints_and_pod_cidrs_merge() {
    let live = json!({"spec": {"taints": [{"key": "a", "effect": "NoSchedule"}], "podCIDRs": ["10.0.0.0/24"]}});
    let patch = json!({"spec": {
        "taints": [{"key": "b", "effect": "NoExecute"}],
        "podCIDRs": ["fd00::/64"],
        "unschedulable": true
    }});
    let got = apply_patch("Node", &live, PatchType::Strategic, &patch).unwrap();
    // podCIDRs: new value has no live position, so it is placed first (see ports above).
    assert_eq!(
        got,
        json!({"spec": {"taints": [{"key": "b", "effect": "NoExecute"}],
                        "podCIDRs": ["fd00::/64", "10.0.0.0/24"], "unschedulable": true}})
    );
}

#[test]
fn set_element_order_on_an_atomic_list_without_the_list_keeps_it() {
    let patch =
        json!({"spec": {"template": {"spec": {"$setElementOrder/tolerations": [{"key": "k1"}]}}}});
    let got = smp(&live_deployment(), patch).unwrap();
    assert_eq!(got, live_deployment());
}

#[test]
fn unknown_kinds_merge_maps_and_replace_lists() {
    assert!(!strategic_schema_known("Widget"));
    assert!(strategic_schema_known("Deployment"));
    let live = json!({"spec": {"items": [{"name": "a", "v": 1}], "size": 1}});
    let patch = json!({"spec": {"items": [{"name": "a", "w": 2}]}});
    let got = apply_patch("Widget", &live, PatchType::Strategic, &patch).unwrap();
    assert_eq!(
        got,
        json!({"spec": {"items": [{"name": "a", "w": 2}], "size": 1}})
    );
}

#[test]
fn directives_inside_new_fields_are_consumed() {
    // The live pod has no initContainers; directives in the new list must not leak out.
    let live = json!({"spec": {"containers": [{"name": "c"}]}});
    let patch = json!({"spec": {
        "$setElementOrder/initContainers": [{"name": "init"}],
        "initContainers": [{"name": "init", "image": "busybox", "env": [{"name": "A", "value": null}]}]
    }});
    let got = apply_patch("Pod", &live, PatchType::Strategic, &patch).unwrap();
    assert_eq!(
        got,
        json!({"spec": {"containers": [{"name": "c"}], "initContainers": [{"name": "init", "image": "busybox", "env": [{"name": "A"}]}]}})
    );
}

#[test]
fn strategic_errors_name_the_path() {
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}});
    let err = smp(&live_deployment(), patch).unwrap_err();
    assert_eq!(
        err.to_string(),
        "strategic merge patch at .spec.template.spec.containers[0]: missing merge key \"name\""
    );

    let err = smp(&live_deployment(), json!({"spec": {"$patch": "explode"}})).unwrap_err();
    assert_eq!(
        err.to_string(),
        "strategic merge patch at .spec: unknown $patch directive \"explode\"; expected replace, delete or merge"
    );

    let patch = json!({"metadata": {"$setElementOrder/finalizers": "a"}});
    let err = smp(&live_deployment(), patch).unwrap_err();
    assert_eq!(
        err.to_string(),
        "strategic merge patch at .metadata.$setElementOrder/finalizers: must be a list, not a string"
    );

    let err = smp(
        &live_deployment(),
        json!({"metadata": {"finalizers": ["a", {"b": 1}]}}),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "strategic merge patch at .metadata.finalizers: list mixes objects and other values"
    );

    let err = smp(&live_deployment(), json!("x")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "strategic merge patch must be a JSON object, not a string"
    );
}

// ---- Server-side apply (minimal) ----

#[test]
fn apply_creates_when_missing() {
    let applied = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cfg", "labels": {"drop": null}},
        "data": {"a": "1"}
    });
    for empty in [Value::Null, json!({})] {
        let got = apply_patch("ConfigMap", &empty, PatchType::Apply, &applied).unwrap();
        assert_eq!(
            got,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "labels": {}}, "data": {"a": "1"}})
        );
    }
}

#[test]
fn apply_deep_merges_with_merge_keys() {
    // kubectl apply --server-side with a manifest that sets replicas 3 and a new image: the
    // live ports, env, the log container and status all survive.
    let applied = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.29"}]}}}
    });
    let live = live_deployment();
    let got = apply_patch("Deployment", &live, PatchType::Apply, &applied).unwrap();
    let mut want = live.clone();
    want["spec"]["replicas"] = json!(3);
    want["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.29");
    assert_eq!(got, want);
}

#[test]
fn apply_rejects_kind_mismatch_and_directives() {
    let err = apply_patch(
        "Deployment",
        &Value::Null,
        PatchType::Apply,
        &json!({"kind": "Service"}),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "apply configuration is for kind \"Service\", but the request is for \"Deployment\""
    );
    let applied = json!({"kind": "Deployment", "spec": {"$patch": "replace"}});
    let err =
        apply_patch("Deployment", &live_deployment(), PatchType::Apply, &applied).unwrap_err();
    assert_eq!(
        err.to_string(),
        "strategic merge patch at .spec.$patch: apply configurations cannot contain $ directives"
    );
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("$patch".to_string()),
            Just("$retainKeys".to_string()),
            Just("$setElementOrder/containers".to_string()),
            Just("$setElementOrder/finalizers".to_string()),
            Just("$deleteFromPrimitiveList/finalizers".to_string()),
            Just("spec".to_string()),
            Just("template".to_string()),
            Just("metadata".to_string()),
            Just("finalizers".to_string()),
            Just("containers".to_string()),
            Just("name".to_string()),
            Just("ports".to_string()),
            Just("containerPort".to_string()),
            Just("replace".to_string()),
            "[a-z]{1,3}",
        ]
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i32>().prop_map(Value::from),
            prop_oneof![
                Just("web"),
                Just("log"),
                Just("delete"),
                Just("replace"),
                Just("merge"),
                Just("a")
            ]
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(5, 64, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::vec((key(), inner), 0..5)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn no_patch_panics(patch in json_value(), original in json_value(), which in 0u8..4) {
            let patch_type = [PatchType::Json, PatchType::Merge, PatchType::Strategic, PatchType::Apply][which as usize];
            let _ = apply_patch("Deployment", &live_deployment(), patch_type, &patch);
            let _ = apply_patch("Pod", &original, patch_type, &patch);
        }

        #[test]
        fn successful_strategic_results_hold_no_directives(patch in json_value()) {
            if let Ok(got) = apply_patch("Deployment", &live_deployment(), PatchType::Strategic, &patch) {
                prop_assert!(!has_directive(&got), "{got}");
            }
        }
    }

    fn has_directive(v: &Value) -> bool {
        match v {
            Value::Object(m) => m
                .iter()
                .any(|(k, v)| k.starts_with('$') || has_directive(v)),
            Value::Array(items) => items.iter().any(has_directive),
            _ => false,
        }
    }
}
