//! Column definitions per resource: names, types, formats, priorities and descriptions as the
//! real server sends them. Priority 1 columns are the `-o wide` ones.

use serde_json::{Value, json};

use super::descriptions as d;

pub(crate) struct Column {
    pub name: &'static str,
    pub kind: &'static str,
    pub format: &'static str,
    pub description: &'static str,
    pub priority: i32,
}

impl Column {
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "type": self.kind,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        })
    }
}

const fn col(name: &'static str, description: &'static str) -> Column {
    Column {
        name,
        kind: "string",
        format: "",
        description,
        priority: 0,
    }
}

const fn int(name: &'static str, description: &'static str) -> Column {
    Column {
        kind: "integer",
        ..col(name, description)
    }
}

const fn wide(name: &'static str, description: &'static str) -> Column {
    Column {
        priority: 1,
        ..col(name, description)
    }
}

const NAME: Column = Column {
    format: "name",
    ..col("Name", d::OBJECT_META_NAME)
};
const AGE: Column = col("Age", d::OBJECT_META_CREATION_TIMESTAMP);
const CONTAINERS: Column = wide("Containers", "Names of each container in the template.");
const IMAGES: Column = wide(
    "Images",
    "Images referenced by each container in the template.",
);

pub(crate) const DEFAULT: &[Column] = &[
    NAME,
    Column {
        kind: "date",
        ..col("Created At", d::OBJECT_META_CREATION_TIMESTAMP)
    },
];

pub(crate) const PODS: &[Column] = &[
    NAME,
    col(
        "Ready",
        "The aggregate readiness state of this pod for accepting traffic.",
    ),
    col(
        "Status",
        "The aggregate status of the containers in this pod.",
    ),
    col(
        "Restarts",
        "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
    ),
    AGE,
    wide("IP", d::POD_STATUS_POD_IP),
    wide("Node", d::POD_SPEC_NODE_NAME),
    wide("Nominated Node", d::POD_STATUS_NOMINATED_NODE_NAME),
    wide("Readiness Gates", d::POD_SPEC_READINESS_GATES),
];

pub(crate) const SERVICES: &[Column] = &[
    NAME,
    col("Type", d::SERVICE_SPEC_TYPE),
    col("Cluster-IP", d::SERVICE_SPEC_CLUSTER_IP),
    col("External-IP", d::SERVICE_SPEC_EXTERNAL_IPS),
    col("Port(s)", d::SERVICE_SPEC_PORTS),
    AGE,
    wide("Selector", d::SERVICE_SPEC_SELECTOR),
];

pub(crate) const ENDPOINTS: &[Column] = &[NAME, col("Endpoints", d::ENDPOINTS_SUBSETS), AGE];

pub(crate) const ENDPOINT_SLICES: &[Column] = &[
    NAME,
    col("AddressType", d::ENDPOINT_SLICE_ADDRESS_TYPE),
    col("Ports", d::ENDPOINT_SLICE_PORTS),
    col("Endpoints", d::ENDPOINT_SLICE_ENDPOINTS),
    AGE,
];

pub(crate) const NODES: &[Column] = &[
    NAME,
    col("Status", "The status of the node"),
    col("Roles", "The roles of the node"),
    AGE,
    col("Version", d::NODE_INFO_KUBELET_VERSION),
    wide("Internal-IP", d::NODE_STATUS_ADDRESSES),
    wide("External-IP", d::NODE_STATUS_ADDRESSES),
    wide("OS-Image", d::NODE_INFO_OS_IMAGE),
    wide("Kernel-Version", d::NODE_INFO_KERNEL_VERSION),
    wide("Container-Runtime", d::NODE_INFO_CONTAINER_RUNTIME_VERSION),
];

pub(crate) const NAMESPACES: &[Column] = &[NAME, col("Status", "The status of the namespace"), AGE];

pub(crate) const CONFIG_MAPS: &[Column] = &[NAME, col("Data", d::CONFIG_MAP_DATA), AGE];

pub(crate) const SECRETS: &[Column] = &[
    NAME,
    col("Type", d::SECRET_TYPE),
    col("Data", d::SECRET_DATA),
    AGE,
];

pub(crate) const SERVICE_ACCOUNTS: &[Column] =
    &[NAME, col("Secrets", d::SERVICE_ACCOUNT_SECRETS), AGE];

pub(crate) const EVENTS: &[Column] = &[
    col("Last Seen", d::EVENT_LAST_TIMESTAMP),
    col("Type", d::EVENT_TYPE),
    col("Reason", d::EVENT_REASON),
    col("Object", d::EVENT_INVOLVED_OBJECT),
    wide("Subobject", d::OBJECT_REFERENCE_FIELD_PATH),
    wide("Source", d::EVENT_SOURCE),
    col("Message", d::EVENT_MESSAGE),
    wide("First Seen", d::EVENT_FIRST_TIMESTAMP),
    wide("Count", d::EVENT_COUNT),
    Column {
        format: "name",
        ..wide("Name", d::OBJECT_META_NAME)
    },
];

pub(crate) const PVS: &[Column] = &[
    NAME,
    col("Capacity", d::PV_SPEC_CAPACITY),
    col("Access Modes", d::PV_SPEC_ACCESS_MODES),
    col("Reclaim Policy", d::PV_SPEC_RECLAIM_POLICY),
    col("Status", d::PV_STATUS_PHASE),
    col("Claim", d::PV_SPEC_CLAIM_REF),
    col("StorageClass", "StorageClass of the pv"),
    col("VolumeAttributesClass", "VolumeAttributesClass of the pv"),
    col("Reason", d::PV_STATUS_REASON),
    AGE,
    wide("VolumeMode", d::PV_SPEC_VOLUME_MODE),
];

pub(crate) const PVCS: &[Column] = &[
    NAME,
    col("Status", d::PVC_STATUS_PHASE),
    col("Volume", d::PVC_SPEC_VOLUME_NAME),
    col("Capacity", d::PVC_STATUS_CAPACITY),
    col("Access Modes", d::PVC_STATUS_ACCESS_MODES),
    col("StorageClass", "StorageClass of the pvc"),
    col("VolumeAttributesClass", "VolumeAttributesClass of the pvc"),
    AGE,
    wide("VolumeMode", d::PVC_SPEC_VOLUME_MODE),
];

pub(crate) const DEPLOYMENTS: &[Column] = &[
    NAME,
    col("Ready", "Number of the pod with ready state"),
    col("Up-to-date", d::DEPLOYMENT_STATUS_UPDATED_REPLICAS),
    col("Available", d::DEPLOYMENT_STATUS_AVAILABLE_REPLICAS),
    AGE,
    CONTAINERS,
    IMAGES,
    wide("Selector", d::DEPLOYMENT_SPEC_SELECTOR),
];

pub(crate) const REPLICA_SETS: &[Column] = &[
    NAME,
    int("Desired", d::REPLICA_SET_SPEC_REPLICAS),
    int("Current", d::REPLICA_SET_STATUS_REPLICAS),
    int("Ready", d::REPLICA_SET_STATUS_READY_REPLICAS),
    AGE,
    CONTAINERS,
    IMAGES,
    wide("Selector", d::REPLICA_SET_SPEC_SELECTOR),
];

pub(crate) const STATEFUL_SETS: &[Column] = &[
    NAME,
    col("Ready", "Number of the pod with ready state"),
    AGE,
    CONTAINERS,
    IMAGES,
];

pub(crate) const STORAGE_CLASSES: &[Column] = &[
    NAME,
    col("Provisioner", d::STORAGE_CLASS_PROVISIONER),
    col("ReclaimPolicy", d::STORAGE_CLASS_RECLAIM_POLICY),
    col("VolumeBindingMode", d::STORAGE_CLASS_VOLUME_BINDING_MODE),
    col(
        "AllowVolumeExpansion",
        d::STORAGE_CLASS_ALLOW_VOLUME_EXPANSION,
    ),
    AGE,
];

pub(crate) const ROLE_BINDINGS: &[Column] = &[
    NAME,
    col("Role", d::ROLE_BINDING_ROLE_REF),
    AGE,
    wide("Users", "Users in the roleBinding"),
    wide("Groups", "Groups in the roleBinding"),
    wide("ServiceAccounts", "ServiceAccounts in the roleBinding"),
];

pub(crate) const CLUSTER_ROLE_BINDINGS: &[Column] = &[
    NAME,
    col("Role", d::CLUSTER_ROLE_BINDING_ROLE_REF),
    AGE,
    wide("Users", "Users in the clusterRoleBinding"),
    wide("Groups", "Groups in the clusterRoleBinding"),
    wide(
        "ServiceAccounts",
        "ServiceAccounts in the clusterRoleBinding",
    ),
];
