//! Unknown fields, malformed input and the no-panic properties.

use super::*;

#[test]
fn unknown_fields_of_every_wire_type_are_skipped() {
    let mut raw = kubectl_create_deployment().encode_to_vec();
    let expected = decode(
        &envelope("apps/v1", "Deployment", raw.clone()),
        "apps/v1",
        "Deployment",
    );
    // Field 100 varint 7, field 101 fixed64, field 102 len "hi", field 103 fixed32.
    raw.extend([0xa0, 0x06, 7]);
    raw.extend([0xa9, 0x06, 1, 2, 3, 4, 5, 6, 7, 8]);
    raw.extend([0xb2, 0x06, 2, b'h', b'i']);
    raw.extend([0xbd, 0x06, 1, 2, 3, 4]);
    let got = decode(
        &envelope("apps/v1", "Deployment", raw),
        "apps/v1",
        "Deployment",
    );
    assert_eq!(got, expected);
}

#[test]
fn envelope_errors_are_clear() {
    let raw = kubectl_create_deployment().encode_to_vec();
    assert_eq!(
        decode(b"{\"kind\":\"x\"}", "apps/v1", "Deployment"),
        Err(ProtobufError::MissingMagic)
    );
    let err = decode(&envelope("v1", "Pod", raw.clone()), "apps/v1", "Deployment").unwrap_err();
    assert_eq!(
        err.to_string(),
        "protobuf body is a v1 Pod, but the request path expects apps/v1 Deployment"
    );
    let err = decode(&envelope("v1", "Node", raw), "v1", "Node").unwrap_err();
    assert_eq!(
        err.to_string(),
        "no protobuf decoding for v1 Node; send it as application/json"
    );
}

#[test]
fn supports_lists_the_decodable_kinds() {
    assert!(supports("apps/v1", "Deployment"));
    assert!(supports(
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding"
    ));
    assert!(!supports("v1", "Node"));
    assert!(!supports("apps/v2", "Deployment"));
}

#[test]
fn missing_type_meta_uses_the_path_kind() {
    let unknown = Unknown {
        type_meta: None,
        raw: Some(kubectl_create_deployment().encode_to_vec()),
        content_encoding: None,
        content_type: None,
    };
    let mut body = MAGIC.to_vec();
    body.extend(unknown.encode_to_vec());
    let got = decode(&body, "apps/v1", "Deployment").unwrap();
    assert_eq!(got["kind"], json!("Deployment"));
    assert_eq!(got["spec"]["replicas"], json!(3));
}

#[test]
fn wrong_wire_type_names_the_field_path() {
    // DeploymentSpec field 1 (replicas) sent as a string: tag (1<<3)|2 = 0x0a.
    let spec = vec![0x0a, 1, b'3'];
    // Deployment field 2 (spec): tag 0x12.
    let mut raw = vec![0x12, spec.len() as u8];
    raw.extend(spec);
    let err = decode(
        &envelope("apps/v1", "Deployment", raw),
        "apps/v1",
        "Deployment",
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "malformed protobuf at Deployment.spec.replicas (byte 2 of the object): \
         wire type 2 where I32 (wire type 0) was expected"
    );
}

#[test]
fn bad_utf8_and_bad_int_or_string_type_are_errors() {
    let mut meta_bytes = vec![0x0a, 2, 0xff, 0xfe]; // ObjectMeta.name = invalid UTF-8
    let mut raw = vec![0x0a, meta_bytes.len() as u8];
    raw.append(&mut meta_bytes);
    let err = decode(&envelope("v1", "ConfigMap", raw), "v1", "ConfigMap").unwrap_err();
    assert!(err.to_string().contains("ConfigMap.metadata.name"), "{err}");
    assert!(err.to_string().contains("not UTF-8"), "{err}");

    let ios = IntOrString {
        r#type: Some(7),
        int_val: None,
        str_val: None,
    };
    let err = decode_int_or_string(&ios.encode_to_vec(), 0, "p").unwrap_err();
    assert!(err.to_string().contains("IntOrString type 7"), "{err}");
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut body = MAGIC.to_vec();
            body.extend(&bytes);
            let _ = decode(&body, "apps/v1", "Deployment");
            let _ = decode(&bytes, "v1", "Pod");
        }

        #[test]
        fn arbitrary_raw_objects_never_panic(
            raw in proptest::collection::vec(any::<u8>(), 0..512),
            kind in prop_oneof![
                Just(("apps/v1", "Deployment")),
                Just(("v1", "Pod")),
                Just(("v1", "Secret")),
                Just(("v1", "Service")),
            ],
        ) {
            let _ = decode(&envelope(kind.0, kind.1, raw), kind.0, kind.1);
        }

        /// Any cut inside the raw object (the envelope's last field here) leaves its length
        /// prefix pointing past the end.
        #[test]
        fn truncated_bodies_are_errors(cut_back in 1usize..10_000) {
            let raw_len = kubectl_create_deployment().encode_to_vec().len();
            let body = {
                let unknown = Unknown {
                    type_meta: Some(TypeMeta { api_version: s("apps/v1"), kind: s("Deployment") }),
                    raw: Some(kubectl_create_deployment().encode_to_vec()),
                    content_encoding: None,
                    content_type: None,
                };
                let mut b = MAGIC.to_vec();
                b.extend(unknown.encode_to_vec());
                b
            };
            let cut = body.len() - (1 + cut_back % raw_len);
            prop_assert!(decode(&body[..cut], "apps/v1", "Deployment").is_err());
        }

        #[test]
        fn corrupted_bodies_never_panic(index in 0usize..400, byte in any::<u8>()) {
            let mut body = envelope("apps/v1", "Deployment", kubectl_create_deployment().encode_to_vec());
            let i = index % body.len();
            body[i] = byte;
            let _ = decode(&body, "apps/v1", "Deployment");
        }
    }
}
